/** What batch selection needs to know of a queued item. */
export interface Queued {
  readonly length: number;
  /** performance.now() when it was queued. */
  readonly enqueuedAt: number;
}

/** Limits of one batch, and the starvation bound. */
export interface SelectLimits {
  maxItems: number;
  /** Counted as batch size × longest item: what the model really computes. */
  maxTokens: number;
  /** An item queued this long goes in the next batch, whatever the packing. */
  deadlineMs: number;
  /**
   * Least real / computed tokens a batch may have when the queue cannot fill a whole one: items
   * that would pad it more wait for a later batch of their own length. 0 = no floor.
   */
  minEfficiency: number;
}

/** Items a batch whose longest item has `length` tokens can hold. */
const capacity = (length: number, l: SelectLimits) => Math.max(1, Math.min(l.maxItems, Math.floor(l.maxTokens / length)));

/**
 * The oldest item and the items nearest its length, as many as the limits and the efficiency
 * floor allow. The oldest goes alone if even it exceeds the token budget.
 */
function aroundOldest(queue: readonly Queued[], l: SelectLimits): number[] {
  const anchor = queue[0]!.length;
  const order: number[] = [];
  for (let i = 1; i < queue.length; i++) order.push(i);
  // Stable sort: among equal distances the older item comes first.
  order.sort((a, b) => Math.abs(queue[a]!.length - anchor) - Math.abs(queue[b]!.length - anchor));
  const picked = [0];
  let longest = anchor;
  let real = anchor;
  for (const i of order) {
    if (picked.length >= l.maxItems) break;
    const length = queue[i]!.length;
    const width = Math.max(longest, length);
    const computed = (picked.length + 1) * width;
    if (computed > l.maxTokens || real + length < l.minEfficiency * computed) continue;
    picked.push(i);
    longest = width;
    real += length;
  }
  return picked;
}

/**
 * Picks the next batch from a queue in arrival order.
 * - If the oldest item has waited `deadlineMs`, it goes now, with the items nearest its length
 *   (starvation-free: overdue items leave in arrival order).
 * - Otherwise, among the full batches of items adjacent in length, the one with the least
 *   padding (real tokens / computed tokens) goes. A queue too small to fill a batch (or whose
 *   best full batch is below `minEfficiency`) goes as much as fits around the oldest item:
 *   on CPU a batch costs its computed tokens whatever its size, so a small batch of like
 *   lengths beats a padded one, and the items left out group with their own kind next.
 * @returns indices into `queue`.
 */
export function selectBatch(queue: readonly Queued[], limits: SelectLimits, now: number): number[] {
  if (queue.length === 0) return [];
  if (now - queue[0]!.enqueuedAt >= limits.deadlineMs) return aroundOldest(queue, limits);
  const order = queue.map((_, i) => i).sort((a, b) => queue[a]!.length - queue[b]!.length);
  const prefix = new Float64Array(order.length + 1);
  order.forEach((i, k) => (prefix[k + 1] = prefix[k]! + queue[i]!.length));
  let best = -1;
  let bestCount = 0;
  let bestEfficiency = -1;
  for (let j = 0; j < order.length; j++) {
    const longest = queue[order[j]!]!.length;
    const count = capacity(longest, limits);
    if (count > j + 1) continue; // not enough shorter items to fill this batch
    const efficiency = (prefix[j + 1]! - prefix[j + 1 - count]!) / (count * longest);
    if (efficiency > bestEfficiency) {
      best = j;
      bestCount = count;
      bestEfficiency = efficiency;
    }
  }
  if (best < 0 || bestEfficiency < limits.minEfficiency) return aroundOldest(queue, limits);
  return order.slice(best + 1 - bestCount, best + 1);
}
