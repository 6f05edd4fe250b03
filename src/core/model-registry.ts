import type { ModelRuntime } from './runtime.js';

/**
 * The loaded models by name. One today (MODEL_DIR); requests that name a model, and
 * ensembles, plug in here.
 */
export class ModelRegistry {
  private readonly byName = new Map<string, ModelRuntime>();
  /** The model that answers requests naming none. */
  readonly default: ModelRuntime;

  constructor(runtimes: readonly ModelRuntime[]) {
    if (runtimes.length === 0) throw new Error('a registry needs at least one model');
    for (const rt of runtimes) {
      if (this.byName.has(rt.folder.name)) throw new Error(`two models are named ${rt.folder.name}`);
      this.byName.set(rt.folder.name, rt);
    }
    this.default = runtimes[0]!;
  }

  all(): ModelRuntime[] {
    return [...this.byName.values()];
  }
}
