import fs from 'node:fs';
import type { delta } from './metrics.js';
import type { BenchServer } from './server.js';

/**
 * Where the CPU went during a run, in cores (CPU seconds per second): the server's event loop,
 * tokenizer and ORT threads (reward_thread_busy_seconds_total), the whole server process (every
 * thread, from /proc), and this process, the load client.
 */
export interface Cores {
  main: number;
  tokenize: number;
  infer: number;
  server: number;
  client: number;
}

/** CPU seconds (user + system, every thread) of a process so far, from /proc (Linux; 100 ticks/s). */
function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Starts a CPU reading; call the result with the run's metrics delta when the run ends. */
export function cpuMeter(s: BenchServer): (d: ReturnType<typeof delta>) => Cores {
  const server = processCpuSeconds(s.proc.pid!);
  const client = process.cpuUsage();
  const at = performance.now();
  return (d) => {
    const wall = (performance.now() - at) / 1000;
    const used = process.cpuUsage(client);
    const busy = (pool: string) => d.total('reward_thread_busy_seconds_total', `pool="${pool}"`) / wall;
    return {
      main: busy('main'),
      tokenize: busy('tokenize'),
      infer: busy('infer'),
      server: (processCpuSeconds(s.proc.pid!) - server) / wall,
      client: (used.user + used.system) / 1e6 / wall,
    };
  };
}

/** The keys of Cores, for spreadOf. */
export const CORE_KEYS = ['main', 'tokenize', 'infer', 'server', 'client'] as const;
