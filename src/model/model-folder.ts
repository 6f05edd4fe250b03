import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { InputFormat } from '../format/format.js';

/** Default HH-RLHF turn format, used when reward.json names no template. */
export const HH_TEMPLATE = '\n\nHuman: {prompt}\n\nAssistant: {response}';

/** Thrown when a model folder cannot be served; the message is one line naming the file. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** Per-layer key and value tensor names, `{i}` standing for the layer index. */
const kvNames = z.strictObject({ key: z.string().includes('{i}'), value: z.string().includes('{i}') });

const rewardJsonSchema = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  input_format: z.enum(['template', 'chat', 'pair']).optional(),
  template: z
    .string()
    .refine((t) => t.split('{prompt}').length === 2 && t.split('{response}').length === 2, 'must contain {prompt} and {response} once each')
    .refine((t) => t.indexOf('{prompt}') < t.indexOf('{response}'), '{prompt} must come before {response}')
    .optional(),
  max_length: z.number().int().min(8).max(1_048_576).optional(),
  pad_token_id: z.number().int().min(0).optional(),
  reward_head: z.union([z.number().int().min(0), z.string().min(1)]).optional(),
  normalization: z.strictObject({ mean: z.number(), std: z.number().positive() }).optional(),
  temperature: z.number().positive().optional(),
  head_weights: z.record(z.string().min(1), z.number()).optional(),
  outputs: z.strictObject({ reward: z.string().min(1), heads: z.string().min(1).optional() }).optional(),
  steps: z
    .strictObject({
      tag: z.string().min(1),
      positive_label: z.union([z.number().int().min(0), z.string().min(1)]).optional(),
      candidates: z.array(z.string().min(1)).min(2).max(16).optional(),
      aggregate: z.enum(['min', 'last', 'product', 'mean']).optional(),
      step_suffix: z.string().optional(),
      step_separator: z.string().optional(),
    })
    .refine((s) => (s.positive_label === undefined) !== (s.candidates === undefined), 'give exactly one of positive_label (a 2-label head) and candidates (vocabulary tokens, the positive one first)')
    .optional(),
  // The graph that continues from a cached prefix (model:import --prefix-graphs): PREFIX_REUSE.
  prefix_reuse: z
    .strictObject({
      layers: z.number().int().min(1),
      kv_heads: z.number().int().min(1),
      head_dim: z.number().int().min(1),
      dtype: z.enum(['float32', 'float16']),
      // An earlier model:import wrote a separate prefix.onnx, a second copy of the weights in memory.
      prefix: z.undefined({ error: 'a separate prefix graph is from an earlier model:import; import the checkpoint again with --prefix-graphs (one graph, continue.onnx)' }).optional(),
      continue: z.strictObject({ file: z.string().min(1), inputs: z.array(z.string().min(1)).min(1), past: kvNames, present: kvNames, output: z.string().min(1) }),
    })
    .optional(),
});

const tokenizerConfigSchema = z.looseObject({
  // Llama 3.1 ships 1e30 here ("no limit"); JSON may even spell it as a huge integer.
  model_max_length: z.number().optional(),
  pad_token: z.union([z.string(), z.looseObject({ content: z.string() })]).nullish(),
  chat_template: z.unknown().optional(),
});

// Read for sizing only (batchTokenBudget): a value that is not a positive integer is ignored, never refused.
const widthFields = { hidden_size: z.unknown().optional(), intermediate_size: z.unknown().optional() };

const configJsonSchema = z.looseObject({
  id2label: z.record(z.string(), z.string()).optional(),
  pad_token_id: z.number().int().min(0).nullish(),
  ...widthFields,
  // Multimodal checkpoints nest the language model's config.
  text_config: z.unknown().optional(),
});

