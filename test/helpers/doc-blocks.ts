// The shell blocks of the Markdown files, read into commands the way a shell would split them, for
// test/docs/commands.test.ts. A reader copies a block line by line, so what matters is where one
// command ends: a `\` continuation, a quote left open over several lines (`-d '{ ...`), a
// here-document or a trailing `|` / `&&` all continue it.

/** Info strings of the fenced blocks that hold shell commands. */
const SHELL_TAGS = new Set(['sh', 'bash', 'shell', 'zsh']);

/** A word (quotes removed) or an operator of a command. */
export type Token = { readonly op: string } | { readonly word: string; readonly expands: boolean };

/** One command of a block. */
export interface DocCommand {
  /** The command as written, from its first character to the end of its last line. */
  readonly source: string;
  /** 1-based line in the file where it starts. */
  readonly line: number;
  readonly tokens: readonly Token[];
  /** The comment lines right below it (each without its `#`), joined by newlines; '' if none. */
  readonly note: string;
}

/** A fenced shell block. */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The reason of a `<!-- not run: reason -->` line right above the fence ('' if given empty); null without one. */
  readonly notRun: string | null;
  readonly commands: readonly DocCommand[];
}

const NOT_RUN = /^\s*<!--\s*not run\b:?(.*?)-->\s*$/i;

/** The shell blocks of one Markdown text. */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[end]!)) end++;
    if (SHELL_TAGS.has(open[3]!.toLowerCase())) {
      let above = i - 1;
      while (above >= 0 && lines[above]!.trim() === '') above--;
      const marker = above >= 0 ? NOT_RUN.exec(lines[above]!) : null;
      blocks.push({ line: i + 1, notRun: marker ? marker[1]!.trim() : null, commands: splitCommands(lines.slice(i + 1, end).join('\n'), i + 2) });
    }
    i = end;
  }
  return blocks;
}

const OPERATORS = ['<<-', '&&', '||', '>>', '<<', '|', '&', ';', '>', '<', '(', ')'];
/** An operator at the end of a line carries the command on to the next one. */
const CONTINUES = new Set(['|', '&&', '||']);

/**
 * The commands of a block's text, as `sh` would read them (POSIX quoting, `#` comments,
 * here-documents); `firstLine` is the file line of the text's first line.
 */
export function splitCommands(text: string, firstLine: number): DocCommand[] {
  const out: { source: string; line: number; tokens: Token[]; note: string[] }[] = [];
  let tokens: Token[] = [];
  let word: string | null = null;
  let expands = false;
  let start = -1;
  let startLine = 0;
  let line = firstLine;
  let heredocNext = false;
  const heredocs: string[] = [];
  // The command that comment lines right below it describe; a blank line ends that.
  let described = null as (typeof out)[number] | null;

  const endWord = () => {
    if (word === null) return;
    if (heredocNext) heredocs.push(word);
    tokens.push({ word, expands });
    heredocNext = false;
    word = null;
    expands = false;
  };
  const addChar = (c: string) => {
    word = (word ?? '') + c;
  };
  const endCommand = (end: number) => {
    if (tokens.length > 0) {
      const cmd = { source: text.slice(start, end).trimEnd(), line: startLine, tokens, note: [] };
      out.push(cmd);
      described = cmd;
    }
    tokens = [];
    start = -1;
  };

  let i = 0;
  while (i < text.length) {
    // Between commands: a blank line or a comment line.
    if (start === -1) {
      const eol = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
      const whole = text.slice(i, eol).trim();
      if (whole === '' || whole.startsWith('#')) {
        if (whole === '') described = null;
        else described?.note.push(whole.replace(/^#\s?/, ''));
        i = eol + 1;
        line++;
        continue;
      }
      start = i;
      startLine = line;
    }
    const c = text[i]!;
    if (c === '\\') {
      if (text[i + 1] === '\n') {
        line++;
        i += 2;
        continue;
      }
      addChar(text[i + 1] ?? '');
      i += 2;
      continue;
    }
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close === -1) throw new Error(`line ${line}: a single quote is never closed`);
      const s = text.slice(i + 1, close);
      line += s.split('\n').length - 1;
      word = (word ?? '') + s;
      i = close + 1;
      continue;
    }
    if (c === '"') {
      let s = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && '"\\$`\n'.includes(text[j + 1] ?? '')) {
          if (text[j + 1] !== '\n') s += text[j + 1];
          j++;
        } else {
          if (text[j] === '$' || text[j] === '`') expands = true;
          s += text[j];
        }
      }
      if (j >= text.length) throw new Error(`line ${line}: a double quote is never closed`);
      line += text.slice(i, j).split('\n').length - 1;
      word = (word ?? '') + s;
      i = j + 1;
      continue;
    }
    if (c === '#' && word === null) {
      // A comment runs to the end of the line; the newline itself is handled below.
      const eol = text.indexOf('\n', i);
      i = eol === -1 ? text.length : eol;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
      continue;
    }
    if (c === '\n') {
      endWord();
      line++;
      if (heredocs.length > 0) {
        // The here-document's lines belong to this command, up to each delimiter line.
        let j = i + 1;
        while (heredocs.length > 0) {
          const eol = text.indexOf('\n', j) === -1 ? text.length : text.indexOf('\n', j);
          const l = text.slice(j, eol);
          if (j >= text.length) throw new Error(`line ${line}: here-document ${heredocs[0]} is never closed`);
          if (l.replace(/^\t+/, '') === heredocs[0]) heredocs.shift();
          line++;
          j = eol + 1;
        }
        i = j;
        endCommand(j - 1);
        continue;
      }
      const last = tokens[tokens.length - 1];
      if (last && 'op' in last && CONTINUES.has(last.op)) {
        i++;
        continue;
      }
      endCommand(i);
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      endWord();
      tokens.push({ op });
      if (op === '<<' || op === '<<-') heredocNext = true;
      i += op.length;
      continue;
    }
    if (c === '$' || c === '`') expands = true;
    addChar(c);
    i++;
  }
  endWord();
  if (heredocs.length > 0) throw new Error(`here-document ${heredocs[0]} is never closed`);
  endCommand(text.length);
  return out.map((c) => ({ ...c, note: c.note.join('\n') }));
}

/** The command's words and operators, one space apart: what lists of known commands match. */
export function normalized(cmd: DocCommand): string {
  return cmd.tokens.map((t) => ('op' in t ? t.op : t.word)).join(' ');
}

/**
 * The top-level keys of a JSON shape as the docs sketch it (`{"model":"...","rewards":[...],...}`):
 * the quoted names followed by `:` at the outermost level. The values may be anything, `...` too.
 */
export function sketchKeys(sketch: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < sketch.length; i++) {
    const c = sketch[i]!;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < sketch.length && sketch[j] !== '"') j += sketch[j] === '\\' ? 2 : 1;
      if (depth === 1 && /^\s*:/.test(sketch.slice(j + 1))) keys.push(JSON.parse(sketch.slice(i, j + 1)) as string);
      i = j;
    }
  }
  return keys;
}
