// Request bodies an attacker would send to make one request cost the main thread seconds:
// each fits under the body limit and is refused, but only after the server read it.

/** `/get_reward` with `labels` an array nested as deep as `bytes` allows: `[[[[…]]]]`. */
export function deepLabels(bytes: number): string {
  const head = '{"query":["a"],"labels":[';
  const tail = ']}';
  const depth = Math.max(0, Math.floor((bytes - head.length - tail.length) / 2));
  return head + '['.repeat(depth) + ']'.repeat(depth) + tail;
}

/** `/score` with a `weights` object of as many keys as `bytes` allows. */
export function manyWeights(bytes: number): string {
  const head = '{"items":[{"text":"a"}],"weights":{';
  const parts: string[] = [];
  let size = head.length + 2;
  for (let i = 0; size < bytes - 16; i++) {
    const p = `"w${i}":1`;
    parts.push(p);
    size += p.length + 1;
  }
  return head + parts.join(',') + '}}';
}

/** `/score` with one weight finite but huge: the weighted reward overflows to Infinity. */
export function hugeWeight(head: string): string {
  return JSON.stringify({ items: [{ text: 'a' }], weights: { [head]: 1e308 } });
}
