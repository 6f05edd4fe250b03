/**
 * The over-optimization watch: per served model (or ensemble), a sliding window of the last N
 * items' rewards, lengths and (ensembles) member disagreement, plus cumulative histograms. RL
 * policies that exploit a reward model push its rewards away from the training distribution,
 * make them track response length, and make ensemble members disagree; these figures show it.
 *
 * Recording is O(1) per item (a ring buffer and running sums, a bucket search); quantiles,
 * Spearman's rank correlation and the histogram of the window are computed when read.
 */

/** The raw reward's distribution on the model's training data (reward.json `normalization`). */
export interface TrainingStats {
  readonly mean: number;
  readonly std: number;
}

/** WATCH_* settings. */
export interface WatchSettings {
  /** Items in the sliding window (WATCH_WINDOW). */
  readonly window: number;
  /** Histogram bucket bounds in training std units around the training mean (WATCH_BUCKETS), ascending. */
  readonly buckets: readonly number[];
}

/** Upper bounds of the ensemble disagreement histogram (members' std per item, reward units). */
export const DISAGREEMENT_BUCKETS: readonly number[] = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5];

/** Beyond this many training std an item counts as out of distribution. */
export const BEYOND_STD = 3;

/** Most recent (reward, length) points /v1/stats returns, for a scatter plot. */
const RECENT_POINTS = 256;

/** One histogram's counts per bucket: `counts[i]` holds the items in (bounds[i − 1], bounds[i]], the last one those above every bound. */
export interface BucketCounts {
  /** Upper bounds, ascending (without +Inf). */
  readonly bounds: readonly number[];
  /** Items per bucket, the last one above every bound (non-cumulative). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

function buckets(bounds: readonly number[]): BucketCounts {
  return { bounds, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
}

/** Index of the first bound ≥ v (bounds.length when above all): binary search. */
function bucketOf(bounds: readonly number[], v: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function observe(h: BucketCounts, i: number, v: number): void {
  h.counts[i]! += 1;
  h.sum += v;
  h.count += 1;
}

/** Pearson correlation from sums; null when either side is constant or there are under 3 points. */
function pearsonFromSums(n: number, sx: number, sy: number, sxx: number, syy: number, sxy: number): number | null {
  if (n < 3) return null;
  const vx = n * sxx - sx * sx;
  const vy = n * syy - sy * sy;
  if (!(vx > 1e-12 * n * n) || !(vy > 1e-12 * n * n)) return null;
  return Math.max(-1, Math.min(1, (n * sxy - sx * sy) / Math.sqrt(vx * vy)));
}

/** Ranks 1..n, ties given their average rank. */
function ranks(values: Float64Array): Float64Array {
  const order = Array.from(values.keys()).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]!] = r;
    i = j + 1;
  }
  return out;
}

function pearson(x: Float64Array, y: Float64Array): number | null {
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < x.length; i++) {
    sx += x[i]!;
    sy += y[i]!;
    sxx += x[i]! * x[i]!;
    syy += y[i]! * y[i]!;
    sxy += x[i]! * y[i]!;
  }
  return pearsonFromSums(x.length, sx, sy, sxx, syy, sxy);
}

/** The q-quantile of sorted values, linearly interpolated (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

const round = (v: number | null) => (v === null || !Number.isFinite(v) ? null : Math.round(v * 1e6) / 1e6);

/** What GET /v1/stats answers for one model or ensemble (field names as on the wire). */
export interface WatchStats {
  model: string;
  kind: 'model' | 'ensemble';
  /** WATCH_WINDOW: the window's capacity. */
  window: number;
  /** Items in the window now. */
  count: number;
  /** Items recorded since the start. */
  total: number;
  /** Raw rewards of the window. */
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  quantiles: { p05: number; p25: number; p50: number; p75: number; p95: number } | null;
  /** reward.json normalization; null when the model has none (no drift figures then). */
  training: TrainingStats | null;
  /** (window mean − training mean) / training std. */
  drift_std: number | null;
  /** Share of the window's items beyond ±3 training std of the training mean. */
  beyond_3std: number | null;
  /** Correlation of reward with the item's length in tokens over the window. */
  length: { mean: number | null; pearson: number | null; spearman: number | null };
  /** Ensembles: the members' std per item over the window. */
  disagreement: { mean: number | null; p50: number | null; p95: number | null } | null;
  /** The window's rewards in the buckets of reward_watch_reward (edges in reward units; counts has one more, above the last edge). */
  histogram: { edges: number[]; counts: number[] } | null;
  /** The last items' rewards and lengths, oldest first. */
  recent: { rewards: number[]; lengths: number[] };
}

