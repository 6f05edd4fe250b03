import { z } from 'zod';
import { ServiceError } from '../errors.js';
import type { TextPart } from '../core/operations/operation.js';

/** Request limits from the config that the schemas enforce. */
export interface Limits {
  maxItemsPerRequest: number;
  maxCharsPerText: number;
  /** Cap on a request's timeout_ms; larger values are lowered to it. */
  maxTimeoutMs: number;
}

/** Most head names one `weights` object may carry. */
export const MAX_WEIGHT_KEYS = 64;
/** Largest |w| of a head weight: with float32 logits (< 3.4e38) the weighted sum stays finite. */
export const MAX_WEIGHT = 1e6;

/** Request body schemas of every POST route, built for the configured limits. */
export function requestSchemas(limits: Limits) {
  const text = z.string().max(limits.maxCharsPerText);
  const many = <T extends z.ZodType>(t: T) => z.array(t).min(1).max(limits.maxItemsPerRequest);
  // Text parts only: the served models read text. Any other part type (image_url, input_audio,
  // …) is named in the 422 rather than hidden behind a union's generic message.
  const part = z
    .looseObject({ type: z.string().max(64), text: text.optional() })
    .check((ctx) => {
      const p = ctx.value as Record<string, unknown>;
      const fail = (path: string, message: string): void => void ctx.issues.push({ code: 'custom', input: p, path: [path], message });
      if (p.type !== 'text') return fail('type', `content part type ${JSON.stringify(p.type)} is not supported; only {"type": "text", "text": ...} parts are (the models read text)`);
      if (typeof p.text !== 'string') return fail('text', 'a text part needs "text"');
      const extra = Object.keys(p).find((k) => k !== 'type' && k !== 'text');
      if (extra !== undefined) fail(extra, `Unrecognized key: "${extra}"`);
    })
    .transform((p): TextPart => ({ type: 'text', text: p.text! }));
  const content = z.union([text, z.array(part).min(1).max(limits.maxItemsPerRequest)]);
  // OpenAI-style tool calls, passed to the template as sent; bounded like other input.
  const toolCall = z.record(z.string().max(64), z.unknown()).refine((c) => JSON.stringify(c).length <= limits.maxCharsPerText, {
    message: `a tool call is longer than ${limits.maxCharsPerText} characters as JSON`,
  });
  const message = z.strictObject({
    role: z.string().min(1).max(64),
    content,
    reasoning_content: text.optional(),
    name: z.string().min(1).max(64).optional(),
    tool_calls: z.array(toolCall).max(limits.maxItemsPerRequest).optional(),
    tool_call_id: z.string().min(1).max(64).optional(),
  });
  const messages = many(message);
  // Lowered to MAX_TIMEOUT_MS rather than refused: a client's deadline is a wish, the cap is ours.
  const timeout = z
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .transform((ms) => Math.min(ms, limits.maxTimeoutMs))
    .optional();
  // Bounded so that Σ w·logit stays finite; a model has a handful of heads. (A body's key count
  // is bounded before parsing by MAX_JSON_KEYS, so walking the record first stays cheap.)
  const weights = z
    .record(z.string().min(1).max(128), z.number().min(-MAX_WEIGHT).max(MAX_WEIGHT))
    .refine((w) => Object.keys(w).length <= MAX_WEIGHT_KEYS, { message: `at most ${MAX_WEIGHT_KEYS} heads` });
  // Fields every scoring route accepts besides its items.
  const options = {
    model: z.string().min(1).max(128).optional(),
    truncation: z.enum(['auto', 'error']).default('auto'),
    format: z.enum(['template', 'chat', 'pair']).optional(),
    weights: weights.optional(),
    normalize: z.boolean().default(false),
    k: z.number().min(0).max(100).optional(),
    return_token_rewards: z.boolean().default(false),
    timeout_ms: timeout,
  };
  // A process reward model's answer as its steps; the service adds the step tags.
  const steps = many(text);
  const item = z.union(
    [z.strictObject({ prompt: z.union([text, messages]), response: text }), z.strictObject({ prompt: z.union([text, messages]), steps }), z.strictObject({ messages }), z.strictObject({ text })],
    { error: 'must be {"prompt", "response"}, {"prompt", "steps"}, {"messages"} or {"text"}' },
  );
  const response = z.union([text, z.strictObject({ steps })], { error: 'must be a string or {"steps"}' });
  const prompt = z.union([text, messages]);
  const pair = z.union([z.strictObject({ prompt, a: text, b: text }), z.strictObject({ prompt, chosen: text, rejected: text })], {
    error: 'must be {"prompt", "a", "b"} or {"prompt", "chosen", "rejected"}',
  });
  // Foreign protocols' requests: their field names and defaults; unknown fields are ignored, as
  // vLLM (extra="allow") and TEI (serde) ignore them, so a client that sends more still works.
  const nonEmpty = z.string().min(1).max(limits.maxCharsPerText);
  const tokenIds = z.array(z.number().int().min(0).max(2 ** 31 - 1)).min(1).max(limits.maxCharsPerText);
  const flag = z.boolean().nullish();
  const vllmCommon = {
    // verl sends the reward model's path here; see ModelRegistry.resolve.
    model: z.string().min(1).max(1024).nullish(),
    user: z.string().max(256).nullish(),
    truncate_prompt_tokens: z.number().int().min(-1).max(2 ** 31 - 1).nullish(),
    request_id: z.string().max(256).optional(),
    priority: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1).default(0),
    use_activation: flag,
    activation: flag,
    softmax: flag,
    add_special_tokens: z.boolean().optional(),
  };
  const direction = z.enum(['Left', 'Right', 'left', 'right']).optional();
  const teiOptions = { raw_scores: z.boolean().default(false), truncate: z.boolean().nullish(), truncation_direction: direction };
  const textOrPair = z.array(nonEmpty).min(1).max(2);
  return {
    score: z.strictObject({ items: many(item), ...options }),
    // What /score would feed the model, without scoring it.
    tokenize: z.strictObject({ items: many(item), model: options.model, truncation: options.truncation, format: options.format }),
    compare: z.strictObject({ pairs: many(pair), ...options }),
    rank: z.union([z.strictObject({ prompt, responses: many(response), ...options }), z.strictObject({ messages, responses: many(response), ...options })], {
      error: 'must be {"prompt", "responses"} or {"messages", "responses"}',
    }),
    // OpenRLHF's remote reward model request; `query` is the full templated text.
    getReward: z.strictObject({
      query: many(text),
      // Some OpenRLHF versions send null for what they do not have.
      prompts: z.array(z.string()).nullish(),
      labels: z.array(z.unknown()).nullish(),
      model: options.model,
      timeout_ms: timeout,
    }),
    // vLLM's /classify: ClassificationCompletionRequest | ClassificationChatRequest.
    classify: z.union(
      [
        z.looseObject({
          input: z.union([nonEmpty, z.array(nonEmpty).max(limits.maxItemsPerRequest), tokenIds, z.array(tokenIds).max(limits.maxItemsPerRequest)]),
          ...vllmCommon,
        }),
        z
          .looseObject({
            messages,
            ...vllmCommon,
            add_generation_prompt: z.boolean().optional(),
            continue_final_message: z.boolean().optional(),
            chat_template: z.string().nullish(),
            chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
          })
          .check((ctx) => {
            // The model's own template renders the conversation as it was trained to read it.
            const v = ctx.value;
            const fail = (path: string, message: string): void => void ctx.issues.push({ code: 'custom', input: v, path: [path], message });
            if (v.add_generation_prompt === true) fail('add_generation_prompt', 'must be false: a reward model reads finished conversations');
            if (v.continue_final_message === true) fail('continue_final_message', 'must be false: a reward model reads finished conversations');
            if (typeof v.chat_template === 'string') fail('chat_template', "is not supported: the model's own chat template is used");
            if (v.chat_template_kwargs && Object.keys(v.chat_template_kwargs).length > 0) fail('chat_template_kwargs', 'are not supported');
          }),
      ],
      { error: 'must have "input" (text, texts or token ids) or "messages"' },
    ),
    // TEI's /predict: a text, a pair, or a batch of texts and pairs.
    predict: z.looseObject({
      inputs: z.union([nonEmpty, textOrPair, z.array(textOrPair).min(1).max(limits.maxItemsPerRequest)], {
        error: 'must be a text, a pair [a, b], or a list of texts and pairs [[a], [a, b], ...]',
      }),
      ...teiOptions,
    }),
    // TEI's /rerank; empty `texts` is TEI's Empty error, raised by the operation.
    rerank: z.looseObject({ query: nonEmpty, texts: z.array(nonEmpty).max(limits.maxItemsPerRequest), ...teiOptions, return_text: z.boolean().default(false) }),
    // slime's remote reward model request; `label` is sent and not used.
    slimeReward: z.looseObject({ prompt: z.union([text, messages]), response: text, label: z.unknown().optional() }),
  };
}

