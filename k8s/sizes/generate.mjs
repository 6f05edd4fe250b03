#!/usr/bin/env node
// Deployments sized by the model. k8s/sizes/sizes.json is the one table (figures, the rules they
// follow, the measured point); this script turns each row into a kustomize Component:
//   node k8s/sizes/generate.mjs              # writes k8s/components/<id>/kustomization.yaml
//   node k8s/sizes/generate.mjs --markdown   # prints docs/deployment.md's "Sizing by model" tables
// test/deploy/k8s-sizes.test.ts imports it: the files on disk must be what it writes, every
// figure must meet the rules' minimums, and kustomize must render them into the Deployment.
// Plain Node, no dependencies: it runs before `npm ci` too.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TABLE_PATH = path.join(HERE, 'sizes.json');
export const COMPONENTS_DIR = path.join(HERE, '..', 'components');
export const TABLE = JSON.parse(fs.readFileSync(TABLE_PATH, 'utf8'));

const GiB = 2 ** 30;
const GB = 1e9;
const BYTES = { fp32: 4, fp16: 2 };

/** Parameters of a decoder *ForSequenceClassification with one label, from its config shape. */
export function paramsOf(m) {
  const attention = m.hidden * m.heads * m.headDim * 2 + m.hidden * m.kvHeads * m.headDim * 2 + (m.qkNorm ? 2 * m.headDim : 0);
  const mlp = 3 * m.hidden * m.intermediate;
  const layer = attention + mlp + 2 * m.hidden;
  return m.vocab * m.hidden + m.layers * layer + m.hidden + m.hidden; // + final norm + score head
}

/** The real models of a size (the table's "models", without "about"). */
export const modelsOf = (size) => Object.entries(TABLE.models).filter(([name, m]) => name !== 'about' && m.size === size);

/** A size is sized for its largest model. */
export function sizeInfo(size) {
  const models = modelsOf(size);
  if (!models.length) throw new Error(`no model of size ${size} in ${TABLE_PATH}`);
  const params = Math.max(...models.map(([, m]) => m.params));
  const heads = Math.max(...models.map(([, m]) => m.heads));
  return { names: models.map(([n]) => n), params, heads };
}

export const weightBytes = (row) => sizeInfo(row.size).params * BYTES[row.dtype];
export const modelDir = (row) => `${TABLE.volume.mountPath}/${row.size}-${row.dtype}`;
/** Every setting the component sets: the row's, and MODEL_DIR under the volume. */
export const settingsOf = (row) => ({ MODEL_DIR: modelDir(row), ...row.settings });
export const gi = (q) => {
  const m = /^(\d+)Gi$/.exec(q);
  if (!m) throw new Error(`${q}: memory in whole Gi expected`);
  return Number(m[1]);
};

/** Score elements of the largest batch the settings allow: b items of n tokens, b x n <= MAX_BATCH_TOKENS (one item alone may be longer). */
export function scoreElements(row, maxLengthCap) {
  const heads = sizeInfo(row.size).heads;
  const n = Number(row.settings.MAX_LENGTH_CAP ?? maxLengthCap);
  const batchTokens = row.device === 'gpu' ? Number(row.settings.MAX_BATCH_TOKENS) : n; // CPU: the longest single item
  return heads * n * Math.max(n, batchTokens);
}

/**
 * The least each figure may be under the table's rules, unrounded. maxLengthCap: the service's
 * default MAX_LENGTH_CAP where the row sets none.
 */
export function minimums(row, maxLengthCap = 8192) {
  const r = TABLE.rules;
  const w = weightBytes(row);
  const workspace = scoreElements(row, maxLengthCap) * r.scoreBytesPerElement;
  const startup = Math.max(r.startupMinSeconds, r.startupMargin * ((w / 1e6) / r.volumeMBps + r.sessionSecondsPerGB * (w / GB) + r.startSeconds));
  if (row.device === 'gpu') {
    const host = (w + r.gpuLoadHeadroomGiB * GiB) / GiB;
    return { memoryRequestGiB: host, memoryLimitGiB: host, gpuMemoryGiB: (w + r.cudaContextGiB * GiB + workspace) / GiB, startupSeconds: startup };
  }
  const rest = (w + r.runtimeGiB * GiB) / GiB;
  return { memoryRequestGiB: rest, memoryLimitGiB: rest + workspace / GiB, startupSeconds: startup };
}

/** The figures the rules give, rounded up (whole Gi, whole minutes): what a new row should say. */
export function suggested(row, maxLengthCap = 8192) {
  const m = minimums(row, maxLengthCap);
  const period = TABLE.rules.probePeriodSeconds;
  return {
    memoryRequest: `${Math.ceil(m.memoryRequestGiB)}Gi`,
    memoryLimit: `${Math.ceil(m.memoryLimitGiB)}Gi`,
    ...(m.gpuMemoryGiB !== undefined && { gpuMemoryGiB: Math.ceil(m.gpuMemoryGiB) }),
    startupFailureThreshold: (Math.ceil(m.startupSeconds / 60) * 60) / period,
  };
}

