// The glibc malloc threshold the server starts with (malloc-env.ts sets it); without side
// effects, so that modules sized by it can import it without re-executing anything.

/** The variable glibc reads, and the value the server starts with unless it is already set. */
export const MALLOC_MMAP_THRESHOLD_ENV = 'MALLOC_MMAP_THRESHOLD_';
export const MALLOC_MMAP_THRESHOLD = '8388608';

/** The threshold `env` already sets, directly or through GLIBC_TUNABLES. */
export function thresholdFromEnv(env: NodeJS.ProcessEnv): string | null {
  const direct = env[MALLOC_MMAP_THRESHOLD_ENV];
  if (direct !== undefined && direct !== '') return direct;
  const tunable = /(?:^|:)glibc\.malloc\.mmap_threshold=([^:]*)/.exec(env.GLIBC_TUNABLES ?? '');
  return tunable ? tunable[1]! : null;
}
