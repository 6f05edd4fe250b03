// npm run bench:storm -- [--model 0.6b] [--seconds 60] [--runs storm:off,storm:on,d64:off,d64:on]
// What refusals cost with and without ONNX Runtime's spinning threads (INTRA_OP_SPINNING), in
// adjacent runs on one machine: "storm" is 256 one-item clients against MAX_QUEUE_ITEMS=64, each
// resending at once on every 429; "d64" is 64 one-item clients and no refusal. Prints figures only.
// The checkpoint comes from the scale section's cache (npm run bench -- --only scale --scale-prepare).
import { parseArgs } from 'node:util';
import { loadHhItems } from './hh-data.js';
import { runLoad, scoreBodies, warmUp } from './lib/load.js';
import { ensureScaleModel } from './lib/scale-models.js';
import { startServer } from './lib/server.js';
import { STORM_SETTINGS } from './sections/scale.js';

const { values: a } = parseArgs({
  options: { model: { type: 'string', default: '0.6b' }, seconds: { type: 'string', default: '60' }, runs: { type: 'string', default: 'storm:off,storm:on,d64:off,d64:on' } },
});
const m = await ensureScaleModel(a.model, console.log);
const bodies = scoreBodies(loadHhItems(), 1);
for (const run of a.runs.split(',')) {
  const [kind, spinning] = run.split(':') as [string, string];
  const storm = kind === 'storm';
  const s = await startServer({ MODEL_DIR: m.modelDir, INTRA_OP_SPINNING: spinning, ...(storm && STORM_SETTINGS) });
  try {
    await warmUp(s.base, [bodies[0]!], 1);
    const r = await runLoad({ base: s.base, bodies, itemsPerBody: 1, clients: storm ? 256 : 64, warmSeconds: 30, seconds: Number(a.seconds), cutAtEnd: true });
    console.log(`${run}: ${r.itemsPerSecond.toFixed(3)} items/s, ${r.requests - r.errors} answered 200, non-200 ${JSON.stringify(r.statuses)}`);
  } finally {
    await s.stop();
  }
}
