// The torch references committed beside the models: models/build/parity-default.json (written by
// train_model.py for models/default) and models/build/parity.json (export_model.py, the small
// fixture graphs), with the strings their last cases were tokenized from.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './app.js';

/** models/build/check-parity.mjs's bound on max |ort − torch|. */
export const PARITY_TOL = 1e-4;

/** One graph's torch reference: each case's token ids (and other inputs) with its logits. */
export interface ParityModel {
  inputs: string[];
  per_token: boolean;
  num_labels: number;
  cases: { input_ids: number[]; logits: number[] }[];
}

/** The reference of `model` (its path from the repo root) in models/build/`file`. */
export const parity = (file: string, model: string): ParityModel =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'build', file), 'utf8')).models[model];

// The synthetic strings behind the last cases, as written in the scripts that made them (the
// first cases of parity-default.json are held-out training texts, committed as ids only).
/** models/build/train_model.py PARITY_TEXTS: parity-default.json's last 5 cases. */
export const DEFAULT_TEXTS = [
  '',
  '\n\nHuman: hi\n\nAssistant: hello',
  '\n\nHuman: What is a good recipe for pancakes?\n\nAssistant: Mix flour, milk and eggs, then fry.',
  '\n\nHuman: Can you name three planets?\n\nAssistant: Mercury, Venus and Mars. 🌍 地球 also counts.',
  '\n\nHuman: Please count.\n\nAssistant: ' + Array.from({ length: 399 }, (_, i) => String(i + 1)).join(', '),
];
/** models/build/export_model.py PARITY_TEXTS: every case of parity.json, in order. */
export const FIXTURE_TEXTS = [
  ...DEFAULT_TEXTS.slice(0, 4),
  '\n\nHuman: Tell me about gardening.\n\nAssistant: ' + Array(12).fill('Tomatoes like sun, basil likes warmth, and lettuce prefers cool mornings.').join(' '),
  DEFAULT_TEXTS[4]!,
];
