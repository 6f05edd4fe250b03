import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { SyntaxKind, type Node, type SourceFile } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';
import { ROOT } from './helpers/app.js';

const SRC = path.join(ROOT, 'src');
const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.split(path.sep).join('/'));

// Imports are read from the compiler's own parse, not from text patterns: a pattern misses
// `import()`, `require()`, `import 'x'` and double quotes. TypeScript 7 (tsgo) is a Go binary;
// its JS API (typescript/unstable/sync) runs it and hands back each file's syntax tree.
const TSCONFIG = path.join(ROOT, 'tsconfig.json');
// A file that exists only for the compiler (a virtual file system over the real one): every form
// of import once, to show the reader finds each.
const PROBE = '/architecture-probe/probe.ts';
const PROBE_TEXT = [
  `import a from 'static';`,
  `import "double-quoted";`,
  `import 'side-effect';`,
  `export * from './re-export.js';`,
  `export { x } from "./named-re-export.js";`,
  `import type { T } from './type-only.js';`,
  `import eq = require('import-equals');`,
  `const d = await import("../http/app.js");`,
  'const t = import(`template`);',
  `const r = require('onnxruntime-node');`,
  `const c = createRequire(import.meta.url)('created-require');`,
  `let i: typeof import('import-type');`,
  `const n = import(name);`,
  `const s = require.resolve('resolved-not-loaded');`,
].join('\n');
const api = new API({ cwd: ROOT, fs: { readFile: (f) => (f === PROBE ? PROBE_TEXT : undefined), fileExists: (f) => (f === PROBE ? true : undefined) } });
after(() => api.close());
const snapshot = api.updateSnapshot({ openProjects: [TSCONFIG], openFiles: [PROBE] });
const program = snapshot.getProject(TSCONFIG)?.program;

/** A module name written as a string literal, else null (a computed name). */
function literal(n: Node | undefined): string | null {
  return n && (n.kind === SyntaxKind.StringLiteral || n.kind === SyntaxKind.NoSubstitutionTemplateLiteral) ? (n as Node & { text: string }).text : null;
}

const isIdentifier = (n: Node, name: string) => n.kind === SyntaxKind.Identifier && (n as Node & { text: string }).text === name;

/**
 * Every module a file names: static imports (type-only too), side-effect imports, re-exports,
 * `import x = require()`, `import()` types, and the calls that load one at run time: `import()`,
 * `require()`, and `createRequire(...)(...)`. A computed name is null.
 */
function modulesOf(sf: SourceFile): (string | null)[] {
  const out: (string | null)[] = [];
  const visit = (n: Node): void => {
    const any = n as Node & Record<string, Node & Record<string, Node>>;
    if (n.kind === SyntaxKind.ImportDeclaration) out.push(literal(any.moduleSpecifier));
    else if (n.kind === SyntaxKind.ExportDeclaration && any.moduleSpecifier) out.push(literal(any.moduleSpecifier));
    else if (n.kind === SyntaxKind.ExternalModuleReference) out.push(literal(any.expression));
    else if (n.kind === SyntaxKind.ImportType) out.push(any.argument!.kind === SyntaxKind.LiteralType ? literal(any.argument!.literal) : null);
    else if (n.kind === SyntaxKind.CallExpression) {
      const callee = any.expression!;
      const loads =
        callee.kind === SyntaxKind.ImportKeyword ||
        isIdentifier(callee, 'require') ||
        (callee.kind === SyntaxKind.CallExpression && isIdentifier(callee.expression!, 'createRequire'));
      if (loads) out.push(literal((any.arguments as unknown as Node[])[0]));
    }
    n.forEachChild(visit);
  };
  sf.forEachChild(visit);
  return out;
}

const cache = new Map<string, (string | null)[]>();
function parsed(f: string): (string | null)[] {
  let m = cache.get(f);
  if (!m) {
    assert.ok(program, `tsconfig.json did not open as a project`);
    const sf = program.getSourceFile(path.join(SRC, f));
    assert.ok(sf, `${f} is not in the tsconfig.json program`);
    cache.set(f, (m = modulesOf(sf)));
  }
  return m;
}
const importsOf = (f: string) => parsed(f).filter((s): s is string => s !== null);

test('the import reader sees every form of import, and a computed name as null', () => {
  const probe = snapshot.getDefaultProjectForFile(PROBE)?.program.getSourceFile(PROBE);
  assert.ok(probe);
  const want = ['static', 'double-quoted', 'side-effect', './re-export.js', './named-re-export.js', './type-only.js', 'import-equals', '../http/app.js', 'template', 'onnxruntime-node', 'created-require', 'import-type', null];
  assert.deepEqual(modulesOf(probe), want);
});

test('every module a source file loads is named by a literal, so the rules below see it', () => {
  for (const f of files) assert.ok(!parsed(f).includes(null), `${f} loads a module by a computed name`);
});

test('only src/infer/ort-worker.ts imports onnxruntime-node', () => {
  const importers = files.filter((f) => importsOf(f).some((s) => s === 'onnxruntime-node' || s.startsWith('onnxruntime-node/')));
  assert.deepEqual(importers, ['infer/ort-worker.ts']);
});

test('calls go one way: pipeline stages never import the HTTP layer, the process or core', () => {
  const stages = files.filter((f) => /^(format|tokenize|batch|infer|postprocess|model|workers)\//.test(f));
  assert.ok(stages.length >= 10);
  for (const f of stages) {
    for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), spec));
      assert.doesNotMatch(target, /^(http|core)\/|^(app|server)\.js$/, `${f} imports ${spec}`);
    }
  }
});

test('file names are kebab-case', () => {
  for (const f of files) assert.match(path.posix.basename(f), /^[a-z0-9]+(-[a-z0-9]+)*\.ts$/, f);
});

const resolve = (f: string, spec: string) => path.posix.normalize(path.posix.join(path.posix.dirname(f), spec));
const source = (f: string) => fs.readFileSync(path.join(SRC, f), 'utf8');

test('the HTTP layer reaches formatting and postprocessing only through core', () => {
  for (const f of files.filter((x) => x.startsWith('http/'))) {
    for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
      assert.doesNotMatch(resolve(f, spec), /^(format|postprocess|tokenize|batch|infer)\//, `${f} imports ${spec}`);
    }
  }
});

test('core never imports fastify; each POST route is one core operation behind the one admission helper', () => {
  for (const f of files.filter((x) => x.startsWith('core/'))) assert.ok(!importsOf(f).some((s) => s === 'fastify' || s.startsWith('@fastify/')), `${f} imports fastify`);
  const posts = files.filter((f) => f.startsWith('http/routes/') && /\bapp\.post\b/.test(source(f)));
  assert.ok(posts.length >= 5, posts.join(', '));
  for (const f of posts) {
    const specs = importsOf(f).map((s) => (s.startsWith('.') ? resolve(f, s) : s));
    assert.ok(specs.some((s) => s.startsWith('core/operations/')), `${f} names no core operation`);
    assert.ok(specs.includes('http/admit.js'), `${f} does not use the admission helper`);
    assert.doesNotMatch(source(f), /parseBody|acceptWork|clientAbortSignal/, `${f} copies the admission prologue`);
  }
});

test('failures are counted in one place: where an error becomes a response', () => {
  const counting = files.filter((f) => /\.failures\.inc\(/.test(source(f)));
  assert.deepEqual(counting, ['http/plugins/error-handler.ts']);
});