/** The schemas for one set of limits. */
export type RequestSchemas = ReturnType<typeof requestSchemas>;

type Issue = z.core.$ZodIssue;

/** For a failed union, the issues of the branch that came closest to matching. */
function closest(issue: Issue): Issue[] | null {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return null;
  // Fewest issues; on a tie, the branch that got furthest: deeper, or past its type check (a
  // list of parts that is too long or holds an image, not "expected string").
  const depth = (issues: Issue[]) => Math.max(...issues.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 0.5)));
  const best = issue.errors.reduce((a, b) => (b.length < a.length || (b.length === a.length && depth(b) > depth(a)) ? b : a));
  return best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : 'body');

/** Turns the first zod issue into a coded error naming the field (and the cap, if one was hit). */
function issueToError(issue: Issue): ServiceError {
  const inner = closest(issue);
  // A union inside a union (a prompt that may be text or messages): report its closest branch.
  if (inner && inner.length === 1 && inner[0]!.code === 'invalid_union') return issueToError(inner[0]!);
  if (inner && inner.every((i) => i.code === 'too_big')) return issueToError(inner[0]!);
  if (inner && inner.length === 1 && inner[0]!.code === 'custom') return issueToError(inner[0]!);
  if (issue.code === 'too_big' && issue.origin === 'string') {
    return new ServiceError('text_too_long', `${where(issue.path)} is longer than ${String(issue.maximum)} characters`);
  }
  if (issue.code === 'too_big' && issue.origin === 'array') {
    return new ServiceError('too_many_items', `${where(issue.path)} has more than ${String(issue.maximum)} entries`);
  }
  const detail = inner && inner.length > 0 ? ` (${where(inner[0]!.path)}: ${inner[0]!.message})` : '';
  return new ServiceError('invalid_request', `${where(issue.path)}: ${issue.message}${detail}`);
}

/**
 * Validates a request body.
 * @throws ServiceError 422 naming the first offending field.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw issueToError(r.error.issues[0]!);
}
