import { ServiceError } from '../errors.js';
import { ensembleStats } from '../postprocess/postprocess.js';
import type { RewardWatch } from '../watch/reward-watch.js';
import type { TokenizedItem } from './scorer.js';
import type { ModelTarget, RequestItem, Scored, ScoringTarget, TargetOptions } from './scoring-target.js';

/**
 * A named group of served models. Its reward is the members' mean; the reply also carries their
 * standard deviation and the conservative reward mean − k·std (a standard guard against reward
 * over-optimization). Members score in parallel, each on its own workers and batcher, so an
 * ensemble takes as long as its slowest member.
 */
export class Ensemble implements ScoringTarget {
  constructor(
    readonly name: string,
    readonly members: readonly ModelTarget[],
    /** k used when a request does not set one (ENSEMBLE_K). */
    readonly k: number,
    /** The over-optimization watch of this ensemble (its mean reward and members' std); none when WATCH is off. */
    private readonly watch?: RewardWatch,
  ) {}

  /** The first member's temperature. */
  get temperature(): number {
    return this.members[0]!.temperature;
  }

  get maxLength(): number {
    return Math.min(...this.members.map((m) => m.maxLength));
  }

  /** Members may tokenize differently: ask one of them. */
  tokenize(): Promise<TokenizedItem[]> {
    const names = this.members.map((m) => m.name).join(', ');
    return Promise.reject(new ServiceError('invalid_request', `model: ${this.name} is an ensemble; /tokenize takes one of its members (${names})`));
  }

  async score(items: RequestItem[], opts: TargetOptions): Promise<Scored> {
    const results = await Promise.all(this.members.map((m) => m.score(items, opts)));
    const k = opts.k ?? this.k;
    const stats = ensembleStats(results.map((r) => r.rewards), k);
    const rawStats = ensembleStats(results.map((r) => r.raw), k);
    const raw = rawStats.mean;
    // Disagreement in raw reward units, whatever the request's normalize.
    this.watch?.record(raw, results[0]!.lengths, rawStats.std);
    return {
      model: this.name,
      rewards: stats.mean,
      raw,
      ensemble: { members: Object.fromEntries(results.map((r) => [r.model, r.rewards])), std: stats.std, conservative: stats.conservative, k },
      truncated: items.map((_, i) => results.some((r) => r.truncated[i])),
      lengths: results[0]!.lengths,
      tokens: results.reduce((a, r) => a + r.tokens, 0),
      timings: {
        tokenizeMs: Math.max(...results.map((r) => r.timings.tokenizeMs)),
        queueMs: Math.max(...results.map((r) => r.timings.queueMs)),
        inferenceMs: Math.max(...results.map((r) => r.timings.inferenceMs)),
      },
    };
  }
}
