/** What batch selection needs to know of a queued item. */
export interface Sized {
  readonly length: number;
}

/**
 * Picks the next batch from a queue in arrival order. The oldest item always goes in, so no
 * item waits behind more than the queue ahead of it (starvation-free); the rest are the items
 * closest to it in length, so padding stays small. Limits: `maxItems`, and `maxTokens`
 * counted as batch size × longest item (what the model really computes). The oldest item
 * goes alone if even it exceeds `maxTokens`.
 * @returns indices into `queue`, the oldest first.
 */
export function selectBatch(queue: readonly Sized[], maxItems: number, maxTokens: number): number[] {
  if (queue.length === 0) return [];
  const anchor = queue[0]!.length;
  const order: number[] = [];
  for (let i = 1; i < queue.length; i++) order.push(i);
  // Stable sort: among equal distances the older item comes first.
  order.sort((a, b) => Math.abs(queue[a]!.length - anchor) - Math.abs(queue[b]!.length - anchor));
  const picked = [0];
  let longest = anchor;
  for (const i of order) {
    if (picked.length >= maxItems) break;
    const len = queue[i]!.length;
    const width = Math.max(longest, len);
    if ((picked.length + 1) * width > maxTokens) continue;
    picked.push(i);
    longest = width;
  }
  return picked;
}
