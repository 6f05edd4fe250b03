import type { Config } from '../../src/config.js';
import { backendOptions } from '../../src/core/runtime.js';
import type { OrtBackendOptions } from '../../src/infer/ort-backend.js';
import type { Corpus } from './limit.js';

/** Command-line options of `npm run bench` (see bench/bench.ts). */
export interface BenchOptions {
  quick: boolean;
  repeats: number;
  /** Seconds per service run (sections 2, 4, 5). */
  seconds: number;
  /** Seconds per dynamic-batching run (section 3), per client count. */
  batchingSeconds: number;
  /** Minutes of saturation before the last RSS reading (section 7). */
  minutes: number;
  /** Concurrent clients of the service run. */
  clients: number;
  /** Items per client request, and per batch of L. */
  batch: number;
  /** Client counts of the dynamic-batching sweep. */
  batchingClients: number[];
  /** Checkpoint shapes of the scale section (bench/lib/scale-models.ts SCALE_SHAPES). */
  scaleModels: string[];
  /** Shortest measured window of each scale load, seconds (longer where two rounds need it). */
  scaleSeconds: number;
  /** Longest round (every client answered once) a scale load's warm-up and window are sized by, s. */
  scaleRoundCap: number;
  /** Preference pairs for the int8 accuracy check. */
  data: string;
  modelDir: string;
}

/** What every section gets: options, the service's own config, and the tokenized HH items. */
export interface BenchContext {
  opts: BenchOptions;
  config: Config;
  corpus: Corpus;
  log(line: string): void;
}

/** ORT backend options as the service builds them from its config. */
export function serviceBackend(ctx: BenchContext, over: Partial<OrtBackendOptions> = {}): OrtBackendOptions {
  return { ...backendOptions(ctx.config, ctx.corpus.folder), ...over };
}
