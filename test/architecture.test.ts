import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/app.js';

const SRC = path.join(ROOT, 'src');
const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.split(path.sep).join('/'));
const importsOf = (f: string) => [...fs.readFileSync(path.join(SRC, f), 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]!);

test('only src/infer/ort-worker.ts imports onnxruntime-node', () => {
  const importers = files.filter((f) => importsOf(f).includes('onnxruntime-node'));
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
