// Python's str semantics that chat templates rely on, for strings rendered by the JavaScript
// engine. JavaScript's whitespace set differs from Python's str.isspace(): it has U+FEFF and
// lacks U+001C–U+001F and U+0085, so trim() and /\s/ cannot be used.

/** The characters for which Python's str.isspace() is true. */
const PY_SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const SPACE = new Set(PY_SPACE);
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;

/** Whether Python's str.isspace() holds for one code point. */
export const isPySpace = (ch: string): boolean => SPACE.has(ch);

/** Python's str.strip / lstrip / rstrip: `chars` null strips Python whitespace. */
export function pyStrip(s: string, chars: string | null = null, side: 'both' | 'left' | 'right' = 'both'): string {
  const strip = chars === null ? SPACE : new Set(chars);
  const cps = Array.from(s);
  let start = 0;
  let end = cps.length;
  if (side !== 'right') while (start < end && strip.has(cps[start]!)) start++;
  if (side !== 'left') while (end > start && strip.has(cps[end - 1]!)) end--;
  return start === 0 && end === cps.length ? s : cps.slice(start, end).join('');
}

/** Python's str.split(sep=None, maxsplit=-1). */
export function pySplit(s: string, sep: string | null = null, maxsplit = -1): string[] {
  if (sep === '') throw new Error('empty separator');
  const limit = maxsplit < 0 ? Infinity : maxsplit;
  const out: string[] = [];
  if (sep !== null) {
    let rest = s;
    for (let at = rest.indexOf(sep); at >= 0 && out.length < limit; at = rest.indexOf(sep)) {
      out.push(rest.slice(0, at));
      rest = rest.slice(at + sep.length);
    }
    out.push(rest);
    return out;
  }
  // Runs of whitespace separate; no empty strings at either end.
  let rest = pyStrip(s, null, 'left');
  while (rest.length > 0) {
    if (out.length >= limit) {
      out.push(rest);
      break;
    }
    const m = SPACE_RUN.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    out.push(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

/** Python's str.replace(old, new, count=-1); an empty `old` inserts between code points. */
export function pyReplace(s: string, old: string, repl: string, count = -1): string {
  const limit = count < 0 ? Infinity : count;
  if (old === '') {
    const cps = Array.from(s);
    let n = 0;
    let out = '';
    for (let i = 0; i <= cps.length; i++) {
      if (n < limit) {
        out += repl;
        n++;
      }
      out += cps[i] ?? '';
    }
    return out;
  }
  const parts = pySplit(s, old, limit === Infinity ? -1 : limit);
  return parts.join(repl);
}

// Unicode's title-case letters for the digraphs, where title case is neither upper nor lower.
const DIGRAPH_TITLE: Record<string, string> = { 'Ǆ': 'ǅ', 'ǅ': 'ǅ', 'ǆ': 'ǅ', 'Ǉ': 'ǈ', 'ǈ': 'ǈ', 'ǉ': 'ǈ', 'Ǌ': 'ǋ', 'ǋ': 'ǋ', 'ǌ': 'ǋ', 'Ǳ': 'ǲ', 'ǲ': 'ǲ', 'ǳ': 'ǲ' };

/** Title case of one code point (JavaScript has no toTitleCase): "ß" → "Ss", "ﬁ" → "Fi". */
function titleChar(ch: string): string {
  const digraph = DIGRAPH_TITLE[ch];
  if (digraph) return digraph;
  const [first = '', ...rest] = Array.from(ch.toUpperCase());
  return first + rest.join('').toLowerCase();
}

/** Python's str.capitalize(): first character title case, the rest lower case. */
export function pyCapitalize(s: string): string {
  const [first = '', ...rest] = Array.from(s);
  return titleChar(first) + rest.join('').toLowerCase();
}

/** Python's str.title(): a cased character after an uncased one is upper case, others lower. */
export function pyTitle(s: string): string {
  let out = '';
  let prevCased = false;
  for (const ch of s) {
    const cased = CASED.test(ch);
    out += cased ? (prevCased ? ch.toLowerCase() : titleChar(ch)) : ch;
    prevCased = cased;
  }
  return out;
}

const TITLE_SPLIT = new RegExp(`([-${PY_SPACE}({\\[<]+)`, 'u');

/** Jinja's `title` filter (not str.title): words start after whitespace, "-", or an opening bracket; their first letter is upper (not title) case. */
export function jinjaTitle(s: string): string {
  return s
    .split(TITLE_SPLIT)
    .filter((item) => item.length > 0)
    .map((item) => {
      const [first = '', ...rest] = Array.from(item);
      return first.toUpperCase() + rest.join('').toLowerCase();
    })
    .join('');
}

/** Python's len() of a str: code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

// Python's str.isprintable() is false for these (a space excepted).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const hex = (c: number, width: number) => c.toString(16).padStart(width, '0');

/** Python's repr() of a str (quotes as Python picks them; control characters escaped). */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) out += c <= 0xff ? '\\x' + hex(c, 2) : c <= 0xffff ? '\\u' + hex(c, 4) : '\\U' + hex(c, 8);
    else out += ch;
  }
  return out + quote;
}
