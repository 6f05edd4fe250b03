import { parentPort, type TransferListItem } from 'node:worker_threads';
import type { WorkerMessage } from './worker-client.js';

/** What a worker module hands to {@link serveWorker}: its answer to each request. */
export interface WorkerHandler<Req, Res> {
  handle(req: Req): Promise<{ result: Res; transfer?: TransferListItem[] }> | { result: Res; transfer?: TransferListItem[] };
}

/**
 * Worker-thread side of the protocol in worker-client.ts: run `init`, report ready (or the
 * init error as one line), then answer each request in order. A message `{exit: code}` ends
 * the thread (WorkerClient.crash).
 */
export async function serveWorker<Info, Req, Res>(
  init: () => Promise<{ info: Info; handler: WorkerHandler<Req, Res> }>,
): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serveWorker must run in a worker thread');
  const post = (msg: WorkerMessage<Info, Res>, transfer?: TransferListItem[]) => port.postMessage(msg, transfer);
  let handler: WorkerHandler<Req, Res>;
  try {
    const started = await init();
    handler = started.handler;
    post({ type: 'ready', info: started.info });
  } catch (err) {
    post({ type: 'init_error', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  port.on('message', async ({ id, req, exit }: { id: number; req: Req; exit?: number }) => {
    if (exit !== undefined) process.exit(exit); // a fault drill: ends this thread only
    try {
      const { result, transfer } = await handler.handle(req);
      post({ type: 'result', id, result }, transfer);
    } catch (err) {
      post({ type: 'error', id, message: err instanceof Error ? err.message : String(err) });
    }
  });
}