const fmtGB = (bytes) => `${(bytes / GB).toFixed(2)} GB`;
const fmtB = (params) => `${(params / 1e9).toFixed(2)} B`;
const startupOf = (row) => row.startupFailureThreshold * TABLE.rules.probePeriodSeconds;

/** The component of one row, as the file k8s/components/<id>/kustomization.yaml holds it. */
export function componentYaml(row) {
  const { names } = sizeInfo(row.size);
  const w = weightBytes(row);
  const memory =
    row.device === 'gpu'
      ? `# Host RAM: ${row.memoryLimit} (weights + ${TABLE.rules.gpuLoadHeadroomGiB} GiB while ONNX Runtime builds the CUDA session).\n` +
        `# GPU memory: about ${row.gpuMemoryGiB} GiB at the largest batch MAX_BATCH_TOKENS allows (computed).`
      : `# RAM: ${row.memoryRequest} at rest, ${row.memoryLimit} with one ${row.settings.MAX_LENGTH_CAP}-token item (eager attention's score tensors).`;
  const literals = Object.entries(settingsOf(row)).map(([k, v]) => `      - ${k}=${v}\n`).join('');
  return `# Generated by \`node k8s/sizes/generate.mjs\` from k8s/sizes/sizes.json: edit the table, not this file.
# ${row.device.toUpperCase()} pods serving a model of size ${row.size} in ${row.dtype} (${names.join(', ')}), weights ${fmtGB(w)}.
${memory}
# Startup: up to ${startupOf(row)} s to read the weights and create the session.
# Model: the PersistentVolumeClaim ${TABLE.volume.claimName}, read-only at ${TABLE.volume.mountPath}; MODEL_DIR=${modelDir(row)}.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
configMapGenerator:
  - name: reward-server-settings
    behavior: merge
    literals:
${literals}patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: reward-server
      spec:
        template:
          spec:
            containers:
              - name: reward-server
                resources:
                  requests:
                    memory: ${row.memoryRequest}
                  limits:
                    memory: ${row.memoryLimit}
                startupProbe:
                  failureThreshold: ${row.startupFailureThreshold}
                volumeMounts:
                  - name: model
                    mountPath: ${TABLE.volume.mountPath}
                    readOnly: true
            volumes:
              - name: model
                persistentVolumeClaim:
                  claimName: ${TABLE.volume.claimName}
                  readOnly: true
`;
}

/** docs/deployment.md's tables: one for GPU pods, one for CPU pods. */
export function markdownTables() {
  const rows = (device) => TABLE.rows.filter((r) => r.device === device);
  const model = (r) => modelsOf(r.size).map(([name, m]) => `${name} (${fmtB(m.params)})`).join(', ');
  const gpu = [
    '| component | models (params) | weights | host RAM, request = limit | GPU memory, largest batch | `MAX_BATCH_TOKENS` | startup budget |',
    '|---|---|---|---|---|---|---|',
    ...rows('gpu').map((r) => `| \`${r.id}\`${r.id === TABLE.defaults.gpu ? ' (default)' : ''} | ${model(r)} | ${fmtGB(weightBytes(r))} ${r.dtype} | ${r.memoryLimit} | ${r.gpuMemoryGiB} GiB | ${r.settings.MAX_BATCH_TOKENS} | ${startupOf(r)} s |`),
  ];
  const cpu = [
    '| component | models (params) | weights | RAM request (at rest) | RAM limit (longest item) | `MAX_LENGTH_CAP` | startup budget |',
    '|---|---|---|---|---|---|---|',
    ...rows('cpu').map((r) => `| \`${r.id}\` | ${model(r)} | ${fmtGB(weightBytes(r))} ${r.dtype} | ${r.memoryRequest} | ${r.memoryLimit} | ${r.settings.MAX_LENGTH_CAP} | ${startupOf(r)} s |`),
  ];
  return `${gpu.join('\n')}\n\n${cpu.join('\n')}\n`;
}

/** Every component file, by path relative to the repository root. */
export function componentFiles() {
  return Object.fromEntries(TABLE.rows.map((row) => [path.join('k8s', 'components', row.id, 'kustomization.yaml'), componentYaml(row)]));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--markdown')) {
    process.stdout.write(markdownTables());
  } else if (process.argv.includes('--suggest')) {
    for (const row of TABLE.rows) console.log(row.id, JSON.stringify(suggested(row)));
  } else {
    const root = path.join(HERE, '..', '..');
    for (const [rel, text] of Object.entries(componentFiles())) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
      console.log(`wrote ${rel}`);
    }
  }
}
