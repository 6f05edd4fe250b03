import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config.js';
import type { Lifecycle } from '../../../core/lifecycle.js';
import type { ModelRuntime } from '../../../core/runtime.js';
import { ServiceError } from '../../../errors.js';
import type { StepSettings } from '../../../model/model-folder.js';

/** GET /v1/models: the served models and ensembles, and how they are served. */
export async function modelsRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; config: Config }) {
  // OpenAI's `created`: this server's start, in unix seconds.
  const created = Math.floor(Date.now() / 1000);
  app.get('/v1/models', async () => {
    const models = opts.lifecycle.models;
    if (!models) throw new ServiceError('not_ready');
    const def = models.defaultTarget.name;
    return {
      object: 'list',
      default: def,
      data: models.all().map((rt) => ({ ...describe(rt, opts.config, created), default: rt.folder.name === def })),
      ensembles: models.ensembles().map((e) => ({ id: e.name, object: 'ensemble', members: e.members.map((m) => m.name), k: e.k, default: e.name === def })),
    };
  });
}

function stepsOf(s: StepSettings) {
  return {
    tag: s.tag,
    tag_id: s.tagId,
    ...(s.positiveLabel !== null ? { positive_label: s.positiveLabel } : { candidate_ids: s.candidateIds }),
    aggregate: s.aggregate,
    step_suffix: s.suffix,
    step_separator: s.separator,
  };
}

function describe(rt: ModelRuntime, c: Config, created: number) {
  const { folder, backend, head } = rt;
  return {
    id: folder.name,
    object: 'model',
    // OpenAI's and vLLM's model card fields, for clients that read them.
    created,
    owned_by: 'reward-server',
    max_model_len: folder.reward.maxLength,
    max_length: folder.reward.maxLength,
    input_format: folder.reward.inputFormat,
    template: folder.reward.template,
    chat_template: folder.chatTemplate !== null,
    pairs: rt.pairs,
    pad_token_id: folder.padTokenId,
    output_type: rt.outputType,
    // outcome: one reward per item; process: step rewards at step tags; multi_objective: named objectives and a combined score.
    family: rt.tokenLevel ? 'process' : folder.reward.outputs.heads !== null ? 'multi_objective' : 'outcome',
    graph_outputs: { reward: folder.reward.outputs.reward, heads: folder.reward.outputs.heads },
    outputs: rt.headNames.map((name, index) => ({ index, name })),
    ...(folder.reward.outputs.heads !== null && { objectives: rt.headNames }),
    ...(folder.reward.steps && { steps: stepsOf(folder.reward.steps), token_rewards: true }),
    reward_head: head,
    head_weights: folder.reward.headWeights,
    temperature: folder.reward.temperature,
    normalization: folder.reward.normalization,
    execution_provider: backend.info.executionProvider,
    device: backend.info.gpu ? { name: backend.info.gpu.name, memory_total_mib: backend.info.gpu.memoryTotalMiB } : null,
    ...(backend.info.fallbackReason && { cpu_fallback_reason: backend.info.fallbackReason }),
    inputs: backend.info.inputs.map((i) => i.name),
    sources: folder.sources,
    batching: {
      max_batch_size: c.maxBatchSize,
      max_batch_tokens: rt.maxBatchTokens,
      max_wait_ms: c.maxWaitMs,
      max_queue_items: c.maxQueueItems,
      workers: backend.concurrency,
    },
  };
}
