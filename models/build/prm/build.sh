#!/usr/bin/env bash
# Rebuild the process / multi-objective reward-model fixtures and their torch references.
# Run from anywhere: bash models/build/prm/build.sh  (needs Debian's /usr/bin/python3 with torch
# 1.13 and onnx 1.12, and `npm ci` for the Rust `tokenizers` binding). Deterministic.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
"${PYTHON:-/usr/bin/python3}" -W ignore models/build/prm/build.py
