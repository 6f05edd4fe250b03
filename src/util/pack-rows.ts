/** Rows of token ids packed end to end: row i is `ids[offset_i, offset_i + lengths[i])`. */
export interface PackedRows {
  ids: Int32Array<ArrayBuffer>;
  lengths: Int32Array<ArrayBuffer>;
  /** Token type ids in the same layout as `ids`; absent when every row is all type 0. */
  typeIds?: Uint8Array<ArrayBuffer>;
  /** Token-level models: 1 for rows whose every position is read (token rewards asked), else only step-tag positions. */
  dense?: Uint8Array<ArrayBuffer>;
}

/**
 * Packs rows into fresh typed arrays, so they can be transferred between threads (the one
 * layout the tokenizer workers, the batcher and the backend all use). `typeRows[i]` may be
 * missing for a row that is all type 0.
 */
export function packRows(rows: readonly ArrayLike<number>[], typeRows?: readonly (ArrayLike<number> | undefined)[]): PackedRows {
  const lengths = Int32Array.from(rows, (r) => r.length);
  const ids = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  const withTypes = typeRows?.some((t) => t !== undefined) ?? false;
  const typeIds = withTypes ? new Uint8Array(ids.length) : undefined;
  let at = 0;
  rows.forEach((r, i) => {
    ids.set(r, at);
    const t = typeRows?.[i];
    if (typeIds && t) typeIds.set(t, at);
    at += r.length;
  });
  return typeIds ? { ids, lengths, typeIds } : { ids, lengths };
}

/** Each row's ids, as views of `p.ids` (no copy). */
export function rowViews(p: PackedRows): Int32Array[] {
  const out: Int32Array[] = [];
  let at = 0;
  for (const len of p.lengths) {
    out.push(p.ids.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** The transferable buffers of packed rows. */
export function packedBuffers(p: PackedRows): ArrayBuffer[] {
  const out = [p.ids.buffer, p.lengths.buffer];
  if (p.typeIds) out.push(p.typeIds.buffer);
  if (p.dense) out.push(p.dense.buffer);
  return out;
}
