import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { projectRoot } from '../src/util/project-root.js';

/** One HH dialogue split into the prompt (all turns before the last reply) and the last reply. */
export interface HhItem {
  prompt: string;
  response: string;
}

const ASSISTANT = '\n\nAssistant: ';
const HUMAN = '\n\nHuman: ';

/**
 * The HH-RLHF dev pairs committed in models/data, as prompt/response items that the default
 * template turns back into the original text. The texts are offensive: never print them.
 */
export function loadHhItems(): HhItem[] {
  const file = path.join(projectRoot(), 'models', 'data', 'harmless-base-dev.jsonl.gz');
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n').filter(Boolean);
  const items: HhItem[] = [];
  for (const line of lines) {
    const pair = JSON.parse(line) as { chosen: string; rejected: string };
    for (const text of [pair.chosen, pair.rejected]) {
      const cut = text.lastIndexOf(ASSISTANT);
      if (!text.startsWith(HUMAN) || cut < 0) continue;
      items.push({ prompt: text.slice(HUMAN.length, cut), response: text.slice(cut + ASSISTANT.length) });
    }
  }
  return items;
}
