import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadConfig, SETTING_NAMES } from '../../src/config.js';
import { inferLayout } from '../../src/core/runtime.js';
import { ROOT } from '../helpers/app.js';
import { all, envOf, parseDockerfile } from '../helpers/dockerfile.js';
import { K8S, renderDir, validate, type Obj } from '../helpers/kustomize.js';

// Deployments sized by the model: k8s/sizes/sizes.json is the table, k8s/sizes/generate.mjs writes
// one kustomize Component per row into k8s/components/. Here: the table's figures meet its own
// rules and the measured point, the files are what the generator writes, and kustomize renders
// each component, on top of its overlay as docs/deployment.md "Sizing by model" tells users to, into the pod.

interface Row {
  id: string;
  device: 'gpu' | 'cpu';
  size: string;
  dtype: 'fp16' | 'fp32';
  memoryRequest: string;
  memoryLimit: string;
  gpuMemoryGiB?: number;
  startupFailureThreshold: number;
  settings: Record<string, string>;
}
interface Shape { size: string; params: number; heads: number }
type Rules = Record<
  | 'gpuLoadHeadroomGiB' | 'runtimeGiB' | 'cudaContextGiB' | 'gpuUsableGiB' | 'scoreBytesPerElement' | 'volumeMBps'
  | 'sessionSecondsPerGB' | 'startSeconds' | 'startupMargin' | 'startupMinSeconds' | 'probePeriodSeconds',
  number
>;
interface Sizes {
  TABLE: {
    measured: { size: string; dtype: string; params: number; weightBytes: number; readySeconds: number; restMB: number; peakMB: number; peakTokens: number; heads: number };
    rules: Rules;
    models: Record<string, Shape | string>;
    volume: { claimName: string; mountPath: string };
    defaults: { gpu: string };
    rows: Row[];
  };
  paramsOf(shape: Shape): number;
  sizeInfo(size: string): { names: string[]; params: number; heads: number };
  weightBytes(row: Row): number;
  modelDir(row: Row): string;
  settingsOf(row: Row): Record<string, string>;
  gi(quantity: string): number;
  minimums(row: Row, maxLengthCap?: number): { memoryRequestGiB: number; memoryLimitGiB: number; gpuMemoryGiB?: number; startupSeconds: number };
  componentFiles(): Record<string, string>;
  markdownTables(): string;
}

const sizes = (await import(pathToFileURL(path.join(K8S, 'sizes', 'generate.mjs')).href)) as Sizes;
const { TABLE } = sizes;
const { rules } = TABLE;
const GiB = 2 ** 30;
const DEFAULT_CAP = loadConfig({}, []).maxLengthCap;
const rowById = (id: string) => TABLE.rows.find((r) => r.id === id)!;

