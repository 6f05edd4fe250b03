// Preflight for the CUDA execution provider. ONNX Runtime only says "Failed to load shared
// library" when the provider cannot start; these checks name the missing file or device and how
// to install it, before a session is created.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The GPU a CUDA session runs on, as nvidia-smi reports it. */
export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  driver: string;
}

/** Thrown when the CUDA provider cannot run here; the message is one line saying what to do. */
export class CudaUnavailableError extends Error {
  override name = 'CudaUnavailableError';
}

/** The provider libraries ORT loads from its own folder, next to libonnxruntime.so.1. */
export const PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

const INSTALL_HINT =
  'install them with `npm run install:cuda13` (CUDA 13, npm registry only) or `npm run install:cuda12` (CUDA 12 + cuDNN 9, downloads from NuGet); see docs/deployment.md "GPU"';

/** Libraries `ldd` cannot resolve for `lib` (with the current LD_LIBRARY_PATH); [] if ldd is absent. */
export function unresolvedLibs(lib: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [lib], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return []; // no ldd (or not a dynamic object): ORT's own load error will have to do
  }
  return [...out.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
}

/** Every GPU nvidia-smi lists, or null when nvidia-smi is not installed or finds no driver. */
export function listGpus(): GpuInfo[] | null {
  let out: string;
  try {
    out = execFileSync(
      'nvidia-smi',
      ['--query-gpu=index,name,memory.total,memory.used,driver_version', '--format=csv,noheader,nounits'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 },
    );
  } catch {
    return null;
  }
  return out
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [index, name, total, used, driver] = line.split(',').map((s) => s.trim());
      return { index: Number(index), name: name!, memoryTotalMiB: Number(total), memoryUsedMiB: Number(used), driver: driver! };
    });
}

/**
 * Checks, in order, that the provider libraries are in `binDir`, that their CUDA dependencies
 * resolve, and that a GPU with index `deviceId` is present.
 * @returns the GPU as nvidia-smi reports it, or undefined when nvidia-smi is absent but a device node exists.
 * @throws CudaUnavailableError naming the first missing library or device.
 */
export function checkCuda(binDir: string, deviceId: number, gpus: () => GpuInfo[] | null = listGpus): GpuInfo | undefined {
  const absent = PROVIDER_LIBS.filter((f) => !fs.existsSync(path.join(binDir, f)));
  if (absent.length > 0) {
    throw new CudaUnavailableError(`CUDA execution provider library ${absent.join(', ')} not found in ${binDir}: ${INSTALL_HINT}`);
  }
  const missing = unresolvedLibs(path.join(binDir, 'libonnxruntime_providers_cuda.so'));
  if (missing.length > 0) {
    throw new CudaUnavailableError(
      `libonnxruntime_providers_cuda.so needs ${missing.join(', ')}, not found on the library path: install the CUDA runtime libraries it was built for (cuBLAS, cuDNN, cudart, cuRAND) and add their folder to LD_LIBRARY_PATH`,
    );
  }
  const list = gpus();
  if (list === null) {
    if (fs.existsSync(`/dev/nvidia${deviceId}`)) return undefined;
    throw new CudaUnavailableError(
      `no NVIDIA GPU found (nvidia-smi is not available and /dev/nvidia${deviceId} does not exist): run on a GPU host with the NVIDIA driver, or set EXECUTION_PROVIDER=cpu`,
    );
  }
  // CUDA numbers devices after CUDA_VISIBLE_DEVICES; nvidia-smi numbers them physically.
  const visible = process.env.CUDA_VISIBLE_DEVICES?.split(',').map((s) => s.trim());
  const physical = visible && /^\d+$/.test(visible[deviceId] ?? '') ? Number(visible[deviceId]) : deviceId;
  const gpu = list.find((g) => g.index === physical);
  if (!gpu) {
    throw new CudaUnavailableError(
      `DEVICE_ID ${deviceId} not found: nvidia-smi lists ${list.length} GPU(s) (${list.map((g) => g.index).join(', ') || 'none'})`,
    );
  }
  return gpu;
}
