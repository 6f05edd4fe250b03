import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ScoreItem } from '../src/format/format.js';
import { projectRoot } from '../src/util/project-root.js';

/** One HH dialogue split into the prompt (all turns before the last reply) and the last reply. */
export interface HhItem {
  prompt: string;
  response: string;
}

/** A preference pair as the service's items. */
export interface PreferencePair {
  chosen: ScoreItem;
  rejected: ScoreItem;
}

const ASSISTANT = '\n\nAssistant: ';
const HUMAN = '\n\nHuman: ';

/** The committed HH dev data (models/data). */
export const HH_DEV = path.join(projectRoot(), 'models', 'data', 'harmless-base-dev.jsonl.gz');

/** An HH dialogue as the prompt/response item the default template turns back into it; null if not HH-shaped. */
export function splitDialogue(text: string): HhItem | null {
  const cut = text.lastIndexOf(ASSISTANT);
  if (!text.startsWith(HUMAN) || cut < 0) return null;
  return { prompt: text.slice(HUMAN.length, cut), response: text.slice(cut + ASSISTANT.length) };
}

type PairLine = { chosen: string; rejected: string; prompt?: string };

function readJsonl(file: string): PairLine[] {
  const raw = fs.readFileSync(file);
  const text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PairLine);
}

/**
 * Preference pairs from a JSONL file (gzipped if it ends in .gz), read as `npm run eval` reads
 * them: HH lines `{"chosen", "rejected"}` as whole-dialogue `{text}` items, RewardBench lines
 * `{"prompt", "chosen", "rejected"}` as prompt/response items. The texts may be offensive: never
 * print them.
 */
export function loadPreferencePairs(file: string = HH_DEV): PreferencePair[] {
  return readJsonl(file).map((p) =>
    typeof p.prompt === 'string'
      ? { chosen: { prompt: p.prompt, response: p.chosen }, rejected: { prompt: p.prompt, response: p.rejected } }
      : { chosen: { text: p.chosen }, rejected: { text: p.rejected } },
  );
}

/**
 * The HH-RLHF dev pairs committed in models/data, as prompt/response items (chosen, then
 * rejected, per pair). The texts are offensive: never print them.
 */
export function loadHhItems(): HhItem[] {
  return readJsonl(HH_DEV)
    .flatMap((p) => [splitDialogue(p.chosen), splitDialogue(p.rejected)])
    .filter((it): it is HhItem => it !== null);
}
