// A request's signal already travels through every stage; its deadline travels with it, so that
// admission can refuse at once a `timeout_ms` the queue ahead cannot meet.
const deadlines = new WeakMap<AbortSignal, number>();

/** Records that `signal` aborts at `at` (performance.now() milliseconds). */
export function setDeadline(signal: AbortSignal, at: number): void {
  deadlines.set(signal, at);
}

/** Milliseconds left before `signal`'s deadline, or undefined when it has none. */
export function msLeft(signal: AbortSignal | undefined, now: number): number | undefined {
  const at = signal && deadlines.get(signal);
  return at === undefined ? undefined : at - now;
}
