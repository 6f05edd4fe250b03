import { HH_DEV, loadPreferencePairs, splitDialogue } from '../../bench/hh-data.js';
import type { ScoreItem } from '../../src/format/format.js';
import { filler } from './app.js';

/**
 * Every committed HH dev dialogue as a `{text}` item and, where HH-shaped, as a prompt/response
 * item (bench/hh-data.ts reads and splits them). The texts are offensive: a test may name an
 * item's index, never print its text.
 */
export function hhItems(): ScoreItem[] {
  return loadPreferencePairs(HH_DEV)
    .flatMap((p) => [p.chosen, p.rejected])
    .flatMap((item) => {
      const split = 'text' in item ? splitDialogue(item.text) : null;
      return split ? [item, split] : [item];
    });
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
