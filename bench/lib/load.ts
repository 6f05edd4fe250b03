import type { HhItem } from '../hh-data.js';
import { LoadClient } from './http-client.js';
import { sleep } from './stats.js';

/** A closed-loop load: `clients` loops, each POSTing the next body as soon as its last answer is in. */
export interface LoadOptions {
  base: string;
  route?: string;
  /** Pre-serialized request bodies, sent round-robin (serializing per request would load the client). */
  bodies: readonly string[];
  itemsPerBody: number;
  /** Tokens of each body's items (same order as `bodies`), to count tokens answered; see `bodyTokens`. */
  tokensPerBody?: readonly number[];
  clients: number;
  /** Seconds measured (after `warmSeconds`). */
  seconds: number;
  /**
   * Seconds of load before the measured window: answers that arrive in it are not counted. A
   * closed loop of c clients reaches its steady queue only after a round (c items answered).
   */
  warmSeconds?: number;
  /**
   * At the end, close the connections instead of waiting for the answers in flight, and count
   * only answers inside the window: at a few items/s a deep queue would take another round to drain.
   */
  cutAtEnd?: boolean;
  /** Probe GET /health/live this often while loading (ms); 0 = not at all. */
  healthEveryMs?: number;
  /** Called this often while loading (ms), e.g. to sample RSS. */
  sample?: { everyMs: number; fn: () => void };
  /** Called when the measured window opens and when it closes (before a cut), e.g. to read a server counter. */
  atWindow?: (edge: 'start' | 'end') => Promise<void>;
}

/** What one load run measured, from the client's side. */
export interface LoadResult {
  seconds: number;
  items: number;
  requests: number;
  /** Answers other than 200 (e.g. 429); their items are not counted. */
  errors: number;
  /** `errors` by status. */
  statuses: Record<number, number>;
  itemsPerSecond: number;
  /** Tokens of the items answered 200 in the window, per second; NaN without `tokensPerBody`. */
  tokensPerSecond: number;
  /** Indices in `bodies` of the requests answered 200 in the window (a body sent twice appears twice). */
  answered: number[];
  /** Per-request latency, ms. */
  latencies: number[];
  /** /health/live latency, ms. */
  health: number[];
  /**
   * With `cutAtEnd`: age of the oldest request unanswered at the cut, ms (0 if none). A request
   * starved past the window is in no latency; this shows it.
   */
  oldestUnansweredMs: number;
}

/** `/score` bodies of `perRequest` items each, cycling through `items`. */
export function scoreBodies(items: readonly HhItem[], perRequest: number, count = Math.ceil(items.length / perRequest)): string[] {
  return bodiesOf(items, perRequest, count).map((b) => JSON.stringify({ items: b }));
}

/** Tokens of each body of `scoreBodies(items, perRequest, count)`, given each item's token count. */
export function bodyTokens(tokens: readonly number[], perRequest: number, count = Math.ceil(tokens.length / perRequest)): number[] {
  return bodiesOf(tokens, perRequest, count).map((b) => b.reduce((a, t) => a + t, 0));
}

function bodiesOf<T>(xs: readonly T[], perRequest: number, count: number): T[][] {
  return Array.from({ length: count }, (_, b) => bodyItems(xs, perRequest, b));
}

/** The elements of `xs` that body `b` of `scoreBodies(xs, perRequest)` holds. */
export function bodyItems<T>(xs: readonly T[], perRequest: number, b: number): T[] {
  return Array.from({ length: perRequest }, (_, i) => xs[(b * perRequest + i) % xs.length]!);
}

/** The elements of `xs` behind every answer of `r`, a load of `scoreBodies(xs, perRequest)` bodies. */
export function answeredItems<T>(r: Pick<LoadResult, 'answered'>, xs: readonly T[], perRequest: number): T[] {
  return r.answered.flatMap((b) => bodyItems(xs, perRequest, b));
}

/**
 * Warm-up and window of a closed loop of `itemsPerRound` items (clients × items per request) at
 * about `rate` items/s: one round of warm-up (the queue reaches its steady depth only once every
 * client has been answered), then a window of at least two rounds and `minSeconds`; a round is
 * capped at `roundCap` seconds so that a run ends even if a server all but stalls.
 */
