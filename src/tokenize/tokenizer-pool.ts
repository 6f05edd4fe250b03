import type { InputFormat, ScoreItem } from '../format/format.js';
import type { ModelFolder } from '../model/model-folder.js';
import type { PackedRows } from '../util/pack-rows.js';
import { WorkerClient } from '../workers/worker-client.js';
import { WorkerPool } from '../workers/worker-pool.js';
import type { EncodeFailure, TruncationMode } from './token-encoder.js';

/** What a tokenizer worker is started with. */
export interface TokenizeWorkerData {
  tokenizerJson: object;
  tokenizerConfig: object;
  maxLength: number;
  /** reward.json's `{prompt}`/`{response}` template. */
  template: string;
  /** tokenizer_config.json's chat template (Jinja), if any. */
  chatTemplate: string | null;
  /** Special-token strings the chat template may use (bos_token, eos_token, …). */
  specialTokens: Record<string, string>;
  /** TOKENIZER_LIBRARY: who tokenizes (TokenEncoder's truncation is the same for both). */
  library: 'huggingface' | 'rust';
  /** A process reward model's step tag: each item's count of it, before truncation, is returned. */
  stepTag: string | null;
}

/** What the tokenizer workers of a model folder start with. */
export function tokenizeWorkerData(folder: ModelFolder, library: TokenizeWorkerData['library']): TokenizeWorkerData {
  return {
    tokenizerJson: folder.tokenizerJson,
    tokenizerConfig: folder.tokenizerConfig,
    maxLength: folder.reward.maxLength,
    template: folder.reward.template,
    chatTemplate: folder.chatTemplate,
    specialTokens: { ...folder.specialTokens },
    library,
    stepTag: folder.reward.steps?.tag ?? null,
  };
}

/** What a tokenizer worker reports once loaded. */
export interface TokenizeInfo {
  specialTokens: number;
  /** Whether the tokenizer has a pair template (for `"format": "pair"`). */
  pairs: boolean;
}

/** One request's items, formatted and tokenized in the worker (rendering a chat template costs ~0.1 ms). */
export interface TokenizeRequest {
  items: ScoreItem[];
  format: InputFormat;
  mode: TruncationMode;
  /** Also return what each item was rendered to and its token strings (POST /tokenize). */
  explain?: boolean;
}

/** What one item was rendered to and its tokens as vocabulary strings (special tokens included). */
export interface ExplainedItem {
  text: string;
  /** The second text of a pair item. */
  textPair?: string;
  tokens: string[];
  /** Index in the ids where the last turn (the response) starts. */
  responseStart: number;
}

/** Token ids of a whole request, packed by packRows, and which items were truncated. */
export interface TokenizedBatch extends PackedRows {
  truncated: Uint8Array;
  /** With a step tag: per item, how many tags its whole rendered text holds (before truncation). */
  tags?: Int32Array;
  /** With `explain`: per item, in request order. */
  explained?: ExplainedItem[];
}

/** Why an item could not be tokenized: too long, or refused by the chat template. */
export type TokenizeFailure =
  | (EncodeFailure & { index: number })
  | { index: number; code: 'no_chat_template' | 'chat_template_error'; message: string };

/** A request fails as a whole at its first item that cannot be encoded. */
export type TokenizeResult = TokenizedBatch | { failure: TokenizeFailure };

/** Items one worker message may carry when requests are grouped (a bigger single request still goes alone). */
const GROUP_ITEMS = 256;

interface Pending {
  req: TokenizeRequest;
  resolve: (r: TokenizeResult) => void;
  reject: (e: Error) => void;
}

/**
 * Tokenizer worker threads. A request goes at once to an idle worker; requests that arrive
 * while every worker is busy wait here and go together, in one message, to the next free one.
 * One-item requests (an RL trainer's traffic) then cost one worker round trip per group, not
 * each, and the worker tokenizes the group in one pass.
 */
export class TokenizerPool {
  private readonly pool: WorkerPool<TokenizeInfo, TokenizeRequest[], TokenizeResult[]>;
  private readonly pending: Pending[] = [];
  private sent = 0;

  /** @param onRestart called when a dead worker is replaced */
  constructor(size: number, data: TokenizeWorkerData, onRestart?: () => void) {
    const url = new URL('./tokenize-worker.js', import.meta.url);
    this.pool = new WorkerPool(size, (i) => new WorkerClient(url, data, `tokenizer-${i}`), {
      onRestart: () => onRestart?.(),
      onAvailable: () => this.flush(),
    });
  }

  /** False while a dead worker is being replaced. */
  get healthy(): boolean {
    return this.pool.healthy;
  }

  /** Worker messages sent so far (each carries one or more requests). */
  get messages(): number {
    return this.sent;
  }

  /** Busy milliseconds of the tokenizer threads (see WorkerPool.busyMs). */
  busyMs(): number {
    return this.pool.busyMs();
  }

  async ready(): Promise<TokenizeInfo> {
    const infos = await this.pool.ready();
    return infos[0]!;
  }

  tokenize(items: ScoreItem[], format: InputFormat, mode: TruncationMode, explain = false): Promise<TokenizeResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req: { items, format, mode, ...(explain && { explain }) }, resolve, reject });
      this.flush();
    });
  }

  /** Sends what waits, in groups of at most GROUP_ITEMS items, to each idle worker. */
  private flush(): void {
    while (this.pending.length > 0 && this.pool.idle > 0) {
      let n = 0;
      let items = 0;
      while (n < this.pending.length && (n === 0 || items + this.pending[n]!.req.items.length <= GROUP_ITEMS)) items += this.pending[n++]!.req.items.length;
      const group = this.pending.splice(0, n);
      this.sent++;
      this.pool.call(group.map((p) => p.req)).then(
        (results) => group.forEach((p, i) => p.resolve(results[i]!)),
        (err: Error) => group.forEach((p) => p.reject(err)),
      );
    }
  }

  close(): Promise<void> {
    for (const p of this.pending.splice(0)) p.reject(new Error('tokenizer pool is closed'));
    return this.pool.terminate();
  }
}
