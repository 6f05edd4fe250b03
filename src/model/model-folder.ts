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

const rewardJsonSchema = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  input_format: z.enum(['template', 'chat', 'pair']).default('template'),
  template: z
    .string()
    .refine((t) => t.split('{prompt}').length === 2 && t.split('{response}').length === 2, 'must contain {prompt} and {response} once each')
    .refine((t) => t.indexOf('{prompt}') < t.indexOf('{response}'), '{prompt} must come before {response}')
    .default(HH_TEMPLATE),
  max_length: z.number().int().min(8).max(1_048_576).optional(),
  reward_head: z.union([z.number().int().min(0), z.string().min(1)]).default(0),
  normalization: z.strictObject({ mean: z.number(), std: z.number().positive() }).default({ mean: 0, std: 1 }),
  temperature: z.number().positive().default(1),
  head_weights: z.record(z.string().min(1), z.number()).optional(),
});

const tokenizerConfigSchema = z.looseObject({
  model_max_length: z.number().optional(),
  pad_token: z.union([z.string(), z.looseObject({ content: z.string() })]).nullish(),
  chat_template: z.unknown().optional(),
});

const configJsonSchema = z.looseObject({
  id2label: z.record(z.string(), z.string()).optional(),
  pad_token_id: z.number().int().min(0).nullish(),
});

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
}

/** Everything read from a model folder, validated; the ONNX file itself is opened by the backend. */
export interface ModelFolder {
  readonly name: string;
  readonly dir: string;
  readonly modelPath: string;
  readonly tokenizerJson: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
  /** Head names from config.json id2label, by index; empty when absent. */
  readonly labels: readonly string[];
  /** pad_token_id from config.json, if it names one (else the tokenizer's pad token is used). */
  readonly padTokenId: number | null;
  /** tokenizer_config.json's chat_template (the "default" one of a list), if any. */
  readonly chatTemplate: string | null;
  /** Special-token strings of tokenizer_config.json (bos_token, …), for the chat template. */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly reward: RewardSettings;
}

const DEFAULT_MAX_LENGTH = 512;

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

/**
 * Read and validate a model folder in the Hugging Face / optimum export layout
 * (`model.onnx` or `onnx/model.onnx`, `tokenizer.json`, optional `tokenizer_config.json`,
 * `config.json` and our `reward.json`).
 * @throws ModelLoadError naming the file and the problem.
 */
export function readModelFolder(dir: string): ModelFolder {
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
  // Tokenizers store "no limit" as a huge sentinel (1e30); only a sane value bounds max_length.
  const tokMax = tokenizerConfig.model_max_length;
  const tokLimit = typeof tokMax === 'number' && tokMax > 0 && tokMax <= 1_048_576 ? tokMax : undefined;
  const maxLength = rw.max_length ?? tokLimit ?? DEFAULT_MAX_LENGTH;
  if (tokLimit !== undefined && maxLength > tokLimit) {
    throw new ModelLoadError(rwFile, `max_length ${maxLength} exceeds tokenizer model_max_length ${tokLimit}`);
  }
  const chatTemplate = pickChatTemplate(tokenizerConfig.chat_template, tcFile);
  if (rw.input_format === 'chat' && chatTemplate === null) {
    throw new ModelLoadError(rwFile, 'input_format "chat" needs a chat_template in tokenizer_config.json');
  }
  return {
    name: rw.name ?? path.basename(path.resolve(dir)),
    chatTemplate,
    specialTokens: specialTokens(tokenizerConfig),
    dir,
    modelPath,
    tokenizerJson: tokenizerJson as Record<string, unknown>,
    tokenizerConfig,
    labels,
    padTokenId: configJson.pad_token_id ?? null,
    reward: {
      inputFormat: rw.input_format,
      template: rw.template,
      maxLength,
      rewardHead: rw.reward_head,
      normalization: rw.normalization,
      temperature: rw.temperature,
      headWeights: rw.head_weights ?? null,
    },
  };
}
