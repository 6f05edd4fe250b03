// Tokenize every HH pair for training with the service's own code path (dist/src TokenEncoder:
// @huggingface/tokenizers + our left truncation that keeps <s> … </s>), so the model is trained on
// exactly the ids the server will feed it. Needs `npm run build` first.
//
// Usage (from the repo root): node models/build/tokenize-data.mjs MAX_LENGTH
// Writes models/build/.cache/tokens.json (gitignored); prints counts only.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { TokenEncoder } = await import(path.join(root, 'dist', 'src', 'tokenize', 'token-encoder.js'));

const maxLength = Number(process.argv[2]);
if (!Number.isInteger(maxLength) || maxLength < 8) {
  console.error('usage: node models/build/tokenize-data.mjs MAX_LENGTH');
  process.exit(1);
}
const dir = path.join(root, 'models', 'default');
const tokJson = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
const tokCfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
const enc = new TokenEncoder(tokJson, tokCfg, maxLength);

// The last assistant turn starts at the tokens "Assistant" ":" (after "\n\n": ByteLevel keeps
// newlines out of the word, so the word token is the same whatever precedes it).
const marker = ['Assistant', ':'].map((t) => enc.tokenId(t));
if (marker.some((id) => id === undefined)) {
  console.error('tokenize-data: FAIL: "Assistant" or ":" is not a single token');
  process.exit(1);
}

const lines = zlib
  .gunzipSync(fs.readFileSync(path.join(root, 'models', 'data', 'harmless-base-dev.jsonl.gz')))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0);
const split = JSON.parse(fs.readFileSync(path.join(root, 'models', 'data', 'split.json'), 'utf8'));
const splitOf = new Map();
for (const name of ['train', 'val', 'test']) for (const i of split[name]) splitOf.set(i, name);

let truncated = 0;
const pairs = lines.map((line, i) => {
  const o = JSON.parse(line);
  const ids = [o.chosen, o.rejected].map((text) => {
    const r = enc.encode({ text, prefix: null }, 'auto');
    if (!('ids' in r)) throw new Error(`pair ${i}: cannot encode`);
    if (r.truncated) truncated++;
    return r.ids;
  });
  return { split: splitOf.get(i), chosen: ids[0], rejected: ids[1] };
});
const out = path.join(root, 'models', 'build', '.cache', 'tokens.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ max_length: maxLength, marker_ids: marker, pad_id: enc.tokenId('<pad>'), pairs }));
const lens = pairs.flatMap((p) => [p.chosen.length, p.rejected.length]);
console.log(
  `tokenized ${pairs.length} pairs at max_length ${maxLength}: mean ${(lens.reduce((a, b) => a + b, 0) / lens.length).toFixed(1)} tokens, ` +
    `${truncated} of ${lens.length} texts truncated on the left; marker ids ${JSON.stringify(marker)}`,
);
