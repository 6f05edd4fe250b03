/**
 * Recently tokenized long texts and their ids, so a text that recurs — one prompt beside many
 * responses in /rank, /compare or a /score batch — is tokenized once. Least recently used
 * entries go first; short texts are not kept (tokenizing them costs less than the lookup).
 */
export class TokenCache {
  private readonly entries = new Map<string, readonly number[]>();
  private chars = 0;

  constructor(
    /**
     * Where lookups of texts long enough to keep are counted, [hits, misses] (a miss is then
     * tokenized): shared memory the main thread reads for reward_token_cache_lookups_total.
     */
    private readonly counts: BigInt64Array | null = null,
    /** Shortest text worth keeping. */
    private readonly minChars = 256,
    /** Total characters kept. */
    private readonly maxChars = 4_000_000,
  ) {}

  get(text: string): readonly number[] | undefined {
    if (text.length < this.minChars) return undefined;
    const ids = this.entries.get(text);
    if (this.counts) Atomics.add(this.counts, ids ? 0 : 1, 1n);
    if (ids) {
      this.entries.delete(text);
      this.entries.set(text, ids);
    }
    return ids;
  }

  set(text: string, ids: readonly number[]): void {
    if (text.length < this.minChars || text.length > this.maxChars || this.entries.has(text)) return;
    this.entries.set(text, ids);
    this.chars += text.length;
    for (const [k] of this.entries) {
      if (this.chars <= this.maxChars) break;
      this.entries.delete(k);
      this.chars -= k.length;
    }
  }
}