/** The watch of one model or ensemble. */
export class RewardWatch {
  private readonly rewards: Float64Array;
  private readonly lengths: Float64Array;
  private readonly spreads: Float64Array | null;
  private readonly beyond: Uint8Array;
  private head = 0;
  private n = 0;
  private total = 0;
  private sinceExact = 0;
  // Running sums over the window.
  private sr = 0;
  private srr = 0;
  private sl = 0;
  private sll = 0;
  private srl = 0;
  private ss = 0;
  private outside = 0;
  /** Raw rewards in buckets at training mean + k·std (null without training stats). */
  readonly raw: BucketCounts | null;
  /** Normalized rewards in buckets at k (the same bucket index as `raw`). */
  readonly normalized: BucketCounts | null;
  /** Ensembles: the members' std per item. */
  readonly disagreement: BucketCounts | null;

  constructor(
    readonly model: string,
    readonly kind: 'model' | 'ensemble',
    /** Null when the model states no training distribution. */
    readonly training: TrainingStats | null,
    private readonly settings: WatchSettings,
  ) {
    const w = settings.window;
    this.rewards = new Float64Array(w);
    this.lengths = new Float64Array(w);
    this.beyond = new Uint8Array(w);
    this.spreads = kind === 'ensemble' ? new Float64Array(w) : null;
    this.raw = training ? buckets(settings.buckets.map((k) => round(training.mean + k * training.std)!)) : null;
    this.normalized = training ? buckets(settings.buckets) : null;
    this.disagreement = kind === 'ensemble' ? buckets(DISAGREEMENT_BUCKETS) : null;
  }

  /** Items in the window now. */
  get count(): number {
    return this.n;
  }

  /**
   * Records one request's items: raw rewards, lengths in tokens, and for an ensemble each
   * item's members' std.
   */
  record(rewards: ArrayLike<number>, lengths: ArrayLike<number>, spreads?: ArrayLike<number>): void {
    const t = this.training;
    for (let i = 0; i < rewards.length; i++) {
      const r = rewards[i]!;
      const l = lengths[i]!;
      if (!Number.isFinite(r)) continue;
      const s = spreads?.[i] ?? 0;
      const out = t !== null && Math.abs(r - t.mean) > BEYOND_STD * t.std ? 1 : 0;
      const at = this.head;
      if (this.n === this.rewards.length) {
        const or = this.rewards[at]!;
        const ol = this.lengths[at]!;
        this.sr -= or;
        this.srr -= or * or;
        this.sl -= ol;
        this.sll -= ol * ol;
        this.srl -= or * ol;
        if (this.spreads) this.ss -= this.spreads[at]!;
        this.outside -= this.beyond[at]!;
      } else {
        this.n++;
      }
      this.rewards[at] = r;
      this.lengths[at] = l;
      this.beyond[at] = out;
      if (this.spreads) this.spreads[at] = s;
      this.sr += r;
      this.srr += r * r;
      this.sl += l;
      this.sll += l * l;
      this.srl += r * l;
      this.ss += s;
      this.outside += out;
      this.head = (at + 1) % this.rewards.length;
      this.total++;
      if (t !== null) {
        const z = (r - t.mean) / t.std;
        const b = bucketOf(this.normalized!.bounds, z);
        observe(this.raw!, b, r);
        observe(this.normalized!, b, z);
      }
      if (this.disagreement) observe(this.disagreement, bucketOf(this.disagreement.bounds, s), s);
      // Running sums drift by rounding as values come and go: recompute them once per window.
      if (++this.sinceExact >= this.rewards.length) this.resum();
    }
  }

