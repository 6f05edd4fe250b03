// A reader for the subset of the Dockerfile syntax our Dockerfiles use, and the .dockerignore
// matching rules, so tests can check the images without a Docker engine.
import fs from 'node:fs';
import path from 'node:path';

/** One instruction: its keyword (upper case), flags (`--from=build`) and the rest of the line. */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  args: string;
  line: number;
}

/** One build stage: its FROM image, its name and its instructions after FROM. */
export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function splitFlags(rest: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let args = rest.trim();
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(args); m; m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(args)) {
    flags[m[1]!] = m[2] ?? 'true';
    args = args.slice(m[0].length);
  }
  return { flags, args };
}

/** Parses a Dockerfile into stages: comments dropped, continuation lines joined. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let startLine = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && !pending)) return; // comments go, even inside a continuation
    if (!pending) startLine = i + 1;
    pending += (pending ? ' ' : '') + trimmed.replace(/\\$/, '').trim();
    if (trimmed.endsWith('\\')) return;
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(pending) ?? [];
    pending = '';
    const { flags, args } = splitFlags(rest);
    const ins: Instruction = { keyword: keyword.toUpperCase(), flags, args, line: startLine };
    if (ins.keyword === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      if (!stages.length) throw new Error(`line ${startLine}: ${ins.keyword} before FROM`);
      stages.at(-1)!.instructions.push(ins);
    }
  });
  return stages;
}

/** The instructions of a stage with this keyword. */
export const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

/** `ENV A=1 B="two"` (and the legacy `ENV A 1`) as an object. */
export function envOf(ins: Instruction): Record<string, string> {
  if (!ins.args.includes('=')) {
    const [k = '', ...v] = ins.args.split(/\s+/);
    return { [k]: v.join(' ') };
  }
  const out: Record<string, string> = {};
  for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}

/** Sources and destination of a COPY (shell form). */
export function copyOf(ins: Instruction): { from: string | undefined; sources: string[]; dest: string } {
  const parts = ins.args.split(/\s+/);
  return { from: ins.flags.from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

/** The exec-form command of a CMD or `HEALTHCHECK ... CMD [...]`. */
export function execForm(ins: Instruction): string[] {
  const json = ins.keyword === 'HEALTHCHECK' ? ins.args.replace(/^CMD\s+/, '') : ins.args;
  return JSON.parse(json) as string[];
}

/** Parsed .dockerignore rules, in order. */
export function readDockerignore(file: string): { pattern: RegExp; exclude: boolean }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const exclude = !l.startsWith('!');
      const glob = path.posix.normalize(l.replace(/^!/, '').replace(/^\/+/, ''));
      // Go filepath.Match plus Docker's `**`: `*` and `?` stay within one path segment.
      const re = glob
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part.startsWith('**') ? '(?:.*/)?' + (part === '**' ? '.*' : '') : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('');
      return { pattern: new RegExp(`^${re}$`), exclude };
    });
}

/**
 * Whether Docker leaves `rel` (a path relative to the build context) out of the context: the
 * last rule matching the path or one of its parent folders decides.
 */
export function isIgnored(rules: ReturnType<typeof readDockerignore>, rel: string): boolean {
  const parts = rel.split('/');
  let ignored = false;
  for (const { pattern, exclude } of rules) {
    for (let n = 1; n <= parts.length; n++) {
      if (pattern.test(parts.slice(0, n).join('/'))) ignored = exclude;
    }
  }
  return ignored;
}
