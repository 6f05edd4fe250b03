import { ServiceError } from '../errors.js';
import { needsChat, type InputFormat, type Message, type ScoreItem } from '../format/format.js';
import type { StepSettings } from '../model/model-folder.js';
import { aggregateSteps, normalize, positiveProbabilities, rewardsFrom, weightedRewards, weightVector } from '../postprocess/postprocess.js';
import type { TruncationMode } from '../tokenize/token-encoder.js';
import type { RewardWatch } from '../watch/reward-watch.js';
import type { ModelRuntime } from './runtime.js';
import type { ScoreResult, StageTimings, TokenizedItem } from './scorer.js';

/** A reasoning answer as its steps, for a process reward model: joined with its step tag as it was trained. */
export interface StepsItem {
  prompt: string | Message[];
  steps: string[];
}

/** An item as requests send it: a ScoreItem, or a prompt and the steps of its response. */
export type RequestItem = ScoreItem | StepsItem;

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
  /** Token-level models: also each response token's reward. */
  tokenRewards?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** A process reward model's step rewards, per item. */
export interface StepScores {
  /** Per item, one entry per step of the whole item; null for a step truncation dropped. */
  rewards: (number | null)[][];
  /** Per item, how many leading steps truncation dropped (their entries are null). */
  dropped: number[];
}

/** One item's response tokens and the reward of each (token-level models, on request). */
export interface TokenRewards {
  tokens: string[];
  rewards: number[];
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
  steps?: StepScores;
  tokenRewards?: TokenRewards[];
  truncated: boolean[];
  /**
   * Tokens of each item as the model read it (prompt and response, special tokens included,
   * after truncation); for an ensemble, its first member's.
   */
  lengths: ArrayLike<number>;
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
  score(items: RequestItem[], opts: TargetOptions): Promise<Scored>;
  /** What each item renders and tokenizes to for this target's model (POST /tokenize). */
  tokenize(items: RequestItem[], opts: Pick<TargetOptions, 'truncation' | 'format'>): Promise<TokenizedItem[]>;
}

/** Whether any string inside `value` (a prompt, a message list) holds `tag`. */
function holds(value: unknown, tag: string): boolean {
  if (typeof value === 'string') return value.includes(tag);
  if (Array.isArray(value)) return value.some((v) => holds(v, tag));
  return typeof value === 'object' && value !== null && Object.values(value).some((v) => holds(v, tag));
}

/**
 * Items as the model reads them: `steps` joined with the model's step suffix and separator. For a
 * process reward model, a step tag anywhere but in the response is refused: it would be scored
 * as a step of the answer.
 */