/** The widest per-token activation config.json names (hidden or MLP width), or null when it names none. */
function activationWidth(config: z.infer<typeof configJsonSchema>): number | null {
  const text = typeof config.text_config === 'object' && config.text_config !== null ? (config.text_config as Record<string, unknown>) : {};
  const widths = [config.hidden_size, config.intermediate_size, text.hidden_size, text.intermediate_size].filter((w): w is number => Number.isInteger(w) && (w as number) > 0);
  return widths.length > 0 ? Math.max(...widths) : null;
}

/** config.json fields that bound the positions a model can read, in the order they are tried. */
const POSITION_FIELDS = ['max_position_embeddings', 'n_positions', 'max_seq_len', 'max_sequence_length', 'seq_length', 'n_ctx'] as const;

/** Where a resolved setting came from: a file and field, a server setting, or the built-in default. */
export type SettingSource = string;

/** The settings that are resolved from several places, each with where its value came from. */
export interface SettingSources {
  readonly input_format: SettingSource;
  readonly max_length: SettingSource;
  readonly pad_token_id: SettingSource;
  readonly template: SettingSource;
  readonly chat_template: SettingSource;
  readonly reward_head: SettingSource;
  readonly normalization: SettingSource;
  readonly temperature: SettingSource;
}

/** Server settings that bound what a model folder may ask for. */
export interface FolderLimits {
  /** MAX_LENGTH_CAP: no model reads more tokens per item than this, whatever its files say. */
  readonly maxLengthCap: number;
}

/** How step rewards combine into an item's reward. */
export type StepAggregate = 'min' | 'last' | 'product' | 'mean';

/**
 * A process reward model's steps (reward.json `steps`): each step ends with the tag token, and
 * the graph's token-level output at a tag gives the step's reward: softmax over the positive and
 * negative labels (a 2-label head) or over candidate vocabulary tokens (a language-model head).
 */
export interface StepSettings {
  readonly tag: string;
  readonly tagId: number;
  /** 2-label head: the positive label's column; null with candidates. */
  readonly positiveLabel: number | null;
  /** Language-model head: the vocabulary ids compared, the positive one first; null with a label head. */
  readonly candidateIds: readonly number[] | null;
  readonly aggregate: StepAggregate;
  /** Text after each step of a `steps` item (holds the tag once). */
  readonly suffix: string;
  /** Text between two steps, after the first one's suffix. */
  readonly separator: string;
}

/** The graph outputs the service reads (reward.json `outputs`). */
export interface OutputNames {
  /** [batch, labels] per item, or [batch, seq, labels] for a token-level model. */
  readonly reward: string;
  /** [batch, K] named heads (objectives), if any. */
  readonly heads: string | null;
}

/** Serving settings of one model, resolved from reward.json with defaults filled in. */
export interface RewardSettings {
  /** How `{prompt, response}` items are rendered unless a request says otherwise. */
  readonly inputFormat: InputFormat;
  readonly template: string;
  /** Longest item in tokens, special tokens included. */
  readonly maxLength: number;
  /** Output column (index or id2label name) that is the reward. */
  readonly rewardHead: number | string;
  readonly normalization: { readonly mean: number; readonly std: number };
  /** Temperature T of P(a ≻ b) = σ((r_a − r_b) / T). */
  readonly temperature: number;
  /** Weight of each head by id2label name: the reward is their weighted sum (else the reward head alone). */
  readonly headWeights: Readonly<Record<string, number>> | null;
  readonly outputs: OutputNames;
  /** Process reward models only. */
  readonly steps: StepSettings | null;
}

/**
 * The graph that continues from a cached prefix (reward.json `prefix_reuse`, written by
 * model:import --prefix-graphs): it runs right-padded rows from a past of each layer's keys and
 * values (`past`, flattened k0, v0, k1, …; length 0 for none) and returns their logits and the
 * keys and values of past + rows (`present`, same order). One session of it scores whole rows,
 * computes prefixes and scores continuations.
 */
