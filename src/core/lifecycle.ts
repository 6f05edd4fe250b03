import { ServiceError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ModelRegistry } from './model-registry.js';
import type { ScoringTarget } from './scoring-target.js';

/** Where the process is: loading the model, serving, or draining after SIGTERM. */
export type Phase = 'starting' | 'ready' | 'draining';

/**
 * The service's state shared by the process (server.ts) and the HTTP layer. The HTTP server
 * listens before the model is loaded, so liveness answers during a long load.
 */
export class Lifecycle {
  phase: Phase = 'starting';
  private loaded: ModelRegistry | null = null;

  constructor(readonly metrics: Metrics) {}

  /** Marks the models loaded and warmed up. */
  ready(models: ModelRegistry): void {
    this.loaded = models;
    if (this.phase === 'starting') this.phase = 'ready';
  }

  /** From now on new work is refused with 503; accepted work still finishes. */
  drain(): void {
    this.phase = 'draining';
  }

  /** The loaded models, if any (for read-only routes that also answer while draining). */
  get models(): ModelRegistry | null {
    return this.loaded;
  }

  /**
   * Readiness for /health/ready: loaded, warmed up, not draining, and no worker being replaced.
   * @throws ServiceError 503 otherwise.
   */
  checkReady(): void {
    if (this.phase === 'draining') throw new ServiceError('shutting_down');
    if (!this.loaded || this.phase !== 'ready') throw new ServiceError('not_ready');
    if (!this.loaded.all().every((m) => m.healthy())) throw new ServiceError('not_ready', 'A worker is being restarted');
  }

  /**
   * The model or ensemble for new scoring work: the one named, or the default (`byPath`: see
   * ModelRegistry.resolve).
   * @throws ServiceError 503 while starting or draining; 404 model_not_found for an unknown name.
   */
  acceptWork(model?: string, opts: { byPath?: boolean } = {}): ScoringTarget {
    if (this.phase === 'draining') throw new ServiceError('shutting_down');
    if (!this.loaded || this.phase !== 'ready') throw new ServiceError('not_ready');
    return this.loaded.resolve(model, opts);
  }
}
