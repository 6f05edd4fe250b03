// Train the default byte-level BPE tokenizer (4096 tokens) on the TRAINING split of the
// HH-RLHF harmless-base dev pairs (models/data/split.json, from make-split.mjs: validation and
// test texts never shape the vocabulary) and verify that the Rust binding (`tokenizers`) and the
// pure-JS runtime library (`@huggingface/tokenizers`) encode identically.
//
// Usage (from the repo root): node models/build/train-tokenizer.mjs
//
// Content note: the training data contains offensive red-team dialogues. This
// script never prints any text from it; only counts and timings are printed.
// The only place data-derived strings end up is the tokenizer vocabulary/merges.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const rust = require('tokenizers');
const { Tokenizer: JsTokenizer } = await import('@huggingface/tokenizers');

const t0 = Date.now();
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const dataPath = path.join(root, 'models', 'data', 'harmless-base-dev.jsonl.gz');
const outDir = path.join(root, 'models', 'default');

const VOCAB_SIZE = 4096;
const SPECIALS = ['<s>', '<pad>', '</s>', '<unk>']; // ids 0..3

function fail(msg) {
  console.error(`train-tokenizer: FAIL: ${msg}`);
  process.exit(1);
}

// ---------------------------------------------------------------- data
const lines = zlib
  .gunzipSync(fs.readFileSync(dataPath))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0);
