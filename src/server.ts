// The process: config, logger, listen, load the model, and a graceful shutdown on signals.
// Everything HTTP lives in app.ts; everything about scoring in core/.
import type { AddressInfo } from 'node:net';
import { buildApp } from './app.js';
import { ConfigError, helpText, loadConfig, type Config } from './config.js';
import { Lifecycle } from './core/lifecycle.js';
import { ModelRegistry } from './core/model-registry.js';
import { createRuntime, type ModelRuntime } from './core/runtime.js';
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
  let runtime: ModelRuntime | null = null;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, grace_ms: config.shutdownGraceMs }, 'draining');
    lifecycle.drain();
    const timer = setTimeout(() => {
      // Answer what is left rather than cut connections: each waiting client gets a 503.
      logger.error({ grace_ms: config.shutdownGraceMs }, 'grace period over with work still queued; answering it 503 and exiting');
      runtime?.batcher.abortAll(new ServiceError('shutting_down', 'The server stopped before this request was scored (SHUTDOWN_GRACE_MS)'));
      setTimeout(() => process.exit(1), 1000).unref();
      void app.close().then(() => process.exit(1));
    }, config.shutdownGraceMs);
    timer.unref();
    await app.close(); // waits until every accepted request has been answered
    clearTimeout(timer);
    await runtime?.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address, port: (app.server.address() as AddressInfo).port }, 'listening');
  try {
    runtime = await createRuntime(config, lifecycle.metrics);
    if (config.warmup) await runtime.warmup();
  } catch (err) {
    die('startup failed', err, 1);
  }
  lifecycle.ready(new ModelRegistry([runtime]));
  logger.info(
    { model: runtime.folder.name, provider: runtime.backend.info.executionProvider, max_length: runtime.folder.reward.maxLength },
    'model ready',
  );
}

main().catch((err: unknown) => die(err instanceof ConfigError ? 'config error' : 'startup failed', err, 1));
