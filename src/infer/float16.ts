/** Bits of the mantissa; the exponent sits above them. */
const EXP_SHIFT = 10;

/**
 * The binary16 bit patterns of a float16 tensor's data. onnxruntime-node returns float16 as a
 * Uint16Array of raw bits, and onnxruntime-common wraps that same buffer as a Float16Array
 * (values, not bits) where the runtime has one: Node 24 does, Node 20 does not. Both have two-byte
 * elements, so a Uint16Array view of the buffer is the bits either way; reading a Float16Array's
 * values as bits would turn a reward of 5.26 into 5 × 2^-24.
 */
export function halfBits(data: { buffer: ArrayBufferLike; byteOffset: number; length: number; BYTES_PER_ELEMENT: number }): Uint16Array {
  if (data.BYTES_PER_ELEMENT !== 2) throw new Error(`float16 data has ${data.BYTES_PER_ELEMENT}-byte elements`);
  return new Uint16Array(data.buffer, data.byteOffset, data.length);
}

/**
 * IEEE 754 binary16 bit patterns (see halfBits) as float32 values. Exact: every half is
 * representable as a float.
 */
export function float16ToFloat32(bits: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToNumber(bits[i]!);
  return out;
}

/** One binary16 bit pattern as a number (see float16ToFloat32). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> EXP_SHIFT) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
