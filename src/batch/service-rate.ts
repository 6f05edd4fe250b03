/** Busy time a rate sample spans at least: shorter spans are noise. */
const SAMPLE_MS = 1000;
/** Weight of a new sample in the moving average: a rate that falls under load is followed within a few samples. */
const ALPHA = 0.5;

/**
 * Items inference completes per second while it has work, as a moving average. Only busy time
 * counts (while items wait for inference or run), so a lightly loaded service is not mistaken
 * for a slow one; at saturation it is the rate the inference queue drains at.
 */
export class ServiceRate {
  private busySince: number | null = null;
  private busyMs = 0;
  private done = 0;
  private mark = { busyMs: 0, done: 0 };
  private average: number | null = null;

  /** Whether there is work now; only changes of state matter. */
  setBusy(busy: boolean, now: number): void {
    if (busy && this.busySince === null) this.busySince = now;
    else if (!busy && this.busySince !== null) {
      this.busyMs += now - this.busySince;
      this.busySince = null;
    }
  }

  /** `items` finished inference. */
  completed(items: number, now: number): void {
    this.done += items;
    const busy = this.busyMs + (this.busySince === null ? 0 : now - this.busySince);
    const span = busy - this.mark.busyMs;
    if (span < SAMPLE_MS) return;
    const sample = ((this.done - this.mark.done) * 1000) / span;
    this.average = this.average === null ? sample : (1 - ALPHA) * this.average + ALPHA * sample;
    this.mark = { busyMs: busy, done: this.done };
  }

  /** Items per second, or null until enough busy time was seen. */
  get perSecond(): number | null {
    return this.average;
  }
}
