// glibc's malloc keeps freed blocks for reuse, and after each large free it raises the size from
// which it maps a block on its own. With ONNX Runtime's arena off, a large model's activations are
// large blocks allocated and freed on every run; they end up in heaps that are never returned, and
// peak RSS climbs to several times what one run needs. A fixed mmap threshold maps every block of
// 8 MiB or more on its own, returned to the system when freed. Lower thresholds bound memory a
// little more but page-fault every mid-sized tensor on every run (bench/RESULTS.md has both).
// A fixed mmap threshold also freezes the trim threshold at 128 KiB (glibc raises both together
// otherwise): the free top of a heap is returned after every run and the next run faults the same
// pages in again. A trim threshold of 256 MiB keeps a run's smaller blocks in the heap
// (docs/performance.md has the A/B).
//
// glibc reads the variables once, at process start. So this module, imported first by server.ts,
// re-executes the process with them set (process.execve: same pid, same arguments) unless the
// environment already chose. Node 20 has no execve: there the server logs how to set them.
import { MALLOC_VARIABLES, mallocValueFromEnv, type MallocVariable } from './malloc-threshold.js';

/** How this process's malloc settings were chosen. */
export interface MallocSetting {
  /** Each variable's value in force (by variable name), as the environment gives it; null where glibc's default is used. */
  values: Record<string, string | null>;
  /** The settings glibc's default is used for; empty once all are set. */
  unset: readonly MallocVariable[];
  /** Why they could not be set on Linux (no execve, execve failed); absent elsewhere. */
  reason?: string;
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

function ensureMallocSettings(): MallocSetting {
  const values = Object.fromEntries(MALLOC_VARIABLES.map((v) => [v.env, mallocValueFromEnv(process.env, v)]));
  const missing = MALLOC_VARIABLES.filter((v) => values[v.env] === null);
  const setting: MallocSetting = { values, unset: missing };
  // Other systems' allocators do not read them.
  if (missing.length === 0 || process.platform !== 'linux') return setting;
  const proc = process as unknown as { execve?: Execve };
  if (typeof proc.execve !== 'function') {
    return { ...setting, reason: `Node ${process.versions.node} has no process.execve (Node 22.15 or later)` };
  }
  try {
    return proc.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      ...process.env,
      ...Object.fromEntries(missing.map((v) => [v.env, v.value])),
    });
  } catch (err) {
    return { ...setting, reason: `execve failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** This process's setting, decided (and the process re-executed if need be) when this module loads. */
export const mallocSetting: MallocSetting = ensureMallocSettings();
