/**
 * A small PromQL evaluator for alert expressions against one scrape of /metrics (no Prometheus
 * runs in the tests): instant selectors with `=` matchers, numbers, abs(), + - * /, the
 * comparisons, and `and` / `or` / `unless`, with Prometheus's one-to-one matching on all labels
 * (the metric name dropped). Range selectors and aggregations are refused, so an expression
 * this cannot evaluate fails its test rather than passing unread.
 */

/** One sample of a scrape. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

type Vector = Map<string, { labels: Record<string, string>; value: number }>;
type Value = number | Vector;

/** The samples of a Prometheus text exposition. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/gm)) {
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]) });
  }
  return out;
}

const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

const TOKEN = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([a-zA-Z_:][a-zA-Z0-9_:]*)|("(?:[^"\\]|\\.)*")|(==|!=|>=|<=|[-+*/(){}<>,=[\]]))/y;

function tokenize(expr: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    if (/^\s*$/.test(expr.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(expr);
    if (!m) throw new Error(`cannot read PromQL at ${JSON.stringify(expr.slice(TOKEN.lastIndex))}`);
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  }
  return out;
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = { '>': (a, b) => a > b, '<': (a, b) => a < b, '>=': (a, b) => a >= b, '<=': (a, b) => a <= b, '==': (a, b) => a === b, '!=': (a, b) => a !== b };
const ARITH: Record<string, (a: number, b: number) => number> = { '+': (a, b) => a + b, '-': (a, b) => a - b, '*': (a, b) => a * b, '/': (a, b) => a / b };

function binary(op: string, l: Value, r: Value): Value {
  if (op === 'and' || op === 'or' || op === 'unless') {
    if (typeof l === 'number' || typeof r === 'number') throw new Error(`${op} needs two vectors`);
    if (op === 'and') return new Map([...l].filter(([k]) => r.has(k)));
    if (op === 'unless') return new Map([...l].filter(([k]) => !r.has(k)));
    return new Map([...l, ...[...r].filter(([k]) => !l.has(k))]);
  }
  const cmp = COMPARE[op];
  const f = ARITH[op];
  if (typeof l === 'number' && typeof r === 'number') {
    if (cmp) throw new Error('a scalar comparison needs bool');
    return f!(l, r);
  }
  const out: Vector = new Map();
  const pairs: [string, Record<string, string>, number, number][] = [];
  if (typeof l === 'number') for (const [k, s] of r as Vector) pairs.push([k, s.labels, l, s.value]);
  else if (typeof r === 'number') for (const [k, s] of l) pairs.push([k, s.labels, s.value, r]);
  else for (const [k, s] of l) if (r.has(k)) pairs.push([k, s.labels, s.value, r.get(k)!.value]);
  for (const [k, labels, a, b] of pairs) {
    if (cmp) {
      // A filter: keeps the left-hand value (the vector's, with a scalar on the left).
      if (cmp(a, b)) out.set(k, { labels, value: typeof l === 'number' ? b : a });
    } else out.set(k, { labels, value: f!(a, b) });
  }
  return out;
}

/** Evaluates `expr` against the samples; an instant vector comes back keyed by its labels. */
export function evaluate(expr: string, samples: readonly Sample[]): Value {
  const tokens = tokenize(expr);
  let at = 0;
  const peek = () => tokens[at];
  const take = (want?: string) => {
    const t = tokens[at++];
    if (t === undefined || (want !== undefined && t !== want)) throw new Error(`expected ${want ?? 'more'} in ${expr}, got ${t}`);
    return t;
  };
  const level = (ops: string[], next: () => Value) => (): Value => {
    let l = next();
    while (ops.includes(peek() ?? '')) {
      const op = take();
      l = binary(op, l, next());
    }
    return l;
  };
  const primary = (): Value => {
    const t = take();
    if (t === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (t === '-') {
      const v = primary();
      return binary('*', -1, v);
    }
    if (/^\d/.test(t)) return Number(t);
    if (peek() === '(') {
      if (t !== 'abs') throw new Error(`function ${t} is not supported here`);
      take('(');
      const v = or();
      take(')');
      if (typeof v === 'number') return Math.abs(v);
      return new Map([...v].map(([k, s]) => [k, { labels: s.labels, value: Math.abs(s.value) }]));
    }
    const match: Record<string, string> = {};
    if (peek() === '{') {
      take('{');
      while (peek() !== '}') {
        const label = take();
        take('=');
        match[label] = JSON.parse(take()) as string;
        if (peek() === ',') take(',');
      }
      take('}');
    }
    if (peek() === '[') throw new Error('range selectors are not supported here');
    const out: Vector = new Map();
    for (const s of samples) {
      if (s.name !== t || !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
      out.set(key(s.labels), { labels: s.labels, value: s.value });
    }
    return out;
  };
  const mul = level(['*', '/'], primary);
  const add = level(['+', '-'], mul);
  const cmp = level(['>', '<', '>=', '<=', '==', '!='], add);
  const and = level(['and', 'unless'], cmp);
  const or = level(['or'], and);
  const v = or();
  if (at !== tokens.length) throw new Error(`unread PromQL after ${tokens.slice(0, at).join(' ')}`);
  return v;
}

/** The label sets (as `model` values) an alert expression fires for. */
export function firing(expr: string, samples: readonly Sample[]): string[] {
  const v = evaluate(expr, samples);
  if (typeof v === 'number') throw new Error(`${expr} is a scalar, not an alert`);
  return [...v.values()].map((s) => s.labels.model ?? JSON.stringify(s.labels)).sort();
}
