// 8. ORT settings: intra-op threads and workers, graph optimization levels, and an int8
// dynamically quantized copy of the model (throughput, and accuracy on preference pairs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { batchTokenBudget } from '../../src/core/runtime.js';
import type { Backend, GraphOptimization } from '../../src/infer/backend.js';
import { OrtBackend, type OrtBackendOptions } from '../../src/infer/ort-backend.js';
import { Formatter } from '../../src/format/format.js';
import { TokenEncoder } from '../../src/tokenize/token-encoder.js';
import { packRows } from '../../src/util/pack-rows.js';
import { projectRoot } from '../../src/util/project-root.js';
import type { ScoreItem } from '../../src/format/format.js';
import { loadPreferencePairs } from '../hh-data.js';
import { serviceBackend, type BenchContext } from '../lib/context.js';
import { limitedBatches, measureRate, withBackend } from '../lib/limit.js';
import { spread, type Spread } from '../lib/stats.js';

/** One ORT configuration and its raw rate L' (batches at the service's limits). */
export interface OrtRow {
  what: string;
  workers: number;
  intraOpThreads: number;
  graphOptimization: GraphOptimization;
  model: string;
  itemsPerSecond: Spread;
}

/** Pairwise accuracy of one model file on the preference pairs. */
export interface AccuracyRow {
  model: string;
  pairs: number;
  /** Share of pairs with r(chosen) > r(rejected) strictly (ties count wrong). */
  accuracy: number;
  /** Largest |reward − fp32 reward| over all items. */
  maxAbsDelta: number;
  /** Share of pairs whose preferred side is the same as with fp32. */
  agreement: number;
  /**
   * Largest |reward in its service batch − reward alone| over the first items: how much an
   * item's reward depends on its batch mates (dynamic int8 quantizes activations per batch).
   */
  batchDependence?: number;
}

/** Items checked alone for AccuracyRow.batchDependence. */
const ALONE = 64;

export interface OrtResult {
  rows: OrtRow[];
  data: string;
  /** Pairs left out because a side is refused (a response longer than max_length). */
  skippedPairs: number;
  accuracy: AccuracyRow[];
  /** Why the int8 part did not run, if it did not. */
  int8Skipped?: string;
}

