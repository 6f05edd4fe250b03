// The process: config, logger, listen, load the model, and a graceful shutdown on signals.
// Everything HTTP lives in app.ts; everything about scoring in core/.
// First import: it may re-execute the process with glibc's malloc settings (see the module).
import { mallocSetting } from './util/malloc-env.js';
import { MALLOC_MMAP_THRESHOLD_ENV, MALLOC_TRIM_THRESHOLD_ENV } from './util/malloc-threshold.js';
import type { AddressInfo } from 'node:net';
import { buildApp } from './app.js';
import { ConfigError, helpText, loadConfig, type Config } from './config.js';
import { Lifecycle } from './core/lifecycle.js';
import { loadModels } from './core/load-models.js';
import { inferLayout, prefixReuseOn } from './core/runtime.js';
import type { ModelRegistry } from './core/model-registry.js';
import { createLogger } from './logger.js';
import { ServiceError } from './errors.js';
import { createMetrics } from './metrics.js';

/** One clear line on stderr and a non-zero exit; no stack trace for expected failures. */
function die(prefix: string, err: unknown, code: number): never {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${prefix}: ${msg.split('\n')[0]}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  let config: Config;
  try {
    config = loadConfig(process.env, argv);
  } catch (err) {
    die('config error', err, 2);
  }
  const logger = createLogger(config.logLevel);
  const lifecycle = new Lifecycle(createMetrics());
  const app = await buildApp({ config, lifecycle, logger });
  let models: ModelRegistry | null = null;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, grace_ms: config.shutdownGraceMs }, 'draining');
    lifecycle.drain();
    // Bodies still arriving are not accepted work: cut them now rather than wait for them.
    const cut = app.closeUnfinishedUploads();
    if (cut > 0) logger.info({ uploads: cut }, 'closed connections still sending a request body');
    const timer = setTimeout(() => {
      if (app.acceptedInFlight() === 0) {
        // Nothing accepted is left; only connections that never finished a request hold the close.
        logger.warn({ grace_ms: config.shutdownGraceMs }, 'grace period over with no accepted request left; closing the remaining connections');
        app.server.closeAllConnections();
        void models?.close().finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 1000).unref();
        return;
      }
      // Answer what is left rather than cut connections: each waiting client gets a 503.
      logger.error({ grace_ms: config.shutdownGraceMs }, 'grace period over with work still queued; answering it 503 and exiting');
      const stopped = new ServiceError('shutting_down', 'The server stopped before this request was scored (SHUTDOWN_GRACE_MS)');
      for (const rt of models?.all() ?? []) rt.batcher.abortAll(stopped);
      setTimeout(() => process.exit(1), 1000).unref();
      void app.close().then(() => process.exit(1));
    }, config.shutdownGraceMs);
    timer.unref();
    await app.close(); // waits until every accepted request has been answered
    clearTimeout(timer);
    await models?.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address, port: (app.server.address() as AddressInfo).port }, 'listening');
  try {
    models = await loadModels(config, lifecycle.metrics);
  } catch (err) {
    die('startup failed', err, 1);
  }
  lifecycle.ready(models);
  for (const rt of models.all()) {
    const { executionProvider, fallbackReason, gpu } = rt.backend.info;
    const layout = inferLayout(config, rt.folder.weightBytes);
    const large = rt.folder.weightBytes >= config.largeModelMb * 2 ** 20;
    if (large && mallocSetting.unset.length > 0 && mallocSetting.reason) {
      const set = mallocSetting.unset.map((v) => `${v.env}=${v.value}`);
      logger.warn(
        { model: rt.folder.name, reason: mallocSetting.reason },
        `glibc malloc's defaults hold or refault a large model's activations: start the server with ${set.join(' ')} to bound peak memory and keep speed`,
      );
    }
    if (fallbackReason) {
      logger.warn({ model: rt.folder.name, requested: config.executionProvider, reason: fallbackReason }, 'CUDA NOT USED: serving on CPU (ALLOW_CPU_FALLBACK)');
    }
    logger.info(
      {
        model: rt.folder.name,
        provider: executionProvider,
        ...(gpu && { gpu: gpu.name, gpu_memory_mib: gpu.memoryTotalMiB, gpu_memory_used_mib: gpu.memoryUsedMiB, driver: gpu.driver }),
        max_length: rt.folder.reward.maxLength,
        input_format: rt.folder.reward.inputFormat,
        pad_token_id: rt.folder.padTokenId,
        output_type: rt.outputType,
        weight_bytes: rt.folder.weightBytes,
        workers: layout.workers,
        intra_op_threads: layout.intraOpThreads,
        mem_arena: layout.memArena,
        spinning: layout.spinning,
        max_batch_tokens: rt.maxBatchTokens,
        malloc_mmap_threshold: mallocSetting.values[MALLOC_MMAP_THRESHOLD_ENV],
        malloc_trim_threshold: mallocSetting.values[MALLOC_TRIM_THRESHOLD_ENV],
        prefix_reuse: prefixReuseOn(config, rt.folder),
        sources: rt.folder.sources,
      },
      'model ready',
    );
  }
  for (const e of models.ensembles()) logger.info({ ensemble: e.name, members: e.members.map((m) => m.name), k: e.k }, 'ensemble ready');
  logger.info({ default: models.defaultTarget.name }, 'default model');
}

main().catch((err: unknown) => die(err instanceof ConfigError ? 'config error' : 'startup failed', err, 1));
