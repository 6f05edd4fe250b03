import type { ChatTemplate } from './chat-template.js';

/** One text part of a message's content, OpenAI style. */
export interface TextPart {
  type: 'text';
  text: string;
}

/**
 * One turn of a conversation, OpenAI style. `content` is text or a list of text parts (joined
 * with "\n" before rendering); the optional fields reach the chat template unchanged (Qwen3's
 * reads `reasoning_content` and `tool_calls`, Mistral's `tool_call_id`).
 */
export interface Message {
  role: string;
  content: string | TextPart[];
  reasoning_content?: string;
  name?: string;
  tool_calls?: Record<string, unknown>[];
  tool_call_id?: string;
}

/**
 * An item as clients send it: a prompt/response pair joined per the input format, a
 * conversation (whole, or a prompt conversation plus the response), finished text, or token ids
 * (vLLM's token input, read as given). `specialTokens: false` tokenizes a conversation or text
 * without the tokenizer's special tokens (vLLM's `add_special_tokens`); such an item, like ids,
 * is truncated by dropping its oldest tokens.
 */
export type ScoreItem = { prompt: string | Message[]; response: string } | { messages: Message[]; specialTokens?: boolean }
  | { text: string; specialTokens?: boolean } | { ids: number[] };

/**
 * How `{prompt, response}` items become model input: the reward.json string template, the
 * tokenizer's chat template, or a tokenizer text pair (with token_type_ids).
 */
export type InputFormat = 'template' | 'chat' | 'pair';

/**
 * An item rendered to what the model reads. `prefix` is the part of `text` before the last
 * assistant turn (null when there is none): truncation drops its oldest tokens and keeps the
 * rest. With `second`, the item is a text pair (`text`, `second`), tokenized as two sequences
 * with their token type ids; truncation then drops from the start of `text`.
 */
export interface FormattedItem {
  readonly text: string;
  readonly prefix: string | null;
  readonly second?: string;
  /**
   * Pre-formatted `{text}`: when even its last turn does not fit, cut it from the left like any
   * over-long text (and mark it truncated) instead of refusing it. OpenRLHF-style clients send
   * whole rollouts as text and cannot shorten them; structured items get 422 instead.
   */
  readonly cutLastTurn?: boolean;
  /** False: tokenize without the tokenizer's special tokens (and never strip any from the text). */
  readonly specials?: false;
  /** Token ids given by the client: not tokenized, only checked and truncated. */
  readonly ids?: readonly number[];
  /** Cut to the characters that can reach the model before tokenizing (see char-window.ts). */
  readonly windowed?: boolean;
}

/** Thrown for an item the model's formats cannot render; the caller maps it to a 422. */
export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    readonly code: 'no_chat_template' | 'chat_template_error',
    message: string,
  ) {
    super(message);
  }
}

/** Whether rendering the item needs the chat template under `format`. */
export function needsChat(item: ScoreItem, format: InputFormat): boolean {
  if ('messages' in item) return true;
  if ('text' in item || 'ids' in item) return false;
  return typeof item.prompt !== 'string' || format === 'chat';
}

/** Renders items with one model's string template and, if it has one, its chat template. */
export class Formatter {
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;

  constructor(
    template: string,
    private readonly chat: ChatTemplate | null = null,
  ) {
    // split, not String.replace: user text containing "$&" must stay literal.
    const [head, rest] = template.split('{prompt}') as [string, string];
    const [middle, tail] = rest.split('{response}') as [string, string];
    this.head = head;
    this.middle = middle;
    this.tail = tail;
  }

  /** @throws FormatError when the item needs a chat template the model lacks, or the template refuses it. */
  format(item: ScoreItem, format: InputFormat = 'template'): FormattedItem {
    if ('ids' in item) return { text: '', prefix: null, ids: item.ids };
    const f = this.render(item, format);
    return 'specialTokens' in item && item.specialTokens === false ? { text: f.text, prefix: null, specials: false } : f;
  }

  private render(item: Exclude<ScoreItem, { ids: number[] }>, format: InputFormat): FormattedItem {
    if ('text' in item) return { text: item.text, prefix: this.lastTurnPrefix(item.text, format), cutLastTurn: true };
    if ('messages' in item) return this.renderChat(item.messages);
    if (typeof item.prompt !== 'string') return this.renderChat([...item.prompt, { role: 'assistant', content: item.response }]);
    if (format === 'pair') return { text: item.prompt, prefix: null, second: item.response };
    if (format === 'chat') return this.renderChat([{ role: 'user', content: item.prompt }, { role: 'assistant', content: item.response }]);
    const prefix = this.head + item.prompt + this.middle;
    return { text: prefix + item.response + this.tail, prefix };
  }

  private renderChat(messages: Message[]): FormattedItem {
    if (!this.chat) throw new FormatError('no_chat_template', 'this model has no chat template (chat_template.jinja or tokenizer_config.json chat_template); send {"prompt", "response"} or {"text"}');
    const text = this.chat.render(messages);
    const last = messages[messages.length - 1];
    return { text, prefix: last?.role === 'assistant' ? this.chat.lastTurnPrefix(text) : null };
  }

  /** For pre-formatted text: everything up to the last assistant marker of the format. */
  private lastTurnPrefix(text: string, format: InputFormat): string | null {
    if (format === 'chat') return this.chat?.lastTurnPrefix(text) ?? null;
    if (format === 'pair' || this.middle.length === 0) return null;
    const at = text.lastIndexOf(this.middle);
    return at < 0 ? null : text.slice(0, at + this.middle.length);
  }
}
