// Tokenizes rendered chat texts with the Rust `tokenizers` binding, add_special_tokens false:
// the ids transformers' apply_chat_template(tokenize=True) gives (it renders, then encodes with
// add_special_tokens=False). Called by reference.py; not meant to be run by hand.
//   node models/build/decoder-rm/tokenize.mjs IN.json OUT.json
// IN:  {"<path to tokenizer.json>": ["text", ...], ...}   OUT: same keys, lists of id lists.
import fs from 'node:fs';
import { Tokenizer } from 'tokenizers';

const [input, output] = process.argv.slice(2);
const jobs = JSON.parse(fs.readFileSync(input, 'utf8'));
const out = {};
for (const [file, texts] of Object.entries(jobs)) {
  const tok = Tokenizer.fromFile(file);
  out[file] = [];
  for (const text of texts) out[file].push((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
}
fs.writeFileSync(output, JSON.stringify(out));
