import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checkCuda, CudaUnavailableError, PROVIDER_LIBS } from '../../src/infer/cuda-check.js';
import { filler, post, startApp } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';

// DEVICE_ID 255 cannot exist, so these hold on a GPU host with the CUDA libraries installed too.
const NO_CUDA = { EXECUTION_PROVIDER: 'cuda', DEVICE_ID: '255' };
const CUDA_PROBLEM = /CUDA execution provider library .* not found in .*npm run install:cuda13|needs .* not found on the library path|no NVIDIA GPU found|DEVICE_ID 255 not found/;

test('EXECUTION_PROVIDER=cuda without CUDA stops startup with one line naming what is missing', async () => {
  const s = await spawnServer(NO_CUDA);
  assert.equal(await s.exited, 1);
  const lines = s.stderr().trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${s.stderr()}`);
  assert.match(lines[0]!, /^startup failed: /);
  assert.match(lines[0]!, CUDA_PROBLEM);
  assert.doesNotMatch(s.stderr(), /\n\s+at /, 'no stack trace');
});

test('ALLOW_CPU_FALLBACK serves on CPU, says so in /v1/models and the metric, and scores like CPU', async () => {
  const items = [{ prompt: filler(1, 30), response: 'fine' }, { text: filler(2, 80) }];
  const cpu = await startApp();
  const cpuRewards = (await post(cpu.app, '/score', { items })).body.rewards;
  await cpu.close();

  const t = await startApp({ ...NO_CUDA, ALLOW_CPU_FALLBACK: 'true' });
  try {
    const model = (await t.app.inject({ url: '/v1/models' })).json().data[0];
    assert.equal(model.execution_provider, 'cpu');
    assert.equal(model.device, null);
    assert.match(model.cpu_fallback_reason, CUDA_PROBLEM);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    assert.match(metrics, /reward_model_info\{model="[^"]+",execution_provider="cpu",requested_provider="cuda",device="cpu"\} 1/);
    const res = await post(t.app, '/score', { items });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.rewards, cpuRewards);
  } finally {
    await t.close();
  }
});

test('the default CPU provider reports itself without a fallback reason', async () => {
  const t = await startApp();
  try {
    const model = (await t.app.inject({ url: '/v1/models' })).json().data[0];
    assert.equal(model.execution_provider, 'cpu');
    assert.equal('cpu_fallback_reason' in model, false);
    assert.match((await t.app.inject({ url: '/metrics' })).body, /requested_provider="cpu",device="cpu"\} 1/);
  } finally {
    await t.close();
  }
});

/** A folder holding the provider file names, linked to a real shared library whose needs resolve. */
function standInProviders(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-bin-'));
  const real = fs.realpathSync(process.execPath); // any dynamic ELF object with resolvable needs
  for (const f of PROVIDER_LIBS) fs.symlinkSync(real, path.join(dir, f));
  return dir;
}

test('checkCuda names the provider libraries missing from the ORT folder', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-bin-'));
  assert.throws(() => checkCuda(empty, 0), (err: Error) => {
    assert.ok(err instanceof CudaUnavailableError);
    assert.match(err.message, /libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so not found/);
    assert.match(err.message, /npm run install:cuda13.*npm run install:cuda12/);
    return true;
  });
});

test('checkCuda, libraries present: a missing GPU or device index is named', () => {
  const dir = standInProviders();
  if (fs.existsSync('/dev/nvidia0')) assert.equal(checkCuda(dir, 0, () => null), undefined);
  else assert.throws(() => checkCuda(dir, 0, () => null), /no NVIDIA GPU found \(nvidia-smi is not available and \/dev\/nvidia0 does not exist\)/);
  const one = [{ index: 0, name: 'Some GPU', memoryTotalMiB: 81559, memoryUsedMiB: 0, driver: '580' }];
  assert.throws(() => checkCuda(dir, 1, () => one), /DEVICE_ID 1 not found: nvidia-smi lists 1 GPU\(s\) \(0\)/);
  assert.deepEqual(checkCuda(dir, 0, () => one), one[0]);
});
