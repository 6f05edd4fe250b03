/** Bits of the mantissa; the exponent sits above them. */
const EXP_SHIFT = 10;

/**
 * IEEE 754 binary16 bit patterns (how onnxruntime-node returns float16 tensors: a Uint16Array
 * of raw bits) as float32 values. Exact: every half is representable as a float.
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
