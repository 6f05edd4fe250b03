import { classProbabilities } from '../../postprocess/postprocess.js';
import { classesOf, scoreTei, teiTruncation, type OperationContext, type OperationResult, type ScoreItem } from './operation.js';

/** A TEI-style predict request, as on the wire. */
export interface PredictInput {
  /** A text, a pair `[a, b]` (or `[a]`), or a batch of those as lists. */
  inputs: string | string[] | string[][];
  raw_scores: boolean;
  truncate?: boolean | null | undefined;
  truncation_direction?: 'Left' | 'Right' | 'left' | 'right' | undefined;
}

/** A text or a pair: a pair is scored as `{prompt, response}` in the model's input format. */
const item = (x: string | string[]): ScoreItem =>
  typeof x === 'string' ? { text: x } : x.length === 1 ? { text: x[0]! } : { prompt: x[0]!, response: x[1]! };

/**
 * TEI's `/predict` (router/src/http/types.rs PredictResponse): per item, every class's score
 * (raw logits with `raw_scores`, else σ for one class and softmax for several) with its
 * id2label name (HF's default LABEL_<i> where config.json has none), best first.
 */
export async function predict({ target, signal }: OperationContext, input: PredictInput): Promise<OperationResult> {
  const batch = Array.isArray(input.inputs) && Array.isArray(input.inputs[0]);
  const items = batch ? (input.inputs as string[][]).map(item) : [item(input.inputs as string | string[])];
  const r = await scoreTei(target, items, teiTruncation(input), signal);
  const { logits, labels } = classesOf(r);
  const lists = logits.map((row) => {
    const scores = input.raw_scores ? row : classProbabilities(row);
    return scores.map((score, k) => ({ score, label: labels[k] ?? `LABEL_${k}` })).sort((a, b) => b.score - a.score);
  });
  return { body: batch ? lists : lists[0], timings: r.timings };
}
