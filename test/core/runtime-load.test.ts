import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createRuntime } from '../../src/core/runtime.js';
import type { Backend } from '../../src/infer/backend.js';
import { OrtBackend, type OrtBackendOptions } from '../../src/infer/ort-backend.js';
import { createMetrics } from '../../src/metrics.js';
import { ModelLoadError } from '../../src/model/model-folder.js';
import { modelDir, testConfig } from '../helpers/app.js';

/** OrtBackend.create, recording each backend it made and whether it was closed. */
function recordingFactory() {
  const made: { closed: boolean }[] = [];
  const factory = async (opts: OrtBackendOptions): Promise<Backend> => {
    const backend = await OrtBackend.create(opts);
    const record = { closed: false };
    made.push(record);
    const close = backend.close.bind(backend);
    backend.close = async () => {
      record.closed = true;
      await close();
    };
    return backend;
  };
  return { made, factory };
}

test('the session loads while the tokenizers load; a tokenizer that fails closes it and names tokenizer.json', async () => {
  const dir = modelDir();
  // Valid JSON that no tokenizer library accepts: the folder reads, the tokenizer workers fail.
  const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ ...tok, model: { type: 'NoSuchModel' } }));
  const { made, factory } = recordingFactory();
  await assert.rejects(
    createRuntime(testConfig({ MODEL_DIR: dir, INFER_WORKERS: '1' }), createMetrics(), factory),
    (err: unknown) => err instanceof ModelLoadError && err.message.startsWith(`${path.join(dir, 'tokenizer.json')}: cannot load tokenizer (`),
  );
  assert.equal(made.length, 1, 'the session was created alongside the tokenizers');
  assert.equal(made[0]!.closed, true, 'and closed when they failed');
});

test('a model that loads is served by the backend made for it, and closing the runtime closes it', async () => {
  const { made, factory } = recordingFactory();
  const rt = await createRuntime(testConfig({ MODEL_DIR: modelDir(), INFER_WORKERS: '1' }), createMetrics(), factory);
  try {
    await rt.selfCheck();
    assert.equal(made.length, 1);
    assert.equal(made[0]!.closed, false);
  } finally {
    await rt.close();
  }
  assert.equal(made[0]!.closed, true);
});