/** kustomize build of an overlay of one's own: the device's overlay with one size component on top. */
function renderSized(row: Row): Obj[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reward-size-'));
  try {
    const rel = (p: string) => path.relative(dir, path.join(K8S, p)); // kustomize refuses absolute paths
    const kustomization = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'resources:', `  - ${rel(`overlays/${row.device}`)}`, 'components:', `  - ${rel(`components/${row.id}`)}`];
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), kustomization.join('\n') + '\n');
    return renderDir(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const one = (objs: Obj[], kind: string) => {
  const found = objs.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

/** What a rendered pod says about its size. */
function sized(objs: Obj[]) {
  const pod = one(objs, 'Deployment').spec.template.spec;
  const c = pod.containers[0];
  const settings = one(objs, 'ConfigMap').data!;
  const mount = c.volumeMounts.find((m: { name: string }) => m.name === 'model');
  const volume = pod.volumes.find((v: { name: string }) => v.name === 'model');
  return { pod, c, settings, mount, volume };
}

/** Checks a rendered pod against its row of the table. */
async function checkRendered(objs: Obj[], row: Row): Promise<void> {
  const { c, settings, mount, volume } = sized(objs);
  const where = row.id;
  assert.deepEqual(
    { request: c.resources.requests.memory, limit: c.resources.limits.memory },
    { request: row.memoryRequest, limit: row.memoryLimit },
    `${where}: memory`,
  );
  assert.equal(c.startupProbe.failureThreshold, row.startupFailureThreshold, `${where}: startupProbe.failureThreshold`);
  assert.equal(c.startupProbe.periodSeconds, rules.probePeriodSeconds, `${where}: the table counts in ${rules.probePeriodSeconds} s probes`);
  assert.deepEqual(mount, { name: 'model', mountPath: TABLE.volume.mountPath, readOnly: true }, `${where}: the model volume's mount`);
  assert.deepEqual(volume, { name: 'model', persistentVolumeClaim: { claimName: TABLE.volume.claimName, readOnly: true } }, `${where}: the model volume`);
  assert.equal(settings.MODEL_DIR, sizes.modelDir(row), `${where}: MODEL_DIR`);
  assert.ok(settings.MODEL_DIR!.startsWith(`${mount.mountPath}/`), `${where}: MODEL_DIR is on the volume`);
  assert.equal(settings.INFER_WORKERS, '1', `${where}: one session, one copy of the weights`);
  for (const [k, v] of Object.entries(row.settings)) assert.equal(settings[k], v, `${where}: ${k}`);
  if (row.device === 'gpu') assert.equal(c.resources.limits['nvidia.com/gpu'], 1);
  const config = loadConfig(settings, []);
  assert.equal(config.modelDir, sizes.modelDir(row));
  for (const kind of ['Deployment', 'ConfigMap']) await validate(one(objs, kind)).catch((e: Error) => assert.fail(`${where}: ${kind}: ${e.message}`));
}

test('k8s/sizes/sizes.json: parameter counts from the real shapes, and the measured 0.6B point', () => {
  const models = Object.entries(TABLE.models).filter(([name]) => name !== 'about') as [string, Shape][];
  assert.ok(models.length >= 5);
  for (const [name, m] of models) assert.equal(m.params, sizes.paramsOf(m), `${name}: params from its shape`);
  // The measured import: Qwen3-0.6B's shape, 596,050,944 parameters in model.safetensors, 2.38 GB in fp32.
  const { measured } = TABLE;
  assert.equal(sizes.sizeInfo(measured.size).params, measured.params);
  assert.equal(measured.params * 4, measured.weightBytes);
  // A classifier has no LM head: Qwen3-8B's 8.19 B less its 0.62 B untied head.
  assert.ok(Math.abs(sizes.sizeInfo('8b').params / 1e9 - 7.57) < 0.01);
  assert.ok(Math.abs(sizes.sizeInfo('1.7b').params / 1e9 - 1.72) < 0.01);
});

test('k8s/sizes/sizes.json: every size in every dtype, and every figure meets the rules (not more than rounding above)', () => {
  const ids = TABLE.rows.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const expected = [
    ...['0.6b', '1.7b', '4b', '8b'].flatMap((s) => ['fp16', 'fp32'].map((d) => `gpu-${s}-${d}`)),
    ...['0.6b', '1.7b', '4b', '8b'].map((s) => `cpu-${s}-fp32`),
  ];
  assert.deepEqual([...ids].sort(), [...expected].sort());
  for (const row of TABLE.rows) {
    assert.equal(row.id, `${row.device}-${row.size}-${row.dtype}`);
    const min = sizes.minimums(row, DEFAULT_CAP);
    const w = sizes.weightBytes(row) / GiB;
    const request = sizes.gi(row.memoryRequest);
    const limit = sizes.gi(row.memoryLimit);
    const startup = row.startupFailureThreshold * rules.probePeriodSeconds;
    const at = `${row.id} (weights ${w.toFixed(2)} GiB)`;
    assert.ok(request <= limit, `${at}: request ${request} Gi > limit ${limit} Gi`);
    assert.ok(request >= min.memoryRequestGiB && request < min.memoryRequestGiB + 1, `${at}: request ${request} Gi, the rules give ${min.memoryRequestGiB.toFixed(2)}`);
    assert.ok(limit >= min.memoryLimitGiB && limit < min.memoryLimitGiB + 1, `${at}: limit ${limit} Gi, the rules give ${min.memoryLimitGiB.toFixed(2)}`);
    assert.ok(startup >= min.startupSeconds && startup < min.startupSeconds + 60, `${at}: startup budget ${startup} s, the rules give ${min.startupSeconds.toFixed(0)} s`);
    if (row.device === 'gpu') {
      assert.equal(request, limit, `${at}: the load peak is the pod's need from its first second`);
      assert.ok(limit >= w + rules.gpuLoadHeadroomGiB, `${at}: limit ${limit} Gi < weights + ${rules.gpuLoadHeadroomGiB} GiB`);
      assert.ok(row.gpuMemoryGiB! >= min.gpuMemoryGiB! && row.gpuMemoryGiB! < min.gpuMemoryGiB! + 1, `${at}: GPU memory ${row.gpuMemoryGiB} GiB, the rules give ${min.gpuMemoryGiB!.toFixed(2)}`);
      assert.ok(row.gpuMemoryGiB! <= rules.gpuUsableGiB, `${at}: ${row.gpuMemoryGiB} GiB does not fit an 80 GB GPU: lower MAX_BATCH_TOKENS`);
    } else {
      assert.equal(row.gpuMemoryGiB, undefined);
      assert.ok(limit >= w + rules.runtimeGiB, `${at}: limit below weights + runtime`);
    }
  }
});

test('k8s/sizes/sizes.json: the rules cover what was measured (0.6B fp32 on 2 cores)', () => {
  const { measured } = TABLE;
  const row = rowById(`cpu-${measured.size}-${measured.dtype}`);
  const MB = 2 ** 20; // the docs' MB are process RSS in MiB
  assert.ok(sizes.gi(row.memoryRequest) * GiB >= measured.restMB * MB, 'request ≥ the measured RSS at rest');
  assert.ok(sizes.gi(row.memoryLimit) * GiB >= measured.peakMB * MB, 'limit ≥ the measured peak');
  // The rule's workspace at the measured item's length predicts at least the measured growth.
  const workspace = measured.heads * measured.peakTokens ** 2 * rules.scoreBytesPerElement;
  assert.ok(measured.restMB * MB + workspace >= measured.peakMB * MB, `${rules.scoreBytesPerElement} B per score element under-predicts the measured peak`);
  assert.ok(rules.sessionSecondsPerGB * (measured.weightBytes / 1e9) * 1.1 >= measured.readySeconds, 'session time per GB explains the measured ready time');
  assert.ok(row.startupFailureThreshold * rules.probePeriodSeconds >= 10 * measured.readySeconds);
});

test('k8s/sizes: settings per size are real settings; CPU ones spell out what INFER_WORKERS=auto picks', () => {
  const keys = (device: string) => TABLE.rows.filter((r) => r.device === device).map((r) => Object.keys(sizes.settingsOf(r)).sort().join(','));
  for (const device of ['gpu', 'cpu']) assert.equal(new Set(keys(device)).size, 1, `every ${device} size sets the same settings, so one replaces another`);
  const cpuOverlay = renderDir(path.join(K8S, 'overlays', 'cpu'));
  const cpuLimit = Number(one(cpuOverlay, 'Deployment').spec.template.spec.containers[0].resources.limits.cpu);
  for (const row of TABLE.rows) {
    const settings = sizes.settingsOf(row);
    for (const k of Object.keys(settings)) assert.ok(SETTING_NAMES.includes(k), `${row.id}: ${k} is a setting`);
    const config = loadConfig(settings, []);
    assert.equal(config.inferWorkers, 1, `${row.id}: one session`);
    if (row.device === 'cpu') {
      // auto would pick the same for a model this large, but Node counts the node's cores, not the
      // pod's quota: INTRA_OP_THREADS is the cpu overlay's CPU limit.
      assert.ok(sizes.weightBytes(row) >= config.largeModelMb * 2 ** 20, `${row.id}: a large model`);
      const auto = loadConfig({ ...settings, INFER_WORKERS: 'auto', CPU_MEM_ARENA: 'auto', INTRA_OP_THREADS: '0' }, []);
      assert.deepEqual(inferLayout(config, sizes.weightBytes(row), cpuLimit), inferLayout(auto, sizes.weightBytes(row), cpuLimit));
      assert.deepEqual(inferLayout(config, sizes.weightBytes(row), 64), { workers: 1, intraOpThreads: cpuLimit, memArena: false, spinning: false });
    }
  }
});

test('k8s/components: each is what `node k8s/sizes/generate.mjs` writes from the table, and nothing else is there', () => {
  const files = sizes.componentFiles();
  for (const [rel, text] of Object.entries(files)) {
    assert.equal(fs.readFileSync(path.join(ROOT, rel), 'utf8'), text, `${rel} differs from the table: run node k8s/sizes/generate.mjs`);
  }
  const onDisk = fs.readdirSync(path.join(K8S, 'components')).map((d) => path.join('k8s', 'components', d, 'kustomization.yaml'));
  assert.deepEqual(onDisk.sort(), Object.keys(files).sort());
});

test('k8s/overlays/gpu renders its default size: memory, probe, MODEL_DIR on the read-only volume, INFER_WORKERS=1', async () => {
  const row = rowById(TABLE.defaults.gpu);
  assert.equal(row.device, 'gpu');
  await checkRendered(renderDir(path.join(K8S, 'overlays', 'gpu')), row);
});

for (const row of TABLE.rows) {
  test(`k8s/components/${row.id} on k8s/overlays/${row.device}: the Deployment carries the table's figures`, async () => {
    await checkRendered(renderSized(row), row);
  });
}

test("docker/Dockerfile.cuda: its defaults are the gpu overlay's default size", () => {
  const row = rowById(TABLE.defaults.gpu);
  const stage = parseDockerfile(fs.readFileSync(path.join(ROOT, 'docker', 'Dockerfile.cuda'), 'utf8')).at(-1)!;
  const env = Object.assign({}, ...all(stage, 'ENV').map(envOf)) as Record<string, string>;
  for (const [k, v] of Object.entries(sizes.settingsOf(row))) assert.equal(env[k], v, k);
  const start = /^(\d+)s$/.exec(all(stage, 'HEALTHCHECK')[0]!.flags['start-period'] ?? '');
  assert.ok(start && Number(start[1]) >= row.startupFailureThreshold * rules.probePeriodSeconds, 'HEALTHCHECK start-period covers the startup budget');
});

test('docs/deployment.md "Sizing by model" shows the table as the generator prints it', () => {
  const page = fs.readFileSync(path.join(ROOT, 'docs', 'deployment.md'), 'utf8');
  assert.ok(page.includes(sizes.markdownTables()), 'docs/deployment.md is out of date: paste node k8s/sizes/generate.mjs --markdown');
});
