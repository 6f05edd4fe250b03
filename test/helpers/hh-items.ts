import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ScoreItem } from '../../src/format/format.js';
import { filler, ROOT } from './app.js';

/**
 * Every committed HH dev dialogue as a `{text}` item and, where HH-shaped, as a prompt/response
 * item. The texts are offensive: a test may name an item's index, never print its text.
 */
export function hhItems(): ScoreItem[] {
  const file = path.join(ROOT, 'models', 'data', 'harmless-base-dev.jsonl.gz');
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n').filter(Boolean);
  const out: ScoreItem[] = [];
  for (const line of lines) {
    const pair = JSON.parse(line) as { chosen: string; rejected: string };
    for (const text of [pair.chosen, pair.rejected]) {
      out.push({ text });
      const cut = text.lastIndexOf('\n\nAssistant: ');
      if (text.startsWith('\n\nHuman: ') && cut > 0) out.push({ prompt: text.slice(9, cut), response: text.slice(cut + 13) });
    }
  }
  return out;
}

/** Long texts that stress tokenization edge cases: dense, unspaced, special tokens, non-ASCII, whitespace runs. */
export function oddTexts(): string[] {
  return [
    'x'.repeat(5000),
    '1234567890'.repeat(300),
    `${filler(1, 400)} ${'🙂'.repeat(600)} end`,
    `${filler(2, 300)}</s> <s>${filler(3, 300)}</s>`,
    `<s>${filler(4, 500)}</s>`,
    `${'дом '.repeat(800)}ok`,
    `${filler(5, 200)}\n\n\n   ${filler(6, 300)}  \t ${filler(7, 100)}`,
    `${'a. '.repeat(2000)}`,
    `${'$& '.repeat(700)}z`,
  ];
}
