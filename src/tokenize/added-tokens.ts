/** What AddedTokenSplitter reads of a tokenizer.json. */
interface AddedSpec {
  normalizer?: unknown;
  added_tokens?: { id: number; content: string; lstrip?: boolean; rstrip?: boolean; single_word?: boolean; normalized?: boolean }[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Splits a text at its added tokens (`<|im_start|>`, `<|eot_id|>`, …), as the tokenizers library
 * does before it normalizes and pre-tokenizes each part on its own: tokenizing the parts one by
 * one gives exactly the ids of the whole, and a part that recurs (one prompt beside many
 * responses) can be tokenized once. Only for tokenizers whose added tokens match raw text with
 * no strip or word-boundary rules; null otherwise.
 */
export class AddedTokenSplitter {
  private constructor(
    private readonly pattern: RegExp,
    private readonly ids: ReadonlyMap<string, number>,
  ) {}

  static from(tokenizerJson: object): AddedTokenSplitter | null {
    const t = tokenizerJson as AddedSpec;
    const added = t.added_tokens ?? [];
    if (added.length === 0) return null;
    const plain = added.every((a) => !a.lstrip && !a.rstrip && !a.single_word && (a.normalized !== true || t.normalizer == null));
    if (!plain) return null;
    // Longest first: the library matches the longest added token at a position.
    const contents = [...added].sort((a, b) => b.content.length - a.content.length).map((a) => escape(a.content));
    return new AddedTokenSplitter(new RegExp(contents.join('|'), 'g'), new Map(added.map((a) => [a.content, a.id])));
  }

  /** The text as its parts in order: strings to tokenize, and ids of the added tokens between them. */
  split(text: string): (string | number)[] {
    const out: (string | number)[] = [];
    let at = 0;
    for (const m of text.matchAll(this.pattern)) {
      if (m.index > at) out.push(text.slice(at, m.index));
      out.push(this.ids.get(m[0])!);
      at = m.index + m[0].length;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  }
}
