/** The p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** A figure measured several times: its median and spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** The median (the mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median, min and max of repeated runs (NaN runs, e.g. a failed probe, are left out). */
export function spread(runs: readonly number[]): Spread {
  const ok = runs.filter((x) => Number.isFinite(x));
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), runs: [...runs] };
}

/** One Spread per numeric field of repeated records, e.g. spreadOf(runs, ['itemsPerSecond']). */
export function spreadOf<T, K extends keyof T>(runs: readonly T[], keys: readonly K[]): Record<K, Spread> {
  return Object.fromEntries(keys.map((k) => [k, spread(runs.map((r) => Number(r[k])))])) as Record<K, Spread>;
}

/** Runs `fn` `n` times in sequence (never in parallel: they would share the cores). */
export async function repeat<T>(n: number, fn: (run: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sum of a list. */
export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