export function loadWindow(itemsPerRound: number, rate: number, minSeconds: number, roundCap: number): { warmSeconds: number; seconds: number } {
  const round = Math.min(roundCap, itemsPerRound / rate);
  return { warmSeconds: Math.max(WARM_SECONDS, round), seconds: Math.max(minSeconds, 2 * round) };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const route = o.route ?? '/score';
  const http = new LoadClient(o.base);
  let next = 0;
  let items = 0;
  let tokens = 0;
  let errors = 0;
  const statuses: Record<number, number> = {};
  const latencies: number[] = [];
  const answered: number[] = [];
  const health: number[] = [];
  const from = performance.now() + (o.warmSeconds ?? 0) * 1000;
  const end = from + o.seconds * 1000;
  // A timer may fire a little before performance.now() reaches `end`: the flag, not the clock, says it was cut.
  let cutDone = false;
  let oldestUnansweredMs = 0;
  // When each client's request in flight was sent (NaN: none).
  const sentAt = new Array<number>(o.clients).fill(NaN);
  const edges: Promise<void>[] = [];
  const opened = o.atWindow && setTimeout(() => edges.push(o.atWindow!('start')), from - performance.now());
  const cut = o.cutAtEnd
    ? setTimeout(() => {
        if (o.atWindow) edges.push(o.atWindow('end'));
        cutDone = true;
        const oldest = Math.min(...sentAt.filter((t) => !Number.isNaN(t)));
        if (Number.isFinite(oldest)) oldestUnansweredMs = performance.now() - oldest;
        http.close();
      }, end - performance.now())
    : undefined;
  const client = async (_: unknown, c: number) => {
    while (performance.now() < end && !cutDone) {
      const b = next++ % o.bodies.length;
      const body = o.bodies[b]!;
      const s = (sentAt[c] = performance.now());
      let status: number;
      try {
        status = await http.request('POST', route, body);
      } catch (err) {
        if (cutDone) return; // cut on purpose
        throw err;
      } finally {
        sentAt[c] = NaN;
      }
      const done = performance.now();
      if (done < from || cutDone) continue;
      latencies.push(done - s);
      if (status === 200) {
        answered.push(b);
        items += o.itemsPerBody;
        tokens += o.tokensPerBody?.[b] ?? NaN;
      } else {
        errors++;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }
  };
  const every = async (ms: number, fn: () => Promise<void> | void) => {
    while (performance.now() < end) {
      await fn();
      await sleep(ms);
    }
  };
  const side: Promise<void>[] = [];
  if (o.healthEveryMs) {
    side.push(
      every(o.healthEveryMs, async () => {
        const s = performance.now();
        await http.request('GET', '/health/live');
        health.push(performance.now() - s);
      }),
    );
  }
  if (o.sample) side.push(every(o.sample.everyMs, o.sample.fn));
  await Promise.all([...Array.from({ length: o.clients }, client), ...side]);
  clearTimeout(cut);
  clearTimeout(opened);
  if (o.atWindow && !o.cutAtEnd) edges.push(o.atWindow('end'));
  await Promise.all(edges);
  http.close();
  const seconds = ((o.cutAtEnd ? end : performance.now()) - from) / 1000;
  return { seconds, items, requests: latencies.length, errors, statuses, itemsPerSecond: items / seconds, tokensPerSecond: tokens / seconds, answered, latencies, health, oldestUnansweredMs };
}

/** Seconds of warm-up load before a server's first measured run. */
export const WARM_SECONDS = 4;

/**
 * Load like the measured runs', for `seconds`, results dropped: a fresh server's first seconds
 * at saturation run slower (JIT, ONNX Runtime's first allocations at each batch shape), which
 * would otherwise land in the first repeat.
 */
export async function warmLoad(o: Omit<LoadOptions, 'healthEveryMs' | 'sample'>): Promise<void> {
  await runLoad(o);
}

/** A few requests first, so the measured run does not pay for connection setup and JIT. */
export async function warmUp(base: string, bodies: readonly string[], n = 4): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${base}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i % bodies.length]! });
    if (r.status !== 200) throw new Error(`warm-up /score answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
    await r.arrayBuffer();
  }
}
