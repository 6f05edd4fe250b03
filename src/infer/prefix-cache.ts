/** One held prefix: its ids and what the worker keeps of it (each layer's keys and values). */
export interface PrefixEntry<T> {
  readonly ids: Int32Array;
  readonly value: T;
  readonly bytes: number;
}

/** Rows scored whole that the cache remembers (ids only), so a later row sharing their start makes a prefix. */
const RECENT_ROWS = 64;

/**
 * Prefixes of one model's worker, most recently used first, within `maxBytes` of keys and values
 * (the ids are not counted: a few KB each). Adding past the bound evicts the least recently used;
 * a prefix larger than the whole bound is not held (its batch still uses it).
 */
export class PrefixCache<T> {
  private held: PrefixEntry<T>[] = [];
  private seen: Int32Array[] = [];
  private heldBytes = 0;
  /** Prefixes evicted so far. */
  evictions = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes of keys and values held. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Held prefixes, most recently used first. */
  entries(): readonly PrefixEntry<T>[] {
    return this.held;
  }

  /** Ids of rows recently scored whole, newest first. */
  recent(): readonly Int32Array[] {
    return this.seen;
  }

  /** Marks `entry` as just used; nothing if it was evicted meanwhile. */
  touch(entry: PrefixEntry<T>): void {
    const i = this.held.indexOf(entry);
    if (i < 0) return;
    this.held.splice(i, 1);
    this.held.unshift(entry);
  }

  /** Holds a new prefix; false when it alone exceeds the bound. */
  add(ids: Int32Array, value: T, bytes: number): boolean {
    if (bytes > this.maxBytes) return false;
    while (this.heldBytes + bytes > this.maxBytes) {
      this.heldBytes -= this.held.pop()!.bytes;
      this.evictions++;
    }
    this.held.unshift({ ids, value, bytes });
    this.heldBytes += bytes;
    return true;
  }

  /** Remembers the ids of a row scored whole. */
  remember(ids: Int32Array): void {
    this.seen.unshift(ids);
    if (this.seen.length > RECENT_ROWS) this.seen.pop();
  }

  clear(): void {
    this.held = [];
    this.seen = [];
    this.heldBytes = 0;
  }
}
