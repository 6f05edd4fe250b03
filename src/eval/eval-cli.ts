import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { PairMetrics } from './pair-metrics.js';
import { modelDirTarget, urlTarget, type EvalTarget } from './eval-target.js';
import { readPairs } from './read-pairs.js';
import { runEval, type EvalReport } from './run-eval.js';

const USAGE = `usage: npm run eval -- (--model-dir DIR | --url URL) --data FILE [--json OUT] [--temperature T]

Measures a reward model on preference pairs (JSONL or JSONL.gz):
  HH style                {"chosen": dialogue, "rejected": dialogue}
  RewardBench style       {"prompt", "chosen", "rejected", "subset"?}
--model-dir scores in this process with the service's own pipeline; --url scores through a running
service's POST /score. Accuracy counts strict r(chosen) > r(rejected) (ties are wrong); ECE is of
σ(Δ/T) over 10 bins, T from the model's reward.json unless --temperature is given.`;

/** Thrown for bad command-line use: printed with the usage, exit 2. */
class UsageError extends Error {}

interface CliOptions {
  modelDir?: string;
  url?: string;
  data: string;
  json?: string;
  temperature?: number;
}

function parse(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'model-dir': { type: 'string' },
      url: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'string' },
      temperature: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.data) throw new UsageError('--data is required');
  if (!values['model-dir'] === !values.url) throw new UsageError('give exactly one of --model-dir and --url');
  const t = values.temperature === undefined ? undefined : Number(values.temperature);
  if (t !== undefined && !(t > 0 && Number.isFinite(t))) throw new UsageError('--temperature must be a positive number');
  return { modelDir: values['model-dir'], url: values.url, data: values.data, json: values.json, temperature: t };
}

const fmt = (x: number, d = 4) => x.toFixed(d);

/** The human-readable report: header, then one row per subset and the total. */
export function formatReport(r: EvalReport): string {
  const row = (name: string, m: PairMetrics) =>
    [name.padEnd(24), String(m.pairs).padStart(6), fmt(m.accuracy).padStart(9), String(m.ties).padStart(5), fmt(m.meanMargin).padStart(12), fmt(m.ece).padStart(7)].join(' ');
  const lines = [
    `model ${r.model} (${r.target}), T ${r.temperature}`,
    `data  ${r.data}: ${r.overall.pairs} pairs, ${r.items} items in ${fmt(r.seconds, 1)} s (${fmt(r.itemsPerSecond, 1)} items/s)`,
    '',
    ['subset'.padEnd(24), 'pairs'.padStart(6), 'accuracy'.padStart(9), 'ties'.padStart(5), 'mean margin'.padStart(12), 'ECE'.padStart(7)].join(' '),
  ];
  const names = Object.keys(r.subsets);
  if (names.length > 1) for (const s of names) lines.push(row(s, r.subsets[s]!));
  lines.push(row(names.length > 1 ? 'total' : (names[0] ?? 'total'), r.overall));
  lines.push('', `accuracy ${fmt(r.overall.accuracy)} (${r.overall.correct}/${r.overall.pairs} strictly preferred chosen; ${r.overall.ties} ties counted wrong)`);
  return lines.join('\n');
}

/** A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal. */
function progressBar(): ((done: number, total: number, s: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, s) => {
    const width = 30;
    const fill = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} pairs, ${((2 * done) / s).toFixed(1)} items/s`);
    if (done === total) process.stderr.write('\n');
  };
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parse(argv);
  } catch (err) {
    console.error(`eval: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { pairs } = readPairs(opts.data);
  const target: EvalTarget = opts.url ? await urlTarget(opts.url) : await modelDirTarget(opts.modelDir!);
  try {
    const report = await runEval(target, pairs, opts.data, { temperature: opts.temperature, onProgress: progressBar() });
    console.log(formatReport(report));
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
    return 0;
  } finally {
    await target.close();
  }
}

// Run when executed directly (not when a test imports formatReport).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      console.error(`eval: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
