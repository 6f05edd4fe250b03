#!/usr/bin/env bash
# The GPU check of issue "GPU", run in one go on the device machine (no network, root, CUDA 13
# libraries inside its PyTorch environment). Earlier calls left the CUDA provider library there
# in xz chunks under /tmp/dev; this call carries .dev/ with the last chunk, node and the
# production node_modules + dist. Everything it measures goes to $OUT.
#
#   bash bench/gpu/run-device.sh        (see bench/gpu/README.md for how the payload is made)
set -uo pipefail
OUT=${OUT:-/tmp/out}
DEV=/tmp/dev
mkdir -p "$OUT" "$DEV"
exec > >(tee -a "$OUT/device.log") 2>&1
step() { echo "== $(date +%T) $*"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
nproc

step "node"
mkdir -p /tmp/nodebin
xz -dc .dev/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
export PATH=/tmp/nodebin:$PATH
node --version || exit 1

step "node_modules + dist"
tar xJf .dev/nm.tar.xz || exit 1

step "reassemble the CUDA provider"
cp .dev/cuda.part-* "$DEV"/ 2>/dev/null
cat "$DEV"/cuda.part-* | xz -dc > "$DEV/libonnxruntime_providers_cuda.so" || exit 1
cp .dev/libonnxruntime_providers_shared.so .dev/libonnxruntime_providers_tensorrt.so "$DEV"/
(cd "$DEV" && sha256sum -c "$OLDPWD/.dev/SHA256SUMS" --ignore-missing) || exit 1

step "install:cuda13 from the folder"
# Every folder holding a CUDA 13 / cuDNN 9 library of the PyTorch environment, and the driver's.
NV=$(python3 -c 'import nvidia; print(" ".join(nvidia.__path__))' 2>/dev/null)
LIBDIRS=$(find $NV /opt /usr/local /usr/lib /usr/lib64 /lib64 \( -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcudart.so.13*' -o -name 'libcurand.so.10*' \
  -o -name 'libcudnn.so.9*' -o -name 'libcufft.so.12*' -o -name 'libnvrtc.so.13*' -o -name 'libcuda.so.1' \) -print 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)
export LD_LIBRARY_PATH=$LIBDIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
node scripts/install-cuda13.mjs --from "$DEV" || exit 1

step "BERT-base exports (background)"
( python3 bench/gpu/make_bert_base.py /tmp/bert-base > "$OUT/export.log" 2>&1 &&
  python3 bench/gpu/make_bert_base.py /tmp/bert-base-fp16 --fp16 >> "$OUT/export.log" 2>&1; echo "export rc=$?" >> "$OUT/export.log" ) &
EXPORT=$!

export BENCH_OUT=$OUT/gpu.jsonl
step "default model"
node dist/bench/gpu-check.js --model-dir models/default --label default --layers 2 --hidden 128 --ffn 512 --clients 1,4,16 --seconds 10

wait $EXPORT; cat "$OUT/export.log" | grep -v Warning | tail -5
step "BERT-base fp32"
B="--layers 12 --hidden 768 --ffn 3072 --seconds 10"
node dist/bench/gpu-check.js --model-dir /tmp/bert-base --label bert-base-fp32 $B --clients 1,4,16
GPU_MAX_BATCH_TOKENS=16384 node dist/bench/gpu-check.js --model-dir /tmp/bert-base --label bert-base-fp32-16k $B --clients 16 --cpu-parity false
step "BERT-base fp16"
node dist/bench/gpu-check.js --model-dir /tmp/bert-base-fp16 --label bert-base-fp16 $B --clients 4,16 --parity-items 16
GPU_MAX_BATCH_TOKENS=16384 node dist/bench/gpu-check.js --model-dir /tmp/bert-base-fp16 --label bert-base-fp16-16k $B --clients 16 --cpu-parity false
step "done"
