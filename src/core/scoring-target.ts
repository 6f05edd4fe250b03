import { ServiceError } from '../errors.js';
import { needsChat, type InputFormat, type ScoreItem } from '../format/format.js';
import { normalize, rewardsFrom, weightedRewards, weightVector } from '../postprocess/postprocess.js';
import type { TruncationMode } from '../tokenize/token-encoder.js';
import type { ModelRuntime } from './runtime.js';
import type { StageTimings, TokenizedItem } from './scorer.js';

/** What a request may set for one scoring call. */
export interface TargetOptions {
  truncation: TruncationMode;
  /** Overrides the model's input format for `{prompt, response}` items. */
  format?: InputFormat | undefined;
  /** Head weights by name, replacing reward.json's head_weights for this request. */
  weights?: Readonly<Record<string, number>> | undefined;
  /** Return (r − mean) / std with each model's stored statistics. */
  normalize?: boolean | undefined;
  /** Ensembles: k of the conservative reward mean − k·std. */
  k?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Per-member rewards and their spread, for an ensemble. */
export interface EnsembleScores {
  members: Record<string, number[]>;
  std: number[];
  conservative: number[];
  k: number;
}

/** Rewards of one request's items from a model or an ensemble, in request order. */
export interface Scored {
  model: string;
  /** The reward: normalized if asked; for an ensemble, the members' mean. */
  rewards: number[];
  /** Rewards before normalization (equal to `rewards` when not normalizing). */
  raw: number[];
  /** Every head by id2label name, for a model with several heads. */
  heads?: Record<string, number[]>;
  ensemble?: EnsembleScores;
  /** A model's raw output per item, every column (what classification protocols report); not on an ensemble. */
  logits?: number[][];
  /** The config.json id2label name of each output column, null where it has none; with `logits`. */
  labels?: (string | null)[];
  truncated: boolean[];
  tokens: number;
  timings: StageTimings;
}

/** A model or an ensemble that requests can name. */
export interface ScoringTarget {
  readonly name: string;
  /** T of σ((r_a − r_b)/T) and softmax(r/T). */
  readonly temperature: number;
  /** Tokens an item may hold (an ensemble's: its shortest member's). */
  readonly maxLength: number;
  score(items: ScoreItem[], opts: TargetOptions): Promise<Scored>;
  /** What each item renders and tokenizes to for this target's model (POST /tokenize). */
  tokenize(items: ScoreItem[], opts: Pick<TargetOptions, 'truncation' | 'format'>): Promise<TokenizedItem[]>;
}

/** Weight per head from names; a name the model lacks is an error (`where` says whose). */
export function headWeightVector(rt: ModelRuntime, weights: Readonly<Record<string, number>>, where: string): number[] {
  const { vector, unknown } = weightVector(rt.headNames, weights);
  const k = unknown[0];
  if (k !== undefined) throw new ServiceError('invalid_request', `${where}: "${k}" is not a head of model ${rt.folder.name} (heads: ${rt.headNames.join(', ')})`);
  return vector;
}

/** One served model: its pipeline plus the reward postprocessing (heads, weights, normalization). */
export class ModelTarget implements ScoringTarget {
  constructor(readonly runtime: ModelRuntime) {}

  get name(): string {
    return this.runtime.folder.name;
  }

  get temperature(): number {
    return this.runtime.folder.reward.temperature;
  }

  get maxLength(): number {
    return this.runtime.folder.reward.maxLength;
  }

  /** The input format for these items, refusing what the model cannot render before any work. */
  private formatFor(items: ScoreItem[], requested: InputFormat | undefined): InputFormat {
    const rt = this.runtime;
    const format = requested ?? rt.folder.reward.inputFormat;
    if (format === 'pair' && !rt.pairs) throw new ServiceError('invalid_request', `format: the tokenizer of model ${this.name} has no pair template`);
    if (rt.folder.chatTemplate === null) {
      const i = items.findIndex((it) => needsChat(it, format));
      if (i >= 0) throw new ServiceError('no_chat_template', `Item ${i}: model ${this.name} has no chat template (tokenizer_config.json chat_template); send {"prompt", "response"} or {"text"}`);
    }
    return format;
  }

  tokenize(items: ScoreItem[], opts: Pick<TargetOptions, 'truncation' | 'format'>): Promise<TokenizedItem[]> {
    return this.runtime.scorer.explain(items, { truncation: opts.truncation, format: this.formatFor(items, opts.format) });
  }

  async score(items: ScoreItem[], opts: TargetOptions): Promise<Scored> {
    const rt = this.runtime;
    const format = this.formatFor(items, opts.format);
    const weights = opts.weights ? headWeightVector(rt, opts.weights, 'weights') : rt.weights;
    const r = await rt.scorer.score(items, { truncation: opts.truncation, format, signal: opts.signal });
    const raw = weights ? weightedRewards(r.logits, r.numLabels, weights) : rewardsFrom(r.logits, r.numLabels, rt.head);
    const out: Scored = {
      model: this.name,
      rewards: opts.normalize ? normalize(raw, rt.folder.reward.normalization) : raw,
      raw,
      logits: items.map((_, i) => Array.from(r.logits.subarray(i * r.numLabels, (i + 1) * r.numLabels))),
      labels: rt.headNames.map((_, k) => rt.folder.labels[k] ?? null),
      truncated: r.truncated,
      tokens: r.tokens,
      timings: r.timings,
    };
    if (r.numLabels > 1) {
      out.heads = Object.fromEntries(rt.headNames.map((n, k) => [n, rewardsFrom(r.logits, r.numLabels, k)]));
    }
    return out;
  }
}
