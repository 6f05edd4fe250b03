#!/usr/bin/env node
// Installs ONNX Runtime 1.29.0's CUDA 13 execution provider from the npm registry alone.
// The npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 ships the provider libraries
// built for CUDA 13; ORT loads them from the folder of its own libonnxruntime.so.1, so they are
// copied there. It is fetched with `npm pack` (honours an npm mirror) and is never a dependency:
// `npm ci` stays CPU-only and 230 MB lighter.
//
// Usage: npm run install:cuda13 [-- --from <package .tgz | folder holding the .so files>]
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const ORT_VERSION = '1.29.0';
const PKG = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';
// The registry's integrity for that exact tarball; npm pack checks it too, this pins it.
const PKG_INTEGRITY = 'sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==';
const LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_tensorrt.so'];
const IN_PKG = 'package/Plugins/Linux/x64';

const fail = (msg) => {
  process.stderr.write(`install:cuda13: ${msg}\n`);
  process.exit(1);
};

/** True when the file's bytes contain the version string (ORT embeds it in each library). */
export function containsVersion(file, version) {
  return fs.readFileSync(file).includes(Buffer.from(`\0${version}\0`));
}

function ortBinDir() {
  const req = createRequire(path.join(process.cwd(), 'package.json'));
  const pkgJson = req.resolve('onnxruntime-node/package.json');
  const { version } = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  if (version !== ORT_VERSION) fail(`onnxruntime-node is ${version}; these CUDA 13 libraries are ORT ${ORT_VERSION}. Pin onnxruntime-node to ${ORT_VERSION}.`);
  return path.join(path.dirname(pkgJson), 'bin', 'napi-v6', 'linux', 'x64');
}

/** Unpacks the package tarball (fetched with npm pack unless given) and returns the folder of the .so files. */
function fetchLibs(from) {
  if (from && fs.statSync(from).isDirectory()) return from;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-cuda13-'));
  let tgz = from;
  if (!tgz) {
    process.stderr.write(`fetching ${PKG} from the npm registry (~180 MB)…\n`);
    const name = execFileSync('npm', ['pack', PKG, '--pack-destination', tmp, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
    tgz = path.join(tmp, name);
  }
  const digest = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(tgz)).digest('base64');
  if (digest !== PKG_INTEGRITY) fail(`${tgz} is not ${PKG} (integrity ${digest.slice(0, 24)}…, expected ${PKG_INTEGRITY.slice(0, 24)}…)`);
  execFileSync('tar', ['xzf', tgz, '-C', tmp, ...LIBS.map((l) => `${IN_PKG}/${l}`)]);
  return path.join(tmp, IN_PKG);
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`only linux/x64 has these libraries (this is ${process.platform}/${process.arch})`);
  const args = process.argv.slice(2);
  const from = args[0] === '--from' ? path.resolve(args[1] ?? fail('--from needs a path')) : undefined;
  if (from && !fs.existsSync(from)) fail(`${from} does not exist`);
  const bin = ortBinDir();
  const core = path.join(bin, 'libonnxruntime.so.1');
  if (!containsVersion(core, ORT_VERSION)) fail(`${core} is not ONNX Runtime ${ORT_VERSION}`);
  const src = fetchLibs(from);
  for (const lib of LIBS) {
    const file = path.join(src, lib);
    if (!fs.existsSync(file)) fail(`${file} is missing`);
    // The tiny shared bridge carries no version string; the two providers do.
    if (lib !== 'libonnxruntime_providers_shared.so' && !containsVersion(file, ORT_VERSION)) fail(`${lib} is not built from ONNX Runtime ${ORT_VERSION}; refusing to mix versions`);
  }
  for (const lib of LIBS) fs.copyFileSync(path.join(src, lib), path.join(bin, lib));
  process.stdout.write(`installed ${LIBS.join(', ')} (ORT ${ORT_VERSION}, CUDA 13) into ${bin}\n`);
  let ldd = '';
  try {
    ldd = execFileSync('ldd', [path.join(bin, 'libonnxruntime_providers_cuda.so')], { encoding: 'utf8' });
  } catch {
    return;
  }
  const missing = [...ldd.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
  if (missing.length) {
    process.stdout.write(
      `not yet on the library path: ${missing.join(', ')}. Install the CUDA 13 runtime (cuBLAS, cudart, cuRAND, cuDNN 9) and add its folder to LD_LIBRARY_PATH before EXECUTION_PROVIDER=cuda.\n`,
    );
  } else {
    process.stdout.write('every CUDA library it needs resolves; start with EXECUTION_PROVIDER=cuda\n');
  }
}

main();
