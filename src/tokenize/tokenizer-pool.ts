import type { FormattedItem } from '../format/format.js';
import type { PackedRows } from '../util/pack-rows.js';
import { WorkerClient } from '../workers/worker-client.js';
import { WorkerPool } from '../workers/worker-pool.js';
import type { EncodeFailure, TruncationMode } from './token-encoder.js';

/** What a tokenizer worker is started with. */
export interface TokenizeWorkerData {
  tokenizerJson: object;
  tokenizerConfig: object;
  maxLength: number;
  /** The pad token's string from tokenizer_config.json, if any. */
  padToken: string | null;
}

/** What a tokenizer worker reports once loaded. */
export interface TokenizeInfo {
  specialTokens: number;
  padTokenId: number | null;
}

export interface TokenizeRequest {
  items: FormattedItem[];
  mode: TruncationMode;
}

/** Token ids of a whole request, packed by packRows, and which items were truncated. */
export interface TokenizedBatch extends PackedRows {
  truncated: Uint8Array;
}

/** A request fails as a whole at its first item that cannot be encoded. */
export type TokenizeResult = TokenizedBatch | { failure: EncodeFailure & { index: number } };

/** Tokenizer worker threads; each request goes whole to the least busy one. */
export class TokenizerPool {
  private readonly pool: WorkerPool<TokenizeInfo, TokenizeRequest, TokenizeResult>;

  /** @param onRestart called when a dead worker is replaced */
  constructor(size: number, data: TokenizeWorkerData, onRestart?: () => void) {
    const url = new URL('./tokenize-worker.js', import.meta.url);
    this.pool = new WorkerPool(size, (i) => new WorkerClient(url, data, `tokenizer-${i}`), { onRestart: () => onRestart?.() });
  }

  /** False while a dead worker is being replaced. */
  get healthy(): boolean {
    return this.pool.healthy;
  }

  async ready(): Promise<TokenizeInfo> {
    const infos = await this.pool.ready();
    return infos[0]!;
  }

  tokenize(items: FormattedItem[], mode: TruncationMode): Promise<TokenizeResult> {
    return this.pool.call({ items, mode });
  }

  close(): Promise<void> {
    return this.pool.terminate();
  }
}
