// Tokenizes the fixture texts with the Rust `tokenizers` binding, special tokens added (as the
// service's post-processor adds them). Called by build.py:  node tokenize.mjs IN.json OUT.json
// IN: {"tokenizer": path, "texts": {"<model>": ["text", ...]}}   OUT: {"<model>": [[ids], ...]}
import fs from 'node:fs';
import { Tokenizer } from 'tokenizers';

const [input, output] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(input, 'utf8'));
const tok = Tokenizer.fromFile(job.tokenizer);
const out = {};
for (const [model, texts] of Object.entries(job.texts)) {
  out[model] = [];
  for (const text of texts) out[model].push((await tok.encode(text, null, { addSpecialTokens: true })).getIds());
}
fs.writeFileSync(output, JSON.stringify(out));
