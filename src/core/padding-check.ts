import type { Backend, BatchOutput } from '../infer/backend.js';
import { ModelLoadError, type ModelFolder } from '../model/model-folder.js';
import type { TokenizerPool, TokenizedBatch } from '../tokenize/tokenizer-pool.js';
import { packRows, type PackedRows } from '../util/pack-rows.js';

/** Largest change of a probe's logit, relative to max(1, |logit|), that padding may cause. */
export const PADDING_TOLERANCE = 1e-3;

const SHORT = [
  { prompt: 'Hello.', response: 'Hi! How can I help you today?' },
  { prompt: 'What is two plus two?', response: 'Four.' },
];
const LONG = {
  prompt: 'Please describe a calm spring morning by the sea, the light, the sounds and the smells. '.repeat(6),
  response: 'The water is still, gulls call over the harbour and the air smells of salt and rain. '.repeat(4),
};

/** Row `i` of a packed batch as a batch of its own (fresh arrays: a backend may take them over). */
function row(batch: PackedRows, i: number, dense: boolean): PackedRows {
  let at = 0;
  for (let r = 0; r < i; r++) at += batch.lengths[r]!;
  const len = batch.lengths[i]!;
  const out = packRows([batch.ids.subarray(at, at + len)], [batch.typeIds?.subarray(at, at + len)]);
  if (dense) out.dense = Uint8Array.of(1);
  return out;
}

const copy = (b: PackedRows, dense: boolean): PackedRows => ({
  ids: b.ids.slice(),
  lengths: b.lengths.slice(),
  ...(b.typeIds && { typeIds: b.typeIds.slice() }),
  ...(dense && { dense: new Uint8Array(b.lengths.length).fill(1) }),
});

/** Every value the model gave row `i` of a batch: its reward columns, heads, and (token-level) every position. */
function values(out: BatchOutput, i: number): number[] {
  const v = Array.from(out.logits.subarray(i * out.numLabels, (i + 1) * out.numLabels));
  if (out.heads) v.push(...out.heads.subarray(i * out.numHeads!, (i + 1) * out.numHeads!));
  if (out.positions) {
    let at = 0;
    for (let r = 0; r < i; r++) at += out.counts![r]! * out.width!;
    v.push(...out.positions.subarray(at, at + out.counts![i]! * out.width!));
  }
  return v;
}

/**
 * Scores short probe items alone and right-padded beside a longer one, and refuses the model if
 * any logit moves: then the graph reads padding (its pooling expects another pad id, or pools at
 * a fixed position), and every batched item but the longest would get a wrong reward.
 * @throws ModelLoadError saying what moved and what to check.
 */
export async function checkPadding(folder: ModelFolder, tokenizers: TokenizerPool, backend: Backend, tokenLevel = false): Promise<void> {
  const tokenized = await tokenizers.tokenize([...SHORT, LONG], folder.reward.inputFormat, 'auto');
  if ('failure' in tokenized) throw new ModelLoadError(folder.modelPath, `padding self-check: cannot tokenize its probe items (${tokenized.failure.code})`);
  const batch: TokenizedBatch = tokenized;
  const longest = batch.lengths[SHORT.length]!;
  // A token-level model is checked at every position of the probes (they hold no step tag).
  const together = await backend.run(copy(batch, tokenLevel));
  for (let i = 0; i < SHORT.length; i++) {
    if (batch.lengths[i]! >= longest) continue;
    const alone = values(await backend.run(row(batch, i, tokenLevel)), 0);
    const padded = values(together, i);
    for (let k = 0; k < alone.length; k++) {
      const a = alone[k]!;
      const b = padded[k]!;
      if (Math.abs(a - b) > PADDING_TOLERANCE * Math.max(1, Math.abs(a)) || Number.isNaN(b) !== Number.isNaN(a)) {
        throw new ModelLoadError(
          folder.modelPath,
          `padding self-check failed: a probe item's logit ${k} is ${a.toPrecision(6)} alone but ${b.toPrecision(6)} right-padded to ${longest} tokens with pad id ${folder.padTokenId} (${folder.sources.pad_token_id}); the graph reads padding: check that pad_token_id is the id its pooling treats as padding and that it pools at the last non-pad token`,
        );
      }
    }
  }
}