function toScoreItems(items: RequestItem[], steps: StepSettings | null, model: string): ScoreItem[] {
  return items.map((it, i) => {
    if ('steps' in it && !steps) throw new ServiceError('invalid_request', `items.${i}.steps: model ${model} is not a process reward model (reward.json has no steps)`);
    if (!steps) return it as ScoreItem;
    const prompt = 'messages' in it ? it.messages.slice(0, -1) : 'prompt' in it ? it.prompt : null;
    if (prompt !== null && holds(prompt, steps.tag)) throw new ServiceError('invalid_request', `Item ${i}: the step tag ${JSON.stringify(steps.tag)} appears outside the response; only the response's steps are scored`);
    if (!('steps' in it)) return it;
    const j = it.steps.findIndex((step) => step.includes(steps.tag));
    if (j >= 0) throw new ServiceError('invalid_request', `items.${i}.steps.${j}: a step holds the step tag ${JSON.stringify(steps.tag)}; send the steps without it (the service adds it)`);
    return { prompt: it.prompt, response: it.steps.map((step) => step + steps.suffix).join(steps.separator) };
  });
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
  constructor(
    readonly runtime: ModelRuntime,
    /** The over-optimization watch of this model; none when WATCH is off. */
    private readonly watch?: RewardWatch,
  ) {}

  get name(): string {
    return this.runtime.folder.name;
  }

  get temperature(): number {
    return this.runtime.folder.reward.temperature;
  }

  get maxLength(): number {
    return this.runtime.folder.reward.maxLength;
  }

  /** Step rewards of a process reward model, their combination, and token rewards when asked. */
  private stepScores(items: ScoreItem[], r: ScoreResult): { raw: number[]; steps: StepScores; tokenRewards?: TokenRewards[] } {
    const steps = this.runtime.folder.reward.steps!;
    const pick = steps.positiveLabel ?? 0;
    const raw: number[] = [];
    const out: StepScores = { rewards: [], dropped: [] };
    const tokens: TokenRewards[] = [];
    let at = 0;
    items.forEach((item, i) => {
      const len = r.lengths[i]!;
      const ids = r.ids.subarray(at, at + len);
      at += len;
      const probs = positiveProbabilities(r.positions![i]!, r.width!, pick);
      // With token rewards every position came back; the steps are those holding the tag.
      const kept = r.explained ? probs.filter((_, p) => ids[p] === steps.tagId) : probs;
      const n = r.tags![i]!;
      const m = kept.length;
      if (m > n || (!r.truncated[i] && m !== n)) throw new ServiceError('internal_error', `Item ${i}: ${n} step tags in the text but ${m} in its tokens`);
      // Structured items keep their whole last turn (or are refused); a cut {text} item may have
      // lost the start of its first kept step too, so that step is dropped rather than guessed at.
      const dropped = r.truncated[i] && 'text' in item ? Math.min(n, n - m + 1) : n - m;
      const rewards = Array.from({ length: n }, (_, j) => (j < dropped ? null : kept[j - (n - m)]!));
      const scored = rewards.filter((x) => x !== null);
      if (scored.length === 0) {
        throw new ServiceError('no_steps', n === 0 ? `Item ${i} has no step tag ${JSON.stringify(steps.tag)}: send "steps", or end each step with the tag` : `Item ${i}: truncation to max_length dropped all ${n} steps`);
      }
      raw.push(aggregateSteps(scored, steps.aggregate));
      out.rewards.push(rewards);
      out.dropped.push(dropped);
      if (r.explained) {
        const start = r.explained[i]!.responseStart;
        tokens.push({ tokens: r.explained[i]!.tokens.slice(start), rewards: probs.slice(start) });
      }
    });
    return { raw, steps: out, ...(r.explained && { tokenRewards: tokens }) };
  }

  /** The input format for these items, refusing what the model cannot render before any work. */
  private formatFor(items: ScoreItem[], requested: InputFormat | undefined): InputFormat {
    const rt = this.runtime;
    const format = requested ?? rt.folder.reward.inputFormat;
    if (format === 'pair' && !rt.pairs) throw new ServiceError('invalid_request', `format: the tokenizer of model ${this.name} has no pair template`);
    if (rt.folder.chatTemplate === null) {
      const i = items.findIndex((it) => needsChat(it, format));
      if (i >= 0) throw new ServiceError('no_chat_template', `Item ${i}: model ${this.name} has no chat template (chat_template.jinja or tokenizer_config.json chat_template); send {"prompt", "response"} or {"text"}`);
    }
    return format;
  }

  tokenize(requested: RequestItem[], opts: Pick<TargetOptions, 'truncation' | 'format'>): Promise<TokenizedItem[]> {
    const items = toScoreItems(requested, this.runtime.folder.reward.steps, this.name);
    return this.runtime.scorer.explain(items, { truncation: opts.truncation, format: this.formatFor(items, opts.format) });
  }

  async score(requested: RequestItem[], opts: TargetOptions): Promise<Scored> {
    const rt = this.runtime;
    const items = toScoreItems(requested, rt.folder.reward.steps, this.name);
    const format = this.formatFor(items, opts.format);
    if (opts.tokenRewards && !rt.tokenLevel) throw new ServiceError('invalid_request', `return_token_rewards: model ${this.name} gives one reward per item, not per token`);
    const weights = opts.weights ? headWeightVector(rt, opts.weights, 'weights') : rt.weights;
    const r = await rt.scorer.score(items, { truncation: opts.truncation, format, signal: opts.signal, tokenRewards: opts.tokenRewards === true });
    const stepped = rt.tokenLevel ? this.stepScores(items, r) : null;
    // A multi-objective model's weights apply to its heads (objectives); its reward is otherwise the reward output.
    const matrix = r.heads ?? r.logits;
    const k = r.heads ? r.numHeads! : r.numLabels;
    const raw = stepped ? stepped.raw : weights ? weightedRewards(matrix, k, weights) : rewardsFrom(r.logits, r.numLabels, rt.head);
    const out: Scored = {
      model: this.name,
      rewards: opts.normalize ? normalize(raw, rt.folder.reward.normalization) : raw,
      raw,
      logits: items.map((_, i) => Array.from(r.logits.subarray(i * r.numLabels, (i + 1) * r.numLabels))),
      labels: rt.headNames.map((_, k) => rt.folder.labels[k] ?? null),
      truncated: r.truncated,
      lengths: r.lengths,
      tokens: r.tokens,
      timings: r.timings,
    };
    if (!stepped && (k > 1 || r.heads)) {
      out.heads = Object.fromEntries(rt.headNames.map((n, j) => [n, rewardsFrom(matrix, k, j)]));
    }
    if (stepped) {
      out.steps = stepped.steps;
      if (stepped.tokenRewards) out.tokenRewards = stepped.tokenRewards;
    }
    this.watch?.record(raw, r.lengths);
    return out;
  }
}