/** Runs the committed quantizer (python3 + Debian's python3-onnx); the copy lives in a temp folder. */
function quantize(modelPath: string, perChannel: boolean): string {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-int8-')), 'model.onnx');
  const script = path.join(projectRoot(), 'bench', 'quantize', 'quantize-dynamic.py');
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  execFileSync(python, [script, modelPath, out, ...(perChannel ? ['--per-channel'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/** Rewards of `rows` in order (reward column `head`), run in length-sorted batches at the service's limits. */
async function rewards(b: Backend, rows: number[][], head: number, maxSize: number, maxTokens: number): Promise<number[]> {
  const index = new Map(rows.map((r, i) => [r, i]));
  const batches = limitedBatches(rows, maxSize, maxTokens);
  const out = new Array<number>(rows.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: b.concurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const r = await b.run(packRows(batch));
        batch.forEach((row, k) => (out[index.get(row)!] = r.logits[k * r.numLabels + head]!));
      }
    }),
  );
  return out;
}

/** One configuration to measure. */
interface Setting {
  what: string;
  model: string;
  opts: OrtBackendOptions;
}

/**
 * L' of every setting, the repeats interleaved (setting 1, 2, …, then again), so a change of
 * load on a shared machine hits every setting alike instead of whichever ran at the time.
 */
async function measureAll(ctx: BenchContext, settings: Setting[]): Promise<OrtRow[]> {
  const { config, corpus, opts } = ctx;
  const batches = limitedBatches(corpus.rows, config.maxBatchSize, batchTokenBudget(config, corpus.folder));
  const backends: Backend[] = [];
  try {
    for (const s of settings) backends.push(await OrtBackend.create(s.opts));
    const runs = settings.map(() => [] as number[]);
    for (let r = 0; r < opts.repeats; r++) {
      for (let i = 0; i < settings.length; i++) runs[i]!.push(await measureRate(backends[i]!, batches));
      ctx.log(`  run ${r + 1}: ${settings.map((s, i) => `${s.what} ${runs[i]![r]!.toFixed(0)}`).join(', ')}`);
    }
    return settings.map((s, i) => ({
      what: s.what,
      workers: s.opts.workers,
      intraOpThreads: s.opts.intraOpThreads,
      graphOptimization: s.opts.graphOptimization ?? 'all',
      model: s.model,
      itemsPerSecond: spread(runs[i]!),
    }));
  } finally {
    await Promise.all(backends.map((b) => b.close()));
  }
}

/** Preference pairs of `file` as token rows (chosen, rejected, …), and how many pairs the service would refuse. */
function pairRowsOf(ctx: BenchContext, file: string): { rows: number[][]; skipped: number } {
  const folder = ctx.corpus.folder;
  const enc = new TokenEncoder(folder.tokenizerJson, folder.tokenizerConfig, folder.reward.maxLength);
  const fmt = new Formatter(folder.reward.template);
  const encode = (it: ScoreItem) => {
    const r = enc.encode(fmt.format(it), 'auto');
    return 'ids' in r ? r.ids : null;
  };
  const rows: number[][] = [];
  let skipped = 0;
  // --quick: the first 256 pairs are enough to show the harness works.
  const pairs = loadPreferencePairs(file);
  for (const p of ctx.opts.quick ? pairs.slice(0, 256) : pairs) {
    const c = encode(p.chosen);
    const r = encode(p.rejected);
    if (c && r) rows.push(c, r);
    else skipped++;
  }
  return { rows, skipped };
}

export async function ortSettingsSection(ctx: BenchContext): Promise<OrtResult> {
  const { config, corpus, opts } = ctx;
  const folder = corpus.folder;
  const cores = os.availableParallelism();
  const half = Math.max(1, Math.floor(cores / 2));
  const settings: Setting[] = [];
  const add = (what: string, over: Partial<OrtBackendOptions>, model = 'fp32') => settings.push({ what, model, opts: serviceBackend(ctx, over) });
  for (const t of [...new Set([1, half, cores])]) add(`1 worker × ${t} thread(s)`, { workers: 1, intraOpThreads: t });
  add(`2 workers × ${half} thread(s)`, { workers: 2, intraOpThreads: half });
  for (const level of ['disabled', 'basic', 'extended', 'all'] as const) add(`graph optimization ${level}`, { graphOptimization: level });

  const int8: { model: string; file: string }[] = [];
  let int8Skipped: string | undefined;
  try {
    for (const perChannel of [false, true]) int8.push({ model: perChannel ? 'int8 per channel' : 'int8 per tensor', file: quantize(folder.modelPath, perChannel) });
  } catch (err) {
    int8Skipped = `quantizer failed (needs /usr/bin/python3 with python3-onnx and python3-numpy, or PYTHON=...): ${String((err as { stderr?: Buffer }).stderr ?? err).split('\n').filter(Boolean).pop()}`;
    ctx.log(`  ${int8Skipped}`);
  }
  try {
    for (const q of int8) add(q.model, { modelPath: q.file }, q.model);
    const rows = await measureAll(ctx, settings);

    // Accuracy on preference pairs, fp32 and int8: the service's tokenizer and backend setup.
    const { rows: pairRows, skipped: skippedPairs } = pairRowsOf(ctx, opts.data);
    const head = typeof folder.reward.rewardHead === 'number' ? folder.reward.rewardHead : Math.max(0, folder.labels.indexOf(folder.reward.rewardHead));
    const accuracy: AccuracyRow[] = [];
    let fp32: number[] = [];
    for (const { model, file } of [{ model: 'fp32', file: folder.modelPath }, ...int8]) {
      let batchDependence = 0;
      const r = await withBackend(serviceBackend(ctx, { modelPath: file }), async (b) => {
        const batched = await rewards(b, pairRows, head, config.maxBatchSize, batchTokenBudget(config, folder));
        for (const [i, row] of pairRows.slice(0, ALONE).entries()) {
          const alone = await b.run(packRows([row]));
          batchDependence = Math.max(batchDependence, Math.abs(alone.logits[head]! - batched[i]!));
        }
        return batched;
      });
      if (model === 'fp32') fp32 = r;
      let correct = 0;
      let agree = 0;
      for (let i = 0; i < r.length; i += 2) {
        if (r[i]! > r[i + 1]!) correct++;
        if (r[i]! > r[i + 1]! === fp32[i]! > fp32[i + 1]!) agree++;
      }
      const pairs = r.length / 2;
      const row = { model, pairs, accuracy: correct / pairs, maxAbsDelta: Math.max(...r.map((x, i) => Math.abs(x - fp32[i]!))), agreement: agree / pairs, batchDependence };
      ctx.log(`  ${model}: accuracy ${row.accuracy.toFixed(4)} on ${pairs} pairs, max |Δr| ${row.maxAbsDelta.toExponential(2)}, agreement ${row.agreement.toFixed(4)}, batch dependence ${batchDependence.toExponential(2)}`);
      accuracy.push(row);
    }
    return { rows, data: path.relative(projectRoot(), opts.data), skippedPairs, accuracy, ...(int8Skipped && { int8Skipped }) };
  } finally {
    for (const q of int8) fs.rmSync(path.dirname(q.file), { recursive: true, force: true });
  }
}