  private resum(): void {
    this.sinceExact = 0;
    this.sr = this.srr = this.sl = this.sll = this.srl = this.ss = 0;
    for (let i = 0; i < this.n; i++) {
      const r = this.rewards[i]!;
      const l = this.lengths[i]!;
      this.sr += r;
      this.srr += r * r;
      this.sl += l;
      this.sll += l * l;
      this.srl += r * l;
      if (this.spreads) this.ss += this.spreads[i]!;
    }
  }

  /** Mean raw reward of the window. */
  mean(): number | null {
    return this.n > 0 ? this.sr / this.n : null;
  }

  /** Standard deviation of the window's raw rewards. */
  std(): number | null {
    if (this.n < 2) return null;
    const m = this.sr / this.n;
    return Math.sqrt(Math.max(0, this.srr / this.n - m * m));
  }

  /** (window mean − training mean) / training std. */
  driftStd(): number | null {
    const m = this.mean();
    return m === null || !this.training ? null : (m - this.training.mean) / this.training.std;
  }

  /** Share of the window beyond ±3 training std. */
  beyondShare(): number | null {
    return this.n > 0 && this.training ? this.outside / this.n : null;
  }

  /** Pearson correlation of reward and length over the window, from the running sums. */
  lengthPearson(): number | null {
    return pearsonFromSums(this.n, this.sr, this.sl, this.srr, this.sll, this.srl);
  }

  /** Spearman rank correlation of reward and length over the window (O(N log N), at read time). */
  lengthSpearman(): number | null {
    if (this.n < 3) return null;
    const [r, l] = this.window();
    return pearson(ranks(r), ranks(l));
  }

  /** Ensembles: the mean of the members' std over the window. */
  disagreementMean(): number | null {
    return this.spreads && this.n > 0 ? this.ss / this.n : null;
  }

  /** The window's rewards, lengths and spreads, oldest first. */
  private window(): [Float64Array, Float64Array, Float64Array | null] {
    const cap = this.rewards.length;
    const start = this.n < cap ? 0 : this.head;
    const pick = (a: Float64Array) => {
      const out = new Float64Array(this.n);
      for (let i = 0; i < this.n; i++) out[i] = a[(start + i) % cap]!;
      return out;
    };
    return [pick(this.rewards), pick(this.lengths), this.spreads ? pick(this.spreads) : null];
  }

  /** The window figures, for GET /v1/stats. */
  stats(): WatchStats {
    const [r, l, s] = this.window();
    const sorted = r.slice().sort();
    const has = this.n > 0;
    let histogram: WatchStats['histogram'] = null;
    if (this.raw) {
      const counts = new Array<number>(this.raw.bounds.length + 1).fill(0);
      for (const v of r) counts[bucketOf(this.raw.bounds, v)]! += 1;
      histogram = { edges: this.raw.bounds.map((e) => round(e)!), counts };
    }
    let disagreement: WatchStats['disagreement'] = null;
    if (s) {
      const ss = s.slice().sort();
      disagreement = { mean: round(this.disagreementMean()), p50: has ? round(quantile(ss, 0.5)) : null, p95: has ? round(quantile(ss, 0.95)) : null };
    }
    const from = Math.max(0, this.n - RECENT_POINTS);
    return {
      model: this.model,
      kind: this.kind,
      window: this.rewards.length,
      count: this.n,
      total: this.total,
      mean: round(this.mean()),
      std: round(this.std()),
      min: has ? round(sorted[0]!) : null,
      max: has ? round(sorted[this.n - 1]!) : null,
      quantiles: has
        ? { p05: round(quantile(sorted, 0.05))!, p25: round(quantile(sorted, 0.25))!, p50: round(quantile(sorted, 0.5))!, p75: round(quantile(sorted, 0.75))!, p95: round(quantile(sorted, 0.95))! }
        : null,
      training: this.training,
      drift_std: round(this.driftStd()),
      beyond_3std: round(this.beyondShare()),
      length: { mean: has ? round(this.sl / this.n) : null, pearson: round(this.lengthPearson()), spearman: round(this.lengthSpearman()) },
      disagreement,
      histogram,
      recent: { rewards: Array.from(r.subarray(from), (v) => round(v)!), lengths: Array.from(l.subarray(from)) },
    };
  }
}
