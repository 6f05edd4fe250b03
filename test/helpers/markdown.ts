// A small Markdown reader for the docs tests: fenced code blocks, headings and their GitHub
// anchors, and the links of the prose. No Markdown parser is a dependency here, so this follows
// CommonMark where the repository's pages need it:
// - fenced code blocks (``` or ~~~, three or more; closed by a fence of the same character at
//   least as long; unclosed, they run to the end) hold no heading and no link;
// - inline code spans (a run of N backticks up to the next run of exactly N) and HTML comments
//   hold no link;
// - headings are ATX (`# …`, up to 3 spaces before) or setext (a paragraph line underlined
//   with = or -); their anchors follow GitHub (github-slugger): the rendered text, lowercased,
//   everything but letters, marks, digits, connector punctuation (_), - and space dropped,
//   spaces turned into -, and a repeated anchor suffixed -1, -2, …;
// - links are inline `[text](dest "title")` (images too) and reference definitions `[x]: dest`.
// Indented (4-space) code blocks are not recognized: list continuations here are indented too.

export interface Heading {
  level: number;
  /** The heading as rendered: code spans' backticks, link syntax, HTML tags and emphasis dropped. */
  text: string;
  /** Its GitHub anchor, duplicates numbered. */
  slug: string;
  line: number;
}
export interface Link {
  dest: string;
  line: number;
}
export interface CodeBlock {
  /** The fence's info string; `lang` is its first word. */
  info: string;
  lang: string;
  body: string;
  /** Line of the opening fence (1-based). */
  line: number;
  /** The reason of a `<!-- not run: reason -->` line just above the fence, else null. */
  notRun: string | null;
}
export interface Markdown {
  headings: Heading[];
  links: Link[];
  codeBlocks: CodeBlock[];
  /** Every anchor a link may name: heading slugs and HTML `id`/`name` attributes. */
  anchors: Set<string>;
}

/** GitHub's anchor for a heading's rendered text, before duplicates are numbered. */
export function githubSlug(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** Numbers repeated slugs as github-slugger does: x, x-1, x-2 (skipping any already taken). */
class Slugger {
  private readonly seen = new Map<string, number>();
  slug(text: string): string {
    const base = githubSlug(text);
    let result = base;
    while (this.seen.has(result)) {
      const n = this.seen.get(base)! + 1;
      this.seen.set(base, n);
      result = `${base}-${n}`;
    }
    this.seen.set(result, 0);
    return result;
  }
}

/** Splits text into code spans and the rest; `code` parts hold the span's content. */
function codeSpans(text: string): { code: boolean; text: string }[] {
  const parts: { code: boolean; text: string }[] = [];
  let plain = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '\\' && text[i + 1] === '`') {
      plain += '\\`';
      i += 2;
      continue;
    }
    if (text[i] !== '`') {
      plain += text[i];
      i++;
      continue;
    }
    let n = 0;
    while (text[i + n] === '`') n++;
    // The closing run: exactly n backticks.
    let j = i + n;
    let close = -1;
    while (j < text.length) {
      if (text[j] !== '`') {
        j++;
        continue;
      }
      let m = 0;
      while (text[j + m] === '`') m++;
      if (m === n) {
        close = j;
        break;
      }
      j += m;
    }
    if (close < 0) {
      plain += text.slice(i, i + n);
      i += n;
      continue;
    }
    if (plain) parts.push({ code: false, text: plain });
    plain = '';
    parts.push({ code: true, text: text.slice(i + n, close) });
    i = close + n;
  }
  if (plain) parts.push({ code: false, text: plain });
  return parts;
}

