// Which Node the project supports: package.json's engines names the Node lines CI tests (the CI
// machine's Node 20, and NODE24 of .ci/run, the images' Node: dockerfile.test.ts), and every
// locked package admits all of them (npm warns EBADENGINE on `npm ci` when a package excludes
// the Node it runs on). And npm says nothing about .npmrc but that it does not know onnxruntime-node's key.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/app.js';
import { outerEnv } from '../helpers/image-replay.js';

interface Semver {
  satisfies(v: string, range: string): boolean;
  subset(sub: string, dom: string): boolean;
  minVersion(range: string): { major: number } | null;
}
const semver = createRequire(import.meta.url)('semver') as Semver;
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: unknown }> };
const NODE24 = /^NODE24=(\S+)$/m.exec(read('.ci/run'))?.[1];
// The Node lines CI runs the suite on: the CI machine's own Node 20, and NODE24.
const CI_LINES = [20, 24];

test('engines states the Node lines CI tests, one caret range each, and admits NODE24', () => {
  assert.ok(NODE24, '.ci/run sets NODE24=<version>');
  const alternatives = pkg.engines.node.split('||').map((r) => r.trim());
  for (const r of alternatives) assert.match(r, /^\^\d+\.\d+\.\d+$/, `${r}: one Node line, no open end`);
  assert.deepEqual(alternatives.map((r) => semver.minVersion(r)?.major), CI_LINES);
  assert.ok(semver.satisfies(NODE24!, pkg.engines.node), `${NODE24} is not in ${pkg.engines.node}`);
});

test('every locked package admits every Node that engines admits: npm ci warns no EBADENGINE', () => {
  const refused: string[] = [];
  for (const [where, p] of Object.entries(lock.packages)) {
    const node = (p.engines as { node?: unknown } | undefined)?.node;
    if (!where || typeof node !== 'string') continue;
    if (!semver.subset(pkg.engines.node, node)) refused.push(`${where.replace(/^.*node_modules\//, '')}@${p.version}: node ${node}`);
  }
  assert.deepEqual(refused, []);
  // The check can fail: a package on Node 22 and up would be refused.
  assert.equal(semver.subset(pkg.engines.node, '>=22'), false);
});

test('npm reads .npmrc with no warning but the known one, and runs no dependency install scripts', () => {
  // outerEnv: without the npm_config_* variables an outer `npm test` passes down.
  const r = spawnSync('npm', ['config', 'get', 'ignore-scripts'], { cwd: ROOT, env: outerEnv(), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'true');
  // The one line npm may print: it does not know onnxruntime-node's own key, which .npmrc keeps.
  const known = /^npm warn Unknown project config "onnxruntime-node-install"\. .*$/;
  const said = r.stderr.split('\n').filter((l) => l !== '' && !known.test(l));
  assert.deepEqual(said, [], 'npm has something else to say about .npmrc');
});
