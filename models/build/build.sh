#!/usr/bin/env bash
# Rebuild every committed model artifact from models/data, deterministically, then verify.
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
#   1. make-split.mjs      : deterministic train/val/test split -> models/data/split.json,
#                            models/data/hh-harmless-test.jsonl.gz
#   2. train-tokenizer.mjs : byte-level BPE (4096 tokens) on the TRAIN split texts, verified
#                            identical in the Rust and JS tokenizer libraries
#   3. export_model.py     : seeded random-weight test fixtures -> test/fixtures/models/*.onnx,
#                            torch reference logits -> models/build/parity.json
#   4. train-model.sh      : train the default model (minutes, see models/default/README.md),
#                            export models/default, check ONNX Runtime vs torch (< 1e-4) and
#                            padding invariance (< 1e-5) for every model
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON="${PYTHON:-/usr/bin/python3}"

echo "== 1/4 split"
node models/build/make-split.mjs
echo "== 2/4 train tokenizer"
node models/build/train-tokenizer.mjs
echo "== 3/4 export test fixtures"
"$PYTHON" models/build/export_model.py
echo "== 4/4 train, export and check the default model"
bash models/build/train-model.sh
echo "== done"