/** A heading's text as GitHub renders it (what its anchor is made from). */
export function headingText(raw: string): string {
  return codeSpans(raw)
    .map((p) => {
      if (p.code) return p.text.trim() === '' ? p.text : p.text.replace(/^ (.*) $/s, '$1');
      return p.text
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
        .replace(/<[^>]+>/g, '') // HTML tags
        .replace(/\\([!-/:-@[-`{-~])/g, '$1') // backslash escapes
        .replace(/\*+/g, '') // emphasis
        .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1'); // _emphasis_, not snake_case
    })
    .join('')
    .trim();
}

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const NOT_RUN = /^\s*<!--\s*not run:\s*(.*?)\s*-->\s*$/;
/** A line that can be the last line of a paragraph (so a setext underline may follow it). */
const paragraphLine = (line: string) => line.trim() !== '' && !/^\s*([#>|]|[-*+]\s|\d+[.)]\s|<!--)/.test(line) && !/^ {4}/.test(line);

export function parseMarkdown(source: string): Markdown {
  const lines = source.split(/\r?\n/);
  const headings: Heading[] = [];
  const codeBlocks: CodeBlock[] = [];
  const slugger = new Slugger();
  // The prose: every line outside code blocks, code lines blanked (line numbers kept, and no
  // link can reach across a code block).
  const prose: string[] = [];
  let fence: { char: string; length: number; block: CodeBlock; body: string[] } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1]![0] === fence.char && close[1]!.length >= fence.length) {
        fence.block.body = fence.body.join('\n');
        codeBlocks.push(fence.block);
        fence = null;
      } else fence.body.push(line);
      prose.push('');
      continue;
    }
    const open = FENCE.exec(line);
    if (open && !(open[1]![0] === '`' && open[2]!.includes('`'))) {
      const info = open[2]!.trim();
      const above = NOT_RUN.exec(lines[i - 1] ?? '');
      fence = { char: open[1]![0]!, length: open[1]!.length, body: [], block: { info, lang: info.split(/\s+/)[0] ?? '', body: '', line: i + 1, notRun: above ? above[1]! : null } };
      prose.push('');
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      const text = headingText(atx[2] ?? '');
      headings.push({ level: atx[1]!.length, text, slug: slugger.slug(text), line: i + 1 });
    } else if (SETEXT.exec(line) && i > 0 && paragraphLine(lines[i - 1]!) && prose[i - 1] !== '') {
      const text = headingText(lines[i - 1]!);
      headings.push({ level: line.trim()[0] === '=' ? 1 : 2, text, slug: slugger.slug(text), line: i });
    }
    prose.push(line);
  }
  if (fence) {
    fence.block.body = fence.body.join('\n');
    codeBlocks.push(fence.block);
  }

  // Links, in the prose with HTML comments and code spans blanked (newlines kept for line numbers).
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  let text = prose.join('\n').replace(/<!--[\s\S]*?-->/g, blank);
  text = codeSpans(text)
    .map((p) => (p.code ? ` ${blank(p.text)} ` : p.text))
    .join('');
  text = text.replace(/\\[[\]()]/g, '  ');
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const links: Link[] = [];
  const inline = /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)/g;
  for (const m of text.matchAll(inline)) links.push({ dest: m[1]!.replace(/^<(.*)>$/, '$1'), line: lineAt(m.index) });
  for (const m of text.matchAll(/^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^<>\n]*>|\S+)/gm)) links.push({ dest: m[1]!.replace(/^<(.*)>$/, '$1'), line: lineAt(m.index) });
  links.sort((a, b) => a.line - b.line);

  const anchors = new Set(headings.map((h) => h.slug));
  for (const m of text.matchAll(/<[a-z][^>]*?\s(?:id|name)\s*=\s*["']([^"']+)["']/gi)) anchors.add(m[1]!);
  return { headings, links, codeBlocks, anchors };
}

export interface LinkProblem {
  file: string;
  line: number;
  dest: string;
  problem: string;
}

const EXTERNAL = /^(https?:|mailto:)/i;
const posix = (p: string) => p.split('\\').join('/');

/** Resolves `dest` (a link written in `from`) to a path relative to the repository root. */
function resolve(from: string, target: string): string {
  const base = target.startsWith('/') ? [] : from.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (base.length === 0) return '../' + target; // above the root: never listed
      base.pop();
    } else base.push(part);
  }
  return base.join('/');
}

/**
 * Every relative link of the given Markdown files (path relative to the root → text) that names
 * no listed file or folder, or an anchor its Markdown target lacks. `listed` holds every file
 * path the repository has (relative, with /); a folder exists when a listed file is under it.
 * Links to http(s) and mailto are not checked. An anchor on a file that is not Markdown must be a
 * line anchor (#L12, #L12-L20).
 */
export function checkLinks(pages: ReadonlyMap<string, string>, listed: ReadonlySet<string>): LinkProblem[] {
  const parsed = new Map<string, Markdown>();
  const parse = (file: string) => {
    let md = parsed.get(file);
    if (!md) parsed.set(file, (md = parseMarkdown(pages.get(file)!)));
    return md;
  };
  const folders = new Set<string>(['']);
  for (const f of listed) for (let i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) folders.add(f.slice(0, i));
  const isFolder = (p: string) => folders.has(p);
  const problems: LinkProblem[] = [];
  for (const file of pages.keys()) {
    for (const { dest, line } of parse(file).links) {
      if (EXTERNAL.test(dest)) continue;
      const report = (problem: string) => problems.push({ file, line, dest, problem });
      const hash = dest.indexOf('#');
      let target: string;
      try {
        target = decodeURIComponent(hash < 0 ? dest : dest.slice(0, hash));
      } catch {
        report('not a valid URL');
        continue;
      }
      const anchor = hash < 0 ? null : dest.slice(hash + 1);
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        report('a scheme other than http(s) or mailto');
        continue;
      }
      const path = target === '' ? file : posix(resolve(file, target.split('?')[0]!));
      if (!listed.has(path) && !isFolder(path)) {
        report(`${path} does not exist (or is not in git)`);
        continue;
      }
      if (anchor === null) continue;
      if (anchor === '') {
        report('an empty anchor');
      } else if (pages.has(path)) {
        const wanted = decodeURIComponent(anchor);
        if (!parse(path).anchors.has(wanted)) report(`no heading in ${path} has the anchor #${wanted}`);
      } else if (!/^L\d+(-L\d+)?$/.test(anchor)) {
        report(`${path} is not Markdown: only line anchors (#L12) can be checked there`);
      }
    }
  }
  return problems;
}
