/** Resolves once `cond` holds, checked every couple of milliseconds: a test waits for the event itself, not a guessed sleep. */
export async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 2));
}
