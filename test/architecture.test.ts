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
