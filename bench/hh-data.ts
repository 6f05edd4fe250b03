import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { projectRoot } from '../src/util/project-root.js';

/** One HH dialogue split into the prompt (all turns before the last reply) and the last reply. */
export interface HhItem {
  prompt: string;
  response: string;
}

/** A preference pair of HH dialogues, split into items. */
export interface HhPair {
  chosen: HhItem;
  rejected: HhItem;
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

function readJsonl(file: string): { chosen: string; rejected: string }[] {
  const raw = fs.readFileSync(file);
  const text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { chosen: string; rejected: string });
}

/**
 * HH pairs `{"chosen", "rejected"}` from a JSONL file (gzipped if it ends in .gz). The texts are
 * offensive: never print them.
 */
export function loadHhPairs(file: string = HH_DEV): HhPair[] {
  const pairs: HhPair[] = [];
  for (const p of readJsonl(file)) {
    const chosen = splitDialogue(p.chosen);
    const rejected = splitDialogue(p.rejected);
    if (chosen && rejected) pairs.push({ chosen, rejected });
  }
  return pairs;
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
