import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float16ToFloat32, halfBits } from '../../src/infer/float16.js';

// Bit patterns and values from the IEEE 754 binary16 definition (independent of the decoder).
const CASES: [number, number][] = [
  [0x0000, 0],
  [0x3c00, 1],
  [0xc000, -2],
  [0x3555, 0.333251953125],
  [0x7bff, 65504],
  [0x0400, 2 ** -14],
  [0x0001, 2 ** -24],
  [0x03ff, 1023 * 2 ** -24],
  [0xc0ea, -2.45703125],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
];

test('float16 bit patterns decode to their exact values, subnormals and infinities included', () => {
  const out = float16ToFloat32(Uint16Array.from(CASES, ([bits]) => bits));
  CASES.forEach(([bits, value], i) => assert.equal(out[i], value, `0x${bits.toString(16)}`));
  assert.ok(Object.is(float16ToFloat32(Uint16Array.of(0x8000))[0], -0));
  assert.ok(Number.isNaN(float16ToFloat32(Uint16Array.of(0x7e00))[0]));
});

// Node 24 has Float16Array and onnxruntime-common then hands float16 outputs over as one: the
// same buffer, read as values. halfBits gives the bits either way.
const Float16Array = (globalThis as { Float16Array?: { of(...v: number[]): Uint16Array } }).Float16Array; // lib ES2023 has no Float16Array type: typed by its two-byte twin

test('halfBits: a Uint16Array of bits is read as it is', () => {
  const bits = Uint16Array.from(CASES, ([b]) => b);
  assert.deepEqual([...halfBits(bits)], [...bits]);
  assert.throws(() => halfBits(new Float32Array(2)), /4-byte elements/);
});

test('halfBits: a Float16Array of values gives their bit patterns, so they decode to the same values', { skip: !Float16Array && 'this Node has no Float16Array' }, () => {
  const values = Float16Array!.of(...CASES.map(([, v]) => v));
  assert.deepEqual([...halfBits(values)], CASES.map(([b]) => b));
  assert.deepEqual([...float16ToFloat32(halfBits(values))], CASES.map(([, v]) => v));
});
