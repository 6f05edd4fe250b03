// glibc's malloc keeps freed blocks for reuse, and after each large free it raises the size from
// which it maps a block on its own. With ONNX Runtime's arena off, a large model's activations are
// large blocks allocated and freed on every run; they end up in heaps that are never returned, and
// peak RSS climbs to several times what one run needs. A fixed threshold maps every block of
// 8 MiB or more on its own, returned to the system when freed. Lower thresholds bound memory a
// little more but page-fault every mid-sized tensor on every run (bench/RESULTS.md has both).
//
// glibc reads the variable once, at process start. So this module, imported first by server.ts,
// re-executes the process with it set (process.execve: same pid, same arguments) unless the
// environment already chose. Node 20 has no execve: there the server logs how to set it.
import { MALLOC_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_ENV, thresholdFromEnv } from './malloc-threshold.js';

export { MALLOC_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_ENV, thresholdFromEnv };

/** How this process's malloc threshold was chosen. */
export interface MallocSetting {
  /** The threshold in force, as the environment gives it; null when glibc's dynamic default is used. */
  threshold: string | null;
  /** `environment`: set before start (by the user, or by this module before re-executing); `none`: not set, see `reason`. */
  source: 'environment' | 'none';
  /** Why it could not be set on Linux (no execve, execve failed); absent elsewhere. */
  reason?: string;
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

function ensureMallocThreshold(): MallocSetting {
  const set = thresholdFromEnv(process.env);
  if (set !== null) return { threshold: set, source: 'environment' };
  // Other systems' allocators do not read it.
  if (process.platform !== 'linux') return { threshold: null, source: 'none' };
  const proc = process as unknown as { execve?: Execve };
  if (typeof proc.execve !== 'function') {
    return { threshold: null, source: 'none', reason: `Node ${process.versions.node} has no process.execve (Node 22.15 or later)` };
  }
  try {
    return proc.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      ...process.env,
      [MALLOC_MMAP_THRESHOLD_ENV]: MALLOC_MMAP_THRESHOLD,
    });
  } catch (err) {
    return { threshold: null, source: 'none', reason: `execve failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** This process's setting, decided (and the process re-executed if need be) when this module loads. */
export const mallocSetting: MallocSetting = ensureMallocThreshold();
