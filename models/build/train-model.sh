#!/usr/bin/env bash
# Train the default reward model on the HH-RLHF train split and export it to models/default,
# then check ONNX Runtime against PyTorch (fails the build on a mismatch >= 1e-4).
#
# Run from the repo root:   bash models/build/train-model.sh     (or: npm run train:model)
# Needs the tokenizer (train-tokenizer.mjs) and the split (make-split.mjs) already made;
# build.sh runs everything. CPU only, 2 threads; see models/default/README.md for how long.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON="${PYTHON:-/usr/bin/python3}"
# The final choice, selected on the validation split (models/default/README.md lists the runs).
FINAL_ARGS=(--tag final --max-length 192 --pooling last_turn --dropout 0.1)

echo "== compile the service (training tokenizes with its TokenEncoder)"
npm run build --silent
echo "== train + export models/default"
"$PYTHON" models/build/train_model.py "${FINAL_ARGS[@]}" --export
echo "== check ONNX Runtime parity"
node models/build/check-parity.mjs
