/** An item as clients send it: a prompt/response pair to join with the model's template, or finished text. */
export type ScoreItem = { prompt: string; response: string } | { text: string };

/**
 * An item rendered to the exact text the model reads. `prefix` is the part before the
 * response (null for pre-formatted text): truncation drops prompt tokens and keeps the rest.
 */
export interface FormattedItem {
  readonly text: string;
  readonly prefix: string | null;
}

/** Renders items with one model's template (`{prompt}` and `{response}` placeholders). */
export class Formatter {
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;

  constructor(template: string) {
    // split, not String.replace: user text containing "$&" must stay literal.
    const [head, rest] = template.split('{prompt}') as [string, string];
    const [middle, tail] = rest.split('{response}') as [string, string];
    this.head = head;
    this.middle = middle;
    this.tail = tail;
  }

  format(item: ScoreItem): FormattedItem {
    if ('text' in item) return { text: item.text, prefix: null };
    const prefix = this.head + item.prompt + this.middle;
    return { text: prefix + item.response + this.tail, prefix };
  }
}
