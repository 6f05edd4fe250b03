// The glibc malloc settings the server starts with (malloc-env.ts sets them); without side
// effects, so that modules sized by them can import them without re-executing anything.

/** One glibc malloc setting: the variable glibc reads, its GLIBC_TUNABLES name, and the server's value. */
export interface MallocVariable {
  env: string;
  tunable: string;
  value: string;
}

/** Blocks of this many bytes or more get their own mapping, returned to the system when freed. */
export const MALLOC_MMAP_THRESHOLD = '8388608';
export const MALLOC_MMAP_THRESHOLD_ENV = 'MALLOC_MMAP_THRESHOLD_';
/** Free memory at the top of a heap is kept up to this many bytes instead of being returned after every free. */
export const MALLOC_TRIM_THRESHOLD = '268435456';
export const MALLOC_TRIM_THRESHOLD_ENV = 'MALLOC_TRIM_THRESHOLD_';

/** Every setting the server starts with unless the environment already chose it. */
export const MALLOC_VARIABLES: readonly MallocVariable[] = [
  { env: MALLOC_MMAP_THRESHOLD_ENV, tunable: 'glibc.malloc.mmap_threshold', value: MALLOC_MMAP_THRESHOLD },
  { env: MALLOC_TRIM_THRESHOLD_ENV, tunable: 'glibc.malloc.trim_threshold', value: MALLOC_TRIM_THRESHOLD },
];

/** The value `env` already gives `v`, directly or through GLIBC_TUNABLES; null when unset. */
export function mallocValueFromEnv(env: NodeJS.ProcessEnv, v: MallocVariable): string | null {
  const direct = env[v.env];
  if (direct !== undefined && direct !== '') return direct;
  const name = v.tunable.replaceAll('.', '\\.');
  const tunable = new RegExp(`(?:^|:)${name}=([^:]*)`).exec(env.GLIBC_TUNABLES ?? '');
  return tunable ? tunable[1]! : null;
}
