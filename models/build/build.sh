#!/usr/bin/env bash
# Rebuild the committed model artifacts (models/default/*, test/fixtures/models/*.onnx,
# models/build/parity.json) deterministically, then verify them.
#
# Run from the repo root:   bash models/build/build.sh     (or: npm run build:models)
#
# Prerequisites (Debian 12 / bookworm; this is how it was run, CPU only, 2 cores):
#   apt-get install -y python3-torch python3-onnx libopenblas0-pthread   # torch 1.13, onnx 1.12
#   npm ci                # tokenizers 0.23.2 (Rust binding), @huggingface/tokenizers 0.2.0,
#                         # onnxruntime-node 1.29.0
#   node >= 20
# Python is Debian's /usr/bin/python3 on purpose (a pyenv/venv python3 on PATH lacks torch).
#
# Steps:
#   1. train-tokenizer.mjs : byte-level BPE (4096 tokens) on models/data/harmless-base-dev.jsonl.gz,
#                            verified identical in the Rust and JS tokenizer libraries
#   2. export_model.py     : seeded random-weight reward encoder + test fixtures -> ONNX (opset 14),
#                            torch reference logits -> models/build/parity.json
#   3. check-parity.mjs    : onnxruntime-node vs torch (< 1e-4) and padding invariance (< 1e-5)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON="${PYTHON:-/usr/bin/python3}"

echo "== 1/3 train tokenizer"
node models/build/train-tokenizer.mjs
echo "== 2/3 export ONNX models"
"$PYTHON" models/build/export_model.py
echo "== 3/3 check ONNX Runtime parity"
node models/build/check-parity.mjs
echo "== done"