export interface PrefixGraphs {
  readonly continuePath: string;
  readonly past: readonly string[];
  readonly present: readonly string[];
  /** [batch, labels], pooled as model.onnx pools. */
  readonly output: string;
  /** Shape and type of one layer's keys (and values): [past_batch, kvHeads, length, headDim]. */
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dtype: 'float32' | 'float16';
}

/** Everything read from a model folder, validated; the ONNX file itself is opened by the backend. */
export interface ModelFolder {
  readonly name: string;
  readonly dir: string;
  readonly modelPath: string;
  /** Bytes of the graph and its external data (`model.onnx_data` beside it): what one session loads. */
  readonly weightBytes: number;
  readonly tokenizerJson: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
  /** Head names from config.json id2label, by index; empty when absent. */
  readonly labels: readonly string[];
  /** The id batches are padded with; see resolvePadId for the order of the sources. */
  readonly padTokenId: number;
  /** chat_template.jinja, else tokenizer_config.json's chat_template (the "default" one of a list), if any. */
  readonly chatTemplate: string | null;
  /** Special-token strings of tokenizer_config.json (bos_token, …), for the chat template. */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly reward: RewardSettings;
  /** Present when the folder has prefix graphs. */
  readonly prefixGraphs: PrefixGraphs | null;
  /** Values per token of the model's widest activation (config.json `hidden_size`, `intermediate_size`); null when unknown. */
  readonly activationWidth: number | null;
  /** Where each resolved setting came from (reported by /v1/models, the startup log and model:check). */
  readonly sources: SettingSources;
}

/** max_length when no file bounds it. */
const DEFAULT_MAX_LENGTH = 512;
/** Tokenizers store "no limit" as a huge sentinel (1e30); only a value up to this is a real limit. */
const SANE_LIMIT = 1_048_576;

/** Id of a token string in a tokenizers JSON file: an added token, else the model's vocabulary. */
export function tokenIdIn(tokenizerJson: Record<string, unknown>, token: string): number | undefined {
  const added = tokenizerJson.added_tokens;
  if (Array.isArray(added)) {
    const hit = added.find((t: { content?: unknown }) => t?.content === token) as { id?: unknown } | undefined;
    if (typeof hit?.id === 'number') return hit.id;
  }
  const vocab = (tokenizerJson.model as { vocab?: unknown } | undefined)?.vocab;
  // Unigram stores [token, score] pairs by id; BPE and WordPiece a token → id map.
  if (Array.isArray(vocab)) {
    const at = vocab.findIndex((e: unknown) => Array.isArray(e) && e[0] === token);
    return at < 0 ? undefined : at;
  }
  if (vocab && typeof vocab === 'object' && Object.hasOwn(vocab, token)) {
    const id = (vocab as Record<string, unknown>)[token];
    return typeof id === 'number' ? id : undefined;
  }
  return undefined;
}

/**
 * The pad id, first found of: reward.json `pad_token_id`, config.json `pad_token_id`,
 * tokenizer_config.json `pad_token` (looked up in the vocabulary), tokenizer.json
 * `padding.pad_id`. A graph that pools at the last non-pad token compares input_ids with the
 * pad id it was exported with, so guessing one (0, say) would silently read every shorter item
 * of a batch at a pad position: with none named, the folder is refused.
 */
