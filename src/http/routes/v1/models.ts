import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config.js';
import type { Lifecycle } from '../../../core/lifecycle.js';
import type { ModelRuntime } from '../../../core/runtime.js';
import { ServiceError } from '../../../errors.js';

/** GET /v1/models: the loaded model(s) and how they are served. */
export async function modelsRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; config: Config }) {
  app.get('/v1/models', async () => {
    const models = opts.lifecycle.models;
    if (!models) throw new ServiceError('not_ready');
    return { object: 'list', data: models.all().map((rt) => describe(rt, opts.config)) };
  });
}

function describe(rt: ModelRuntime, c: Config) {
  const { folder, backend, numLabels, head } = rt;
  return {
    id: folder.name,
    object: 'model',
    max_length: folder.reward.maxLength,
    input_format: folder.reward.inputFormat,
    template: folder.reward.template,
    outputs: Array.from({ length: numLabels }, (_, i) => ({ index: i, name: folder.labels[i] ?? `logit_${i}` })),
    reward_head: head,
    temperature: folder.reward.temperature,
    normalization: folder.reward.normalization,
    execution_provider: backend.info.executionProvider,
    device: backend.info.gpu ? { name: backend.info.gpu.name, memory_total_mib: backend.info.gpu.memoryTotalMiB } : null,
    ...(backend.info.fallbackReason && { cpu_fallback_reason: backend.info.fallbackReason }),
    inputs: backend.info.inputs.map((i) => i.name),
    batching: {
      max_batch_size: c.maxBatchSize,
      max_batch_tokens: c.maxBatchTokens,
      max_wait_ms: c.maxWaitMs,
      max_queue_items: c.maxQueueItems,
      workers: backend.concurrency,
    },
  };
}
