// Check ONNX Runtime (onnxruntime-node) against the torch reference logits in
// models/build/parity-default.json (the trained default model, from train_model.py) and
// models/build/parity.json (the test fixtures, from export_model.py), and check that
// right-padding never changes a result.
//
// Usage (from the repo root): node models/build/check-parity.mjs
// Exit code 1 if any model has max |ort - torch| >= 1e-4 or a padding delta >= 1e-5.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

const PARITY_TOL = 1e-4;
const PADDING_TOL = 1e-5;
const PAD_ID = 1;

const t0 = Date.now();
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const parity = { models: {} };
for (const f of ['parity-default.json', 'parity.json']) {
  Object.assign(parity.models, JSON.parse(fs.readFileSync(path.join(here, f), 'utf8')).models);
}

function tensorsFor(cases, inputNames) {
  const batch = cases.length;
  const len = Math.max(...cases.map((c) => c.input_ids.length));
  const feeds = {};
  for (const name of inputNames) {
    const data = new BigInt64Array(batch * len);
    cases.forEach((c, b) => {
      const t = c.input_ids.length;
      for (let i = 0; i < len; i++) {
        let v;
        if (name === 'attention_mask') v = i < t ? 1 : 0;
        else if (name === 'input_ids') v = i < t ? c.input_ids[i] : PAD_ID;
        else v = i < t ? c[name][i] : 0;
        data[b * len + i] = BigInt(v);
      }
    });
    feeds[name] = new ort.Tensor('int64', data, [batch, len]);
  }
  return { feeds, len };
}

// Rows of the output: per-sequence flat arrays (pooled: [num_labels]; per-token: first t positions).
function rows(output, cases, len, spec) {
  const data = output.data;
  const L = spec.num_labels;
  return cases.map((c, b) => {
    if (!spec.per_token) return Array.from(data.subarray(b * L, (b + 1) * L));
    const t = c.input_ids.length;
    return Array.from(data.subarray(b * len * L, (b * len + t) * L));
  });
}

const maxAbs = (a, b) => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

let failed = false;
for (const [rel, spec] of Object.entries(parity.models)) {
  const session = await ort.InferenceSession.create(path.join(root, rel), {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
  });
  const names = spec.inputs;
  if (JSON.stringify(session.inputNames) !== JSON.stringify(names) ||
      JSON.stringify(session.outputNames) !== JSON.stringify(['logits'])) {
    console.error(`${rel}: unexpected io names ${session.inputNames} -> ${session.outputNames}`);
    failed = true;
    continue;
  }

  // 1. each sequence alone vs. torch
  let parityDelta = 0;
  const alone = [];
  for (const c of spec.cases) {
    const { feeds, len } = tensorsFor([c], names);
    const out = (await session.run(feeds)).logits;
    const expectedDims = spec.per_token ? [1, len, spec.num_labels] : [1, spec.num_labels];
    if (JSON.stringify(out.dims) !== JSON.stringify(expectedDims)) {
      console.error(`${rel}: logits dims ${JSON.stringify(out.dims)}, expected ${JSON.stringify(expectedDims)}`);
      failed = true;
    }
    const got = rows(out, [c], len, spec)[0];
    alone.push(got);
    parityDelta = Math.max(parityDelta, maxAbs(got, c.logits.flat()));
  }

  // 2. all sequences right-padded together in one batch, and a reversed-order batch
  let padDelta = 0;
  for (const order of [spec.cases, [...spec.cases].reverse()]) {
    const { feeds, len } = tensorsFor(order, names);
    const out = (await session.run(feeds)).logits;
    const got = rows(out, order, len, spec);
    order.forEach((c, b) => {
      padDelta = Math.max(padDelta, maxAbs(got[b], alone[spec.cases.indexOf(c)]));
    });
  }

  const ok = parityDelta < PARITY_TOL && padDelta < PADDING_TOL;
  if (!ok) failed = true;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${rel}: ${spec.cases.length} cases, ` +
      `max|ort-torch| ${parityDelta.toExponential(2)} (< ${PARITY_TOL}), ` +
      `max|padded-alone| ${padDelta.toExponential(2)} (< ${PADDING_TOL})`,
  );
}

if (failed) {
  console.error('check-parity: FAIL');
  process.exit(1);
}
console.log(`check-parity: OK in ${((Date.now() - t0) / 1000).toFixed(1)} s (onnxruntime-node ${ort.env.versions?.common ?? ''})`);