function resolvePadId(
  dir: string,
  reward: { pad_token_id?: number },
  config: { pad_token_id?: number | null },
  specials: Record<string, string>,
  tokenizerJson: Record<string, unknown>,
): { value: number; source: string } {
  if (reward.pad_token_id !== undefined) return { value: reward.pad_token_id, source: 'reward.json pad_token_id' };
  if (typeof config.pad_token_id === 'number') return { value: config.pad_token_id, source: 'config.json pad_token_id' };
  const padToken = specials.pad_token;
  if (padToken !== undefined) {
    const id = tokenIdIn(tokenizerJson, padToken);
    if (id === undefined) {
      throw new ModelLoadError(path.join(dir, 'tokenizer_config.json'), `pad_token ${JSON.stringify(padToken)} is not in the tokenizer's vocabulary; set pad_token_id in reward.json or config.json`);
    }
    return { value: id, source: `tokenizer_config.json pad_token ${JSON.stringify(padToken)}` };
  }
  const padding = tokenizerJson.padding as { pad_id?: unknown } | null | undefined;
  if (typeof padding?.pad_id === 'number') return { value: padding.pad_id, source: 'tokenizer.json padding.pad_id' };
  throw new ModelLoadError(
    path.join(dir, 'config.json'),
    'no pad token id: none of reward.json or config.json pad_token_id, tokenizer_config.json pad_token or tokenizer.json padding names one; set pad_token_id in config.json (or reward.json) to the id the graph treats as padding',
  );
}

/** max_length: reward.json, else a real model_max_length, else config.json's position limit, else 512; then capped. */
function resolveMaxLength(
  reward: { max_length?: number },
  tokenizerConfig: { model_max_length?: number },
  config: Record<string, unknown>,
  limits: FolderLimits,
): { value: number; source: string; tokLimit: number | undefined } {
  const tokMax = tokenizerConfig.model_max_length;
  const tokLimit = typeof tokMax === 'number' && tokMax > 0 && tokMax <= SANE_LIMIT ? Math.floor(tokMax) : undefined;
  const positions = POSITION_FIELDS.find((f) => typeof config[f] === 'number' && (config[f] as number) > 0 && (config[f] as number) <= SANE_LIMIT);
  let found: { value: number; source: string };
  if (reward.max_length !== undefined) found = { value: reward.max_length, source: 'reward.json max_length' };
  else if (tokLimit !== undefined) found = { value: tokLimit, source: 'tokenizer_config.json model_max_length' };
  else if (positions) found = { value: Math.floor(config[positions] as number), source: `config.json ${positions}` };
  else found = { value: DEFAULT_MAX_LENGTH, source: 'built-in default' };
  if (found.value > limits.maxLengthCap) {
    found = { value: limits.maxLengthCap, source: `server setting MAX_LENGTH_CAP (below ${found.source} ${found.value})` };
  }
  return { ...found, tokLimit };
}

/** A chat_template is a string, or a list of named ones of which "default" is used. */
function pickChatTemplate(value: unknown, file: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t: { name?: unknown }) => t?.name === 'default') as { template?: unknown } | undefined;
    if (typeof named?.template === 'string') return named.template;
  }
  throw new ModelLoadError(file, 'field chat_template: expected a string or a list holding {"name": "default", "template"}');
}

/**
 * The chat template as transformers finds it: `chat_template.jinja` (what transformers 5 saves)
 * takes priority over tokenizer_config.json's `chat_template`.
 */
function readChatTemplate(dir: string, fromConfig: unknown, tcFile: string): { template: string; source: SettingSource } | null {
  const file = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(file)) return { template: fs.readFileSync(file, 'utf8'), source: 'chat_template.jinja' };
  const template = pickChatTemplate(fromConfig, tcFile);
  return template === null ? null : { template, source: 'tokenizer_config.json chat_template' };
}

/** `*_token` fields of tokenizer_config.json as strings (a token may be stored as {content}). */
function specialTokens(config: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (!k.endsWith('_token')) continue;
    if (typeof v === 'string') out[k] = v;
    else if (v && typeof v === 'object' && 'content' in v && typeof v.content === 'string') out[k] = v.content;
  }
  return out;
}

type StepsJson = NonNullable<z.infer<typeof rewardJsonSchema>['steps']>;

/**
 * reward.json `steps` with its tokens looked up. The tag must be an added token, so that every
 * occurrence in a text tokenizes to that one id (a plain vocabulary string may merge with its
 * neighbours, and a step would silently lose its reward).
 */
