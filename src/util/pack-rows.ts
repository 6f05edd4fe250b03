/** Rows of token ids packed end to end: row i is `ids[offset_i, offset_i + lengths[i])`. */
export interface PackedRows {
  ids: Int32Array<ArrayBuffer>;
  lengths: Int32Array<ArrayBuffer>;
}

/**
 * Packs rows into two fresh typed arrays, so they can be transferred between threads
 * (the one layout the tokenizer workers, the batcher and the backend all use).
 */
export function packRows(rows: readonly ArrayLike<number>[]): PackedRows {
  const lengths = Int32Array.from(rows, (r) => r.length);
  const ids = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const r of rows) {
    ids.set(r, at);
    at += r.length;
  }
  return { ids, lengths };
}
