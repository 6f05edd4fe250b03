import type { Config } from '../config.js';
import { OrtBackend } from '../infer/ort-backend.js';
import type { Metrics } from '../metrics.js';
import { ModelRegistry } from './model-registry.js';
import { createRuntime, type BackendFactory, type ModelRuntime } from './runtime.js';

/**
 * Loads every configured model folder (one after another: each load is CPU-bound), runs each
 * one's padding self-check, warms each up if asked, and builds the registry with the configured ensembles. On failure, whatever was
 * loaded is closed again.
 * @throws ModelLoadError or Error naming the folder, file or ensemble at fault.
 */
export async function loadModels(config: Config, metrics: Metrics, makeBackend: BackendFactory = OrtBackend.create): Promise<ModelRegistry> {
  const loaded: ModelRuntime[] = [];
  try {
    for (const dir of config.models) {
      const rt = await createRuntime(config, metrics, makeBackend, dir);
      loaded.push(rt);
      await rt.selfCheck();
      if (config.warmup) await rt.warmup();
    }
    const watch = config.watch ? { settings: { window: config.watchWindow, buckets: config.watchBuckets }, metrics } : undefined;
    return new ModelRegistry(loaded, { ensembles: config.ensembles, ensembleK: config.ensembleK, defaultName: config.defaultModel, watch });
  } catch (err) {
    await Promise.all(loaded.map((rt) => rt.close()));
    throw err;
  }
}
