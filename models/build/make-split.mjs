// Deterministic train / validation / test split of the HH-RLHF pairs in models/data.
//
// Usage (from the repo root): node models/build/make-split.mjs
//
// Rule: pairs are grouped by their first human turn (a few red-team prompts occur in 2–3 pairs;
// a group never straddles two splits). u = first 8 hex digits of sha256(first human turn) / 2^32;
// u < 0.1 → test, u < 0.2 → validation, else train. No seed, no ordering dependence: the same
// pair always lands in the same split.
//
// Writes models/data/split.json (line indices of each split, in file order) and
// models/data/hh-harmless-test.jsonl.gz (the test pairs, unchanged, for `npm run eval --data`).
// Prints counts only: the data is offensive red-team text and is never printed.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = path.join(root, 'models', 'data');
const SOURCE = 'harmless-base-dev.jsonl.gz';

const lines = zlib
  .gunzipSync(fs.readFileSync(path.join(dataDir, SOURCE)))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0);

/** The split a pair belongs to, from its first human turn. */
export function splitOf(chosen) {
  const firstHuman = chosen.split('\n\nAssistant:')[0];
  const u = parseInt(crypto.createHash('sha256').update(firstHuman, 'utf8').digest('hex').slice(0, 8), 16) / 2 ** 32;
  return u < 0.1 ? 'test' : u < 0.2 ? 'val' : 'train';
}

const split = { train: [], val: [], test: [] };
for (let i = 0; i < lines.length; i++) split[splitOf(JSON.parse(lines[i]).chosen)].push(i);

const out = {
  source: `models/data/${SOURCE}`,
  rule:
    'group pairs by first human turn (text before the first "\\n\\nAssistant:"); ' +
    'u = int(sha256(first human turn)[:8], 16) / 2^32; u < 0.1 test, u < 0.2 val, else train',
  generated_by: 'models/build/make-split.mjs',
  counts: { train: split.train.length, val: split.val.length, test: split.test.length },
  ...split,
};
fs.writeFileSync(path.join(dataDir, 'split.json'), JSON.stringify(out) + '\n');
// zlib writes no timestamp or file name, so the .gz is byte-identical on every run.
const testJsonl = split.test.map((i) => lines[i] + '\n').join('');
fs.writeFileSync(path.join(dataDir, 'hh-harmless-test.jsonl.gz'), zlib.gzipSync(testJsonl, { level: 9 }));
console.log(`pairs: ${lines.length}; train ${split.train.length}, val ${split.val.length}, test ${split.test.length}`);