const texts = [];
for (const line of lines) {
  const o = JSON.parse(line);
  if (typeof o.chosen !== 'string' || typeof o.rejected !== 'string') fail('bad record shape');
  texts.push(o.chosen, o.rejected);
}
const split = JSON.parse(fs.readFileSync(path.join(root, 'models', 'data', 'split.json'), 'utf8'));
const trainTexts = split.train.flatMap((i) => [texts[2 * i], texts[2 * i + 1]]);
console.log(`pairs: ${lines.length}, texts: ${texts.length}; training texts (train split): ${trainTexts.length}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-tokenizer-'));
try {
  const corpus = path.join(tmp, 'corpus.txt');
  fs.writeFileSync(corpus, trainTexts.map((t) => t + '\n').join(''));

  // -------------------------------------------------------------- train
  // The binding exposes no trainer options: train with the model's default
  // BpeTrainer (vocab 30000, no min frequency), then trim below.
  const trainer = new rust.Tokenizer(rust.BPE.empty());
  trainer.setPreTokenizer(rust.byteLevelPreTokenizer(false, true));
  trainer.train([corpus]);
  const trainedPath = path.join(tmp, 'trained.json');
  trainer.save(trainedPath, false);
  const trained = JSON.parse(fs.readFileSync(trainedPath, 'utf8'));
  const trainedMerges = trained.model.merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));
  console.log(`trained (untrimmed): vocab ${Object.keys(trained.model.vocab).length}, merges ${trainedMerges.length}`);

  // -------------------------------------------------------------- trim
  const vocab = new Map();
  for (const s of SPECIALS) vocab.set(s, vocab.size);
  const alphabet = [...rust.byteLevelAlphabet()];
  if (alphabet.length !== 256 || new Set(alphabet).size !== 256) fail('byte-level alphabet is not 256 chars');
  alphabet.sort((a, b) => a.codePointAt(0) - b.codePointAt(0)); // fixed order: by code point
  for (const c of alphabet) {
    if (vocab.has(c)) fail('alphabet collides with a special token');
    vocab.set(c, vocab.size);
  }
  const merges = [];
  for (const [a, b] of trainedMerges) {
    if (vocab.size >= VOCAB_SIZE) break;
    if (!vocab.has(a) || !vocab.has(b)) continue;
    const merged = a + b;
    if (SPECIALS.includes(merged)) continue; // never let a merge produce a special token string
    merges.push([a, b]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
  }
  if (vocab.size !== VOCAB_SIZE) fail(`trimmed vocab has ${vocab.size} tokens, expected ${VOCAB_SIZE}`);

  // -------------------------------------------------------------- write
  const special = (tok) => ({ SpecialToken: { id: tok, type_id: 0 } });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      // single: <s> $A </s>
      single: [special('<s>'), { Sequence: { id: 'A', type_id: 0 } }, special('</s>')],
      // pair: <s> $A </s> </s> $B </s>  (first segment type 0, second segment type 1)
      pair: [
        special('<s>'),
        { Sequence: { id: 'A', type_id: 0 } },
        special('</s>'),
        { SpecialToken: { id: '</s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '</s>', type_id: 1 } },
      ],
      special_tokens: {
        '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] },
        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null, // byte-level: every byte is in the vocab, so no unk is ever needed
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges, // [a, b] pairs (tokenizers >= 0.20 format; read identically by both libraries)
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: 512,
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    padding_side: 'right',
    truncation_side: 'left',
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
  };
  fs.mkdirSync(outDir, { recursive: true });
  const tokPath = path.join(outDir, 'tokenizer.json');
  fs.writeFileSync(tokPath, JSON.stringify(tokenizerJson, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n');
  console.log(`wrote models/default/tokenizer.json: vocab ${vocab.size}, merges ${merges.length}`);

  // -------------------------------------------------------------- verify
  const r = rust.Tokenizer.fromFile(tokPath);
  const js = new JsTokenizer(JSON.parse(fs.readFileSync(tokPath, 'utf8')), tokenizerConfig);
  const rustVocab = r.getVocabSize(true);
  if (rustVocab !== VOCAB_SIZE) fail(`rust binding reports vocab size ${rustVocab}`);

  const synthetic = [
    '',
    'hello',
    '\n\nHuman: hi\n\nAssistant: hello',
    '\n\nHuman: What is the capital of France?\n\nAssistant: The capital of France is Paris.',
    'Emoji: 😀👍🏽 🇯🇵 👨‍👩‍👧‍👦 ❤️',
    'CJK: 你好，世界。日本語のテキスト。한국어 문장.',
    'Mixed   whitespace\t\ttabs\r\nCRLF  trailing   ',
    "It's they're we've I'm you'll he'd 12345 3.14159 $100",
    'Accents: café naïve Ångström façade résumé',
    'Special tokens inline: <s> hi </s> <pad> <unk>',
    'Code: function f(x) { return x ** 2; } // comment',
    '\u0000\u0001\u007f control \u200b zero-width \ufeff bom',
  ];
  const all = [...texts, ...synthetic];
  let mismatches = 0;
  let firstMismatch = -1;
  const lengths = [];
  for (let i = 0; i < all.length; i++) {
    const text = all[i];
    const a = (await r.encode(text, null, { addSpecialTokens: true })).getIds();
    const b = js.encode(text).ids;
    let same = a.length === b.length;
    for (let k = 0; same && k < a.length; k++) same = a[k] === b[k];
    if (!same) {
      mismatches++;
      if (firstMismatch < 0) firstMismatch = i;
    }
    if (i < texts.length) lengths.push(a.length);
  }
  if (mismatches > 0) {
    // Report only the index (synthetic strings are index >= texts.length), never the text.
    fail(`${mismatches} of ${all.length} encodings differ between the Rust and JS libraries (first index ${firstMismatch})`);
  }
  lengths.sort((x, y) => x - y);
  const q = (p) => lengths[Math.min(lengths.length - 1, Math.floor(p * lengths.length))];
  const mean = lengths.reduce((s, x) => s + x, 0) / lengths.length;
  const over512 = lengths.filter((x) => x > 512).length;
  console.log(
    `verified: ${all.length} texts (${texts.length} data + ${synthetic.length} synthetic), ` +
      `rust == js on all; vocab size ${rustVocab}`,
  );
  console.log(
    `token count incl. <s></s> over data texts: mean ${mean.toFixed(1)}, p50 ${q(0.5)}, p95 ${q(0.95)}, ` +
      `max ${lengths[lengths.length - 1]}, >512: ${over512}`,
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`train-tokenizer: OK in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
