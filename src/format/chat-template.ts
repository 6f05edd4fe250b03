import { Template } from '@huggingface/jinja';
import { FormatError, type Message } from './format.js';
import { installPythonSemantics } from './jinja-python.js';

installPythonSemantics();

/** What a chat template is rendered with besides the messages: the tokenizer's special tokens. */
export type SpecialTokens = Readonly<Record<string, string>>;

const PROBE_USER = '\u0001';
const PROBE_ASSISTANT = '\u0002';

/**
 * Text parts joined with "\n" into one string, as vLLM does for text-only models
 * (vllm/entrypoints/chat_utils.py, _parse_chat_message_content_parts: text_prompt = "\n".join(texts)).
 */
function joinParts(m: Message): Message {
  return typeof m.content === 'string' ? m : { ...m, content: m.content.map((p) => p.text).join('\n') };
}

/**
 * A tokenizer's chat_template (Jinja), rendered as transformers' apply_chat_template does with
 * add_generation_prompt false: by @huggingface/jinja with Python Jinja2's string semantics
 * (./jinja-python.ts), byte-identical on the golden set.
 */
export class ChatTemplate {
  private readonly template: Template;
  /** Text between a user turn's content and the next assistant turn's content, if learnable. */
  readonly marker: string | null;

  constructor(
    source: string,
    private readonly specialTokens: SpecialTokens,
  ) {
    this.template = new Template(source);
    this.marker = this.learnMarker();
  }

  /** @throws FormatError when the template refuses the conversation (raise_exception or a runtime error). */
  render(messages: Message[]): string {
    try {
      return this.template.render({ ...this.specialTokens, messages: messages.map(joinParts), add_generation_prompt: false });
    } catch (err) {
      throw new FormatError('chat_template_error', `the chat template refused the conversation: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
    }
  }

  /** The rendered text up to the start of the last assistant turn's content, or null. */
  lastTurnPrefix(text: string): string | null {
    if (!this.marker) return null;
    const at = text.lastIndexOf(this.marker);
    return at < 0 ? null : text.slice(0, at + this.marker.length);
  }

  private learnMarker(): string | null {
    // Some templates insist on a system turn first; try both shapes.
    for (const lead of [[], [{ role: 'system', content: 'S' }]]) {
      try {
        const text = this.template.render({
          ...this.specialTokens,
          messages: [...lead, { role: 'user', content: PROBE_USER }, { role: 'assistant', content: PROBE_ASSISTANT }],
          add_generation_prompt: false,
        });
        const u = text.indexOf(PROBE_USER);
        const a = text.indexOf(PROBE_ASSISTANT);
        if (u >= 0 && a > u + 1) return text.slice(u + 1, a);
      } catch {
        // try the next shape
      }
    }
    return null;
  }
}
