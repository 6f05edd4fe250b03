import { randomBytes } from 'node:crypto';
import { ServiceError } from '../../errors.js';
import { classProbabilities } from '../../postprocess/postprocess.js';
import { classesOf, type Message, type OperationContext, type OperationResult, type ScoreItem, type TruncationMode } from './operation.js';

/** A vLLM-style classify request (ClassificationCompletionRequest | ClassificationChatRequest), as on the wire. */
export interface ClassifyInput {
  /** Text, texts, token ids, or lists of token ids; one item each. */
  input?: string | string[] | number[] | number[][] | undefined;
  /** One conversation, rendered with the model's chat template. */
  messages?: Message[] | undefined;
  /** The first non-null of use_activation, activation, softmax (vLLM's deprecated aliases) wins; default true. */
  use_activation?: boolean | null | undefined;
  activation?: boolean | null | undefined;
  softmax?: boolean | null | undefined;
  /** null refuses over-long items; -1 (or max_length) truncates to max_length. */
  truncate_prompt_tokens?: number | null | undefined;
  /** Default true for `input`, false for `messages`, as vLLM. */
  add_special_tokens?: boolean | undefined;
  priority: number;
}

/** The items of a classify request, one per text, id list or conversation. */
function itemsOf(b: ClassifyInput): ScoreItem[] {
  if (b.messages) return [{ messages: b.messages, specialTokens: b.add_special_tokens ?? false }];
  const input = b.input ?? [];
  const plain = b.add_special_tokens === false;
  const text = (t: string): ScoreItem => (plain ? { text: t, specialTokens: false } : { text: t });
  if (typeof input === 'string') return [text(input)];
  if (input.length === 0) return [];
  if (typeof input[0] === 'number') return [{ ids: input as number[] }];
  return (input as (string | number[])[]).map((x) => (typeof x === 'string' ? text(x) : { ids: x }));
}

/** The truncation a truncate_prompt_tokens value asks for, or a 400 for what vLLM would refuse or we cannot do. */
function truncationFor(k: number | null, maxLength: number): TruncationMode {
  if (k === null) return 'error';
  if (k === -1 || k === maxLength) return 'auto';
  if (k > maxLength) {
    throw new ServiceError('invalid_request', `truncate_prompt_tokens value (${k}) is greater than max_model_len (${maxLength}). Please, select a smaller truncation size.`);
  }
  // Our truncation keeps max_length tokens; a shorter window would be a different model input.
  throw new ServiceError('invalid_request', `truncate_prompt_tokens ${k}: only -1 or ${maxLength} (max_model_len, the same) are supported; other values would change what the reward model reads`);
}

const argmax = (xs: readonly number[]) => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);

/**
 * vLLM's `/classify` (vllm/entrypoints/pooling/classify/protocol.py): per item every class's
 * probability, or its raw logit with the activation off (verl reads `data[-1].probs[-1]` with
 * `use_activation: false`: the raw reward), the argmax's id2label name, and token usage.
 */
export async function classify({ target, signal }: OperationContext, input: ClassifyInput): Promise<OperationResult> {
  // vLLM without priority scheduling refuses any other priority.
  if (input.priority !== 0) throw new ServiceError('invalid_request', 'priority: only 0 is accepted (this server has no priority scheduling)');
  const truncation = truncationFor(input.truncate_prompt_tokens ?? null, target.maxLength);
  const activation = input.use_activation ?? input.activation ?? input.softmax ?? true;
  const items = itemsOf(input);
  const head = { id: `classify-${randomBytes(16).toString('hex')}`, object: 'list', created: Math.floor(Date.now() / 1000), model: target.name };
  // vLLM answers an empty input list with an empty result.
  if (items.length === 0) {
    return { body: { ...head, data: [], usage: { prompt_tokens: 0, total_tokens: 0, completion_tokens: 0, prompt_tokens_details: null } } };
  }
  const r = await target.score(items, { truncation, signal });
  const { logits, labels } = classesOf(r);
  const data = logits.map((row, index) => {
    const probs = activation ? classProbabilities(row) : row;
    return { index, label: labels[argmax(row)] ?? null, probs, num_classes: row.length };
  });
  return {
    body: { ...head, model: r.model, data, usage: { prompt_tokens: r.tokens, total_tokens: r.tokens, completion_tokens: 0, prompt_tokens_details: null } },
    timings: r.timings,
  };
}