function resolveSteps(file: string, s: StepsJson, tokenizerJson: Record<string, unknown>, labels: readonly string[]): StepSettings {
  const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as { content?: unknown; id?: unknown }[]) : [];
  const tagId = added.find((t) => t.content === s.tag)?.id;
  if (typeof tagId !== 'number') throw new ModelLoadError(file, `steps.tag ${JSON.stringify(s.tag)} is not an added token of tokenizer.json (it must tokenize to one id wherever it appears)`);
  const suffix = s.step_suffix ?? s.tag;
  if (suffix.split(s.tag).length !== 2) throw new ModelLoadError(file, `steps.step_suffix ${JSON.stringify(suffix)} must contain the tag ${JSON.stringify(s.tag)} once`);
  let positiveLabel: number | null = null;
  if (s.positive_label !== undefined) {
    positiveLabel = typeof s.positive_label === 'number' ? s.positive_label : labels.indexOf(s.positive_label);
    if (positiveLabel < 0) throw new ModelLoadError(file, `steps.positive_label ${JSON.stringify(s.positive_label)} is not among config.json id2label (${labels.join(', ')})`);
  }
  const candidateIds = s.candidates?.map((c) => {
    const id = tokenIdIn(tokenizerJson, c);
    if (id === undefined) throw new ModelLoadError(file, `steps.candidates: ${JSON.stringify(c)} is not one token of the vocabulary`);
    return id;
  });
  // min: Math-Shepherd scores a solution by its weakest step (a chain is as sound as its worst link).
  return { tag: s.tag, tagId, positiveLabel, candidateIds: candidateIds ?? null, aggregate: s.aggregate ?? 'min', suffix, separator: s.step_separator ?? '' };
}

function readJson(file: string, required: boolean): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelLoadError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file is missing' : `cannot read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(file, `not valid JSON (${(err as Error).message})`);
  }
}

function parseWith<T extends z.ZodType>(schema: T, value: unknown, file: string): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? `field ${issue.path.join('.')}` : 'top level';
  throw new ModelLoadError(file, `${where}: ${issue.message}`);
}

/** Path and flattened key/value names of reward.json `prefix_reuse`; the graph must exist. */
function prefixGraphs(dir: string, rwFile: string, p: NonNullable<z.infer<typeof rewardJsonSchema>['prefix_reuse']>): PrefixGraphs {
  const file = (f: string) => {
    const full = path.join(dir, f);
    if (!fs.existsSync(full)) throw new ModelLoadError(rwFile, `prefix_reuse names ${f}, which is missing`);
    return full;
  };
  const flat = (kv: { key: string; value: string }) => Array.from({ length: p.layers }, (_, i) => [kv.key, kv.value].map((n) => n.replaceAll('{i}', String(i)))).flat();
  const g = p.continue;
  return { continuePath: file(g.file), past: flat(g.past), present: flat(g.present), output: g.output, kvHeads: p.kv_heads, headDim: p.head_dim, dtype: p.dtype };
}

/**
 * The graph's size with its external data (`<graph>_data` beside it: `model.onnx_data`, as optimum
 * and model:import write it). Only stat calls: no descriptor is opened at startup for this.
 */
function weightBytes(modelPath: string): number {
  const size = (p: string) => (fs.existsSync(p) ? fs.statSync(p).size : 0);
  return size(modelPath) + size(`${modelPath}_data`);
}

/**
 * Read and validate a model folder in the Hugging Face / optimum export layout
 * (`model.onnx` or `onnx/model.onnx`, `tokenizer.json`, optional `tokenizer_config.json`,
 * `config.json` and our `reward.json`).
 * @throws ModelLoadError naming the file and the problem.
 */
