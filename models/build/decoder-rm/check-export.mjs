// Checks the decoder-rm fixtures with onnxruntime-node against the transformers reference rewards of
// test/fixtures/decoder-rm/reference.json. Run from the repo root (after build.py and reference.py):
//   node models/build/decoder-rm/check-export.mjs
// For every fixture: every reference id list alone (batch 1), and, for the fixtures with a
// pad_token_id, all of them right-padded with that id in one batch (both orders); max |reward −
// torch| must be < 1e-5 (fp32) or < 1e-2 (fp16 logits). Also shows the failures the service must
// avoid: llama31-rm-nopad (no pad id, pools the last position) changes rewards when batched;
// qwen3-rm padded with id 0 instead of its pad id reads a pad position; a second BOS changes a
// llama reward. Exit 1 if any expectation fails.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const REF = 'test/fixtures/decoder-rm/reference.json';
const ref = JSON.parse(fs.readFileSync(REF, 'utf8'));
let failed = false;
const fail = (msg) => {
  failed = true;
  console.log(`FAIL ${msg}`);
};

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

async function run(session, dtype, seqs, padId) {
  const T = Math.max(...seqs.map((s) => s.length));
  const ids = new BigInt64Array(seqs.length * T).fill(BigInt(padId ?? 0));
  const mask = new BigInt64Array(seqs.length * T);
  seqs.forEach((s, b) => s.forEach((id, t) => ((ids[b * T + t] = BigInt(id)), (mask[b * T + t] = 1n))));
  const out = await session.run({
    input_ids: new ort.Tensor('int64', ids, [seqs.length, T]),
    attention_mask: new ort.Tensor('int64', mask, [seqs.length, T]),
  });
  const logits = out.logits;
  if (logits.type !== dtype) throw new Error(`logits type ${logits.type}, expected ${dtype}`);
  if (logits.dims.length !== 2 || logits.dims[0] !== seqs.length || logits.dims[1] !== 1) throw new Error(`logits dims ${logits.dims}`);
  if (dtype !== 'float16') return Array.from(logits.data);
  // float16: onnxruntime-node returns raw bits (a Uint16Array), rewrapped as a Float16Array of
  // values where the runtime has one (Node 24). A Uint16Array view of the buffer is the bits either way.
  const d = logits.data;
  return Array.from(new Uint16Array(d.buffer, d.byteOffset, d.length), halfToFloat);
}

const maxAbs = (a, b) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
const fmt = (x) => x.toExponential(2);

for (const [name, m] of Object.entries(ref.models)) {
  const file = path.join(m.folder, m.onnx);
  const session = await ort.InferenceSession.create(file);
  const names = Object.values(m.cases);
  const ids = names.map((c) => c.ids);
  const want = names.map((c) => c.reward);
  const tol = m.logits_dtype === 'float16' ? 1e-2 : 1e-5;
  if (session.inputNames.join() !== 'input_ids,attention_mask' || session.outputNames.join() !== 'logits') {
    fail(`${name}: inputs ${session.inputNames} outputs ${session.outputNames}`);
  }
  const alone = [];
  for (const s of ids) alone.push((await run(session, m.logits_dtype, [s], m.pad_token_id))[0]);
  const dAlone = maxAbs(alone, want);
  let line = `${name} (${file}${m.external_data ? ` + ${m.external_data}` : ''}, logits ${m.logits_dtype}): ${ids.length} cases, ` +
    `tokens ${Math.min(...ids.map((s) => s.length))}..${Math.max(...ids.map((s) => s.length))}; alone max|ort-torch| ${fmt(dAlone)}`;
  if (!(dAlone < tol)) fail(`${name}: alone max|ort-torch| ${dAlone} >= ${tol}`);

  if (m.pad_token_id !== null) {
    const batched = await run(session, m.logits_dtype, ids, m.pad_token_id);
    const reversed = (await run(session, m.logits_dtype, [...ids].reverse(), m.pad_token_id)).reverse();
    const dBatch = Math.max(maxAbs(batched, want), maxAbs(reversed, want));
    line += `; right-padded batch (pad ${m.pad_token_id}, both orders) max|ort-torch| ${fmt(dBatch)}`;
    if (!(dBatch < tol)) fail(`${name}: batched max|ort-torch| ${dBatch} >= ${tol}`);
  } else {
    // No pad id: the graph pools the last position, so in a padded batch every item shorter
    // than the longest is scored at a pad position. transformers refuses batch > 1 here.
    const batched = await run(session, m.logits_dtype, ids, 128004);
    const T = Math.max(...ids.map((s) => s.length));
    const shorter = ids.map((s, i) => i).filter((i) => ids[i].length < T);
    const longest = ids.map((s, i) => i).filter((i) => ids[i].length === T);
    const dShort = Math.min(...shorter.map((i) => Math.abs(batched[i] - want[i])));
    const dLong = Math.max(...longest.map((i) => Math.abs(batched[i] - want[i])));
    line += `; right-padded batch: shorter items min|Δ| ${dShort.toFixed(3)} max|Δ| ${maxAbs(batched, want).toFixed(3)} (wrong, as expected), longest |Δ| ${fmt(dLong)}`;
    if (!(dShort > 0.01) || !(dLong < tol)) fail(`${name}: expected batching to change the shorter items' rewards only`);
  }
  if (name === 'qwen3-rm') {
    const batched0 = await run(session, m.logits_dtype, ids, 0);
    const T = Math.max(...ids.map((s) => s.length));
    const shorter = ids.map((s, i) => i).filter((i) => ids[i].length < T);
    const dShort = Math.min(...shorter.map((i) => Math.abs(batched0[i] - want[i])));
    line += `\n    padded with id 0 instead of ${m.pad_token_id}: ${shorter.length} shorter items min|Δ| ${dShort.toFixed(3)} max|Δ| ${maxAbs(batched0, want).toFixed(3)} (wrong, as expected)`;
    if (!(dShort > 0.01)) fail(`${name}: padding with id 0 should change the shorter items' rewards`);
  }
  if (name === 'qwen3-rm-fp16') {
    const fp32 = Object.values(ref.models['qwen3-rm'].cases).map((c) => c.reward);
    line += `\n    fp16 graph vs fp32 fixture's reference (unrounded weights): max|Δ| ${fmt(maxAbs(alone, fp32))}`;
  }
  if (m.bos_token_id !== undefined) {
    if (!names.every((c) => c.ids[0] === m.bos_token_id && c.ids[1] !== m.bos_token_id)) fail(`${name}: ids should start with exactly one BOS`);
    const doubled = [];
    for (const s of ids) doubled.push((await run(session, m.logits_dtype, [[m.bos_token_id, ...s]], m.pad_token_id))[0]);
    const d = doubled.map((x, i) => Math.abs(x - want[i]));
    line += `\n    every text starts with ${m.bos_token} (id ${m.bos_token_id}); a second BOS prepended changes rewards by min ${d.reduce((a, b) => Math.min(a, b)).toFixed(3)} max ${d.reduce((a, b) => Math.max(a, b)).toFixed(3)}`;
  }
  console.log(line);
}
console.log(failed ? 'check-export: FAILED' : 'check-export: OK');
process.exit(failed ? 1 : 0);
