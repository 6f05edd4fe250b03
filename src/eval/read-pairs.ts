import fs from 'node:fs';
import zlib from 'node:zlib';
import { z } from 'zod';
import type { ScoreItem } from '../format/format.js';

/** One preference pair ready to score: both sides as service items, and the subset it counts in. */
export interface PreferencePair {
  readonly subset: string;
  readonly chosen: ScoreItem;
  readonly rejected: ScoreItem;
}

/** The input's shape, detected per line. */
export type PairShape = 'hh' | 'prompt-response';

/** Subset of a pair whose line names none. */
export const DEFAULT_SUBSET = 'all';

// HH: whole dialogues, read as is (the service truncates them from the left, as in training).
const hhLine = z.looseObject({ chosen: z.string(), rejected: z.string(), subset: z.string().min(1).optional() });
// RewardBench style: one prompt, two responses, joined with the model's template.
const promptLine = hhLine.extend({ prompt: z.string() });

/** Thrown for a file that cannot be read as pairs; the message names the file and line. */
export class PairFileError extends Error {
  override name = 'PairFileError';
}

function decode(file: string): string {
  const raw = fs.readFileSync(file);
  // Sniff gzip by its magic bytes rather than trusting the extension.
  return raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
}

/**
 * Reads JSONL or gzipped JSONL pairs: HH (`chosen`/`rejected` dialogues) or RewardBench style
 * (`prompt` + `chosen`/`rejected` responses, optional `subset`). Chat message lists are refused
 * until the service reads chat input.
 * @throws PairFileError naming the line (never quoting its text: datasets may be offensive).
 */
export function readPairs(file: string): { pairs: PreferencePair[]; shapes: Set<PairShape> } {
  let text: string;
  try {
    text = decode(file);
  } catch (err) {
    throw new PairFileError(`${file}: cannot read (${(err as Error).message})`);
  }
  const pairs: PreferencePair[] = [];
  const shapes = new Set<PairShape>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const where = `${file}:${n + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new PairFileError(`${where}: not valid JSON`);
    }
    if (value && typeof value === 'object' && (Array.isArray((value as { chosen?: unknown }).chosen) || Array.isArray((value as { rejected?: unknown }).rejected))) {
      throw new PairFileError(`${where}: chosen/rejected as chat message lists are not supported yet (use strings)`);
    }
    const withPrompt = promptLine.safeParse(value);
    if (withPrompt.success) {
      const { prompt, chosen, rejected, subset } = withPrompt.data;
      pairs.push({ subset: subset ?? DEFAULT_SUBSET, chosen: { prompt, response: chosen }, rejected: { prompt, response: rejected } });
      shapes.add('prompt-response');
      continue;
    }
    const hh = hhLine.safeParse(value);
    if (!hh.success) throw new PairFileError(`${where}: expected string fields "chosen" and "rejected" (and optionally "prompt", "subset")`);
    pairs.push({ subset: hh.data.subset ?? DEFAULT_SUBSET, chosen: { text: hh.data.chosen }, rejected: { text: hh.data.rejected } });
    shapes.add('hh');
  }
  if (pairs.length === 0) throw new PairFileError(`${file}: no pairs`);
  return { pairs, shapes };
}
