import type { EnsembleSpec } from '../config.js';
import { ServiceError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { RewardWatch, type WatchSettings } from '../watch/reward-watch.js';
import { Ensemble } from './ensemble.js';
import type { ModelRuntime } from './runtime.js';
import { ModelTarget, type ScoringTarget } from './scoring-target.js';

/** How the registry is assembled besides the models: ensembles and the default name. */
export interface RegistryOptions {
  ensembles?: readonly EnsembleSpec[];
  /** k of every ensemble unless a request sets one. */
  ensembleK?: number;
  /** Model or ensemble answering requests that name none; '' or absent = the first model. */
  defaultName?: string;
  /** Watch every model and ensemble for over-optimization, exporting the figures to these metrics; off when absent. */
  watch?: { settings: WatchSettings; metrics: Metrics } | undefined;
}

/** The loaded models and the ensembles over them, by name; requests pick one with "model". */
export class ModelRegistry {
  private readonly models = new Map<string, ModelTarget>();
  private readonly groups = new Map<string, Ensemble>();
  private readonly watches = new Map<string, RewardWatch>();
  /** The target that answers requests naming none. */
  readonly defaultTarget: ScoringTarget;

  /** @throws Error naming the duplicate or unknown model (a startup error). */
  constructor(runtimes: readonly ModelRuntime[], opts: RegistryOptions = {}) {
    if (runtimes.length === 0) throw new Error('a registry needs at least one model');
    for (const rt of runtimes) {
      if (this.models.has(rt.folder.name)) throw new Error(`two models are named ${rt.folder.name}`);
      const f = rt.folder;
      // The built-in {mean: 0, std: 1} is no training distribution: no drift figures then.
      const training = f.sources.normalization.startsWith('reward.json') ? f.reward.normalization : null;
      this.models.set(f.name, new ModelTarget(rt, this.watchOf(f.name, 'model', training, opts)));
    }
    for (const spec of opts.ensembles ?? []) {
      if (this.models.has(spec.name) || this.groups.has(spec.name)) throw new Error(`ensemble ${spec.name}: the name is already taken`);
      const members = spec.members.map((m) => {
        const t = this.models.get(m);
        if (!t) throw new Error(`ensemble ${spec.name}: no served model is named ${m} (models: ${[...this.models.keys()].join(', ')})`);
        return t;
      });
      if (new Set(spec.members).size !== members.length) throw new Error(`ensemble ${spec.name}: a model is listed twice`);
      this.groups.set(spec.name, new Ensemble(spec.name, members, opts.ensembleK ?? 1, this.watchOf(spec.name, 'ensemble', null, opts)));
    }
    const name = opts.defaultName || runtimes[0]!.folder.name;
    const target = this.models.get(name) ?? this.groups.get(name);
    if (!target) throw new Error(`DEFAULT_MODEL ${name} is neither a served model nor an ensemble`);
    this.defaultTarget = target;
  }

  private watchOf(name: string, kind: 'model' | 'ensemble', training: { mean: number; std: number } | null, opts: RegistryOptions): RewardWatch | undefined {
    if (!opts.watch) return undefined;
    const w = new RewardWatch(name, kind, training, opts.watch.settings);
    this.watches.set(name, w);
    opts.watch.metrics.addWatch(w);
    return w;
  }

  /**
   * The over-optimization watch of a model or ensemble by name, or of the default target.
   * @throws ServiceError 404 model_not_found for an unknown name, not_found when the watch is off.
   */
  watch(name: string | undefined): RewardWatch {
    const target = this.resolve(name);
    const w = this.watches.get(target.name);
    if (!w) throw new ServiceError('not_found', 'The reward watch is off (WATCH=false)');
    return w;
  }

  /** The default model's runtime, or the first model's when an ensemble is the default. */
  get default(): ModelRuntime {
    return this.defaultTarget instanceof ModelTarget ? this.defaultTarget.runtime : this.all()[0]!;
  }

  /** Every served model, in configuration order. */
  all(): ModelRuntime[] {
    return [...this.models.values()].map((t) => t.runtime);
  }

  ensembles(): Ensemble[] {
    return [...this.groups.values()];
  }

  /**
   * The model or ensemble a request names, or the default. With `byPath`, a name that is no
   * served name but contains "/" (a checkpoint path, as verl sends its reward model's path)
   * resolves to the served model named like its last path segment.
   * @throws ServiceError 404 model_not_found.
   */
  resolve(name: string | undefined, opts: { byPath?: boolean } = {}): ScoringTarget {
    if (name === undefined) return this.defaultTarget;
    const t = this.models.get(name) ?? this.groups.get(name) ?? (opts.byPath ? this.byLastSegment(name) : undefined);
    if (!t) {
      const known = [...this.models.keys(), ...this.groups.keys()].map((n) => JSON.stringify(n)).join(', ');
      throw new ServiceError('model_not_found', `No model or ensemble named ${JSON.stringify(name.slice(0, 128))}; served: ${known}`);
    }
    return t;
  }

  /** The served model named like the last segment of a path ("/ckpt/Name/" → "Name"), if any. */
  private byLastSegment(name: string): ModelTarget | undefined {
    if (!name.includes('/')) return undefined;
    const last = name.replace(/\/+$/, '').split('/').pop();
    return last ? this.models.get(last) : undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((rt) => rt.close()));
  }
}
