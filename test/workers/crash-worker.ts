// A tiny worker for the pool tests: echoes, throws, or ends its own thread on request. Its
// start fails while the file named by workerData exists (a replacement that cannot start).
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import { serveWorker } from '../../src/workers/serve-worker.js';

/** What a crash-worker is asked to do. */
export type CrashRequest = { op: 'echo'; value: number } | { op: 'exit' } | { op: 'throw' } | { op: 'slow'; ms: number; value: number } | { op: 'spin'; ms: number };

await serveWorker<string, CrashRequest, number>(async () => {
  if (fs.existsSync(workerData as string)) throw new Error('cannot start: blocked by the test');
  return {
    info: 'started',
    handler: {
      async handle(req) {
        if (req.op === 'exit') process.exit(3); // ends this thread only, as a native crash would
        if (req.op === 'throw') throw new Error('handler failed');
        if (req.op === 'slow') await new Promise((r) => setTimeout(r, req.ms));
        if (req.op === 'spin') {
          const end = Date.now() + req.ms;
          while (Date.now() < end); // eslint-disable-line no-empty
          return { result: req.ms };
        }
        return { result: req.value };
      },
    },
  };
});