export function readModelFolder(dir: string, limits: FolderLimits): ModelFolder {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ModelLoadError(dir, 'model folder does not exist');
  const candidates = [path.join(dir, 'model.onnx'), path.join(dir, 'onnx', 'model.onnx')];
  const modelPath = candidates.find((p) => fs.existsSync(p));
  if (!modelPath) throw new ModelLoadError(candidates[0]!, 'file is missing (nor is there onnx/model.onnx)');

  const tokFile = path.join(dir, 'tokenizer.json');
  const tokenizerJson = readJson(tokFile, true);
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null || !('model' in tokenizerJson)) {
    throw new ModelLoadError(tokFile, 'not a tokenizers JSON file (no "model" field)');
  }
  const tcFile = path.join(dir, 'tokenizer_config.json');
  const tokenizerConfig = parseWith(tokenizerConfigSchema, readJson(tcFile, false), tcFile);
  const cfgFile = path.join(dir, 'config.json');
  const configJson = parseWith(configJsonSchema, readJson(cfgFile, false), cfgFile);
  const rwFile = path.join(dir, 'reward.json');
  const rw = parseWith(rewardJsonSchema, readJson(rwFile, false), rwFile);

  const id2label = configJson.id2label ?? {};
  const labels = Object.keys(id2label)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => id2label[String(i)]!);
  const maxLength = resolveMaxLength(rw, tokenizerConfig, configJson, limits);
  if (maxLength.tokLimit !== undefined && rw.max_length !== undefined && rw.max_length > maxLength.tokLimit) {
    throw new ModelLoadError(rwFile, `max_length ${rw.max_length} exceeds tokenizer model_max_length ${maxLength.tokLimit}`);
  }
  const chat = readChatTemplate(dir, tokenizerConfig.chat_template, tcFile);
  const chatTemplate = chat?.template ?? null;
  if (rw.input_format === 'chat' && chatTemplate === null) {
    throw new ModelLoadError(rwFile, 'input_format "chat" needs a chat template (chat_template.jinja or tokenizer_config.json chat_template)');
  }
  // Without reward.json, a model with a chat template was trained on chat-rendered text: the
  // HH "Human:/Assistant:" default would feed it text it has never seen.
  const inputFormat = rw.input_format ?? (chatTemplate !== null ? 'chat' : 'template');
  const specials = specialTokens(tokenizerConfig);
  const pad = resolvePadId(dir, rw, configJson, specials, tokenizerJson as Record<string, unknown>);
  const fromReward = (field: keyof typeof rw) => (rw[field] !== undefined ? `reward.json ${field}` : 'built-in default');
  return {
    name: rw.name ?? path.basename(path.resolve(dir)),
    chatTemplate,
    specialTokens: specials,
    dir,
    modelPath,
    weightBytes: weightBytes(modelPath),
    tokenizerJson: tokenizerJson as Record<string, unknown>,
    tokenizerConfig,
    labels,
    padTokenId: pad.value,
    prefixGraphs: rw.prefix_reuse ? prefixGraphs(dir, rwFile, rw.prefix_reuse) : null,
    activationWidth: activationWidth(configJson),
    reward: {
      inputFormat,
      template: rw.template ?? HH_TEMPLATE,
      maxLength: maxLength.value,
      rewardHead: rw.reward_head ?? 0,
      normalization: rw.normalization ?? { mean: 0, std: 1 },
      temperature: rw.temperature ?? 1,
      headWeights: rw.head_weights ?? null,
      outputs: { reward: rw.outputs?.reward ?? 'logits', heads: rw.outputs?.heads ?? null },
      steps: rw.steps ? resolveSteps(rwFile, rw.steps, tokenizerJson as Record<string, unknown>, labels) : null,
    },
    sources: {
      input_format: rw.input_format !== undefined ? 'reward.json input_format' : chat !== null ? chat.source : 'built-in default',
      max_length: maxLength.source,
      pad_token_id: pad.source,
      template: fromReward('template'),
      chat_template: chat?.source ?? 'none',
      reward_head: fromReward('reward_head'),
      normalization: fromReward('normalization'),
      temperature: fromReward('temperature'),
    },
  };
}
