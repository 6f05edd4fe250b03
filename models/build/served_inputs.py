#!/usr/bin/env python3
"""torch logits of test/fixtures/models/all-inputs.onnx for the inputs the service builds.

Usage (from the repo root, in the venv of importer/requirements-test.txt):
  .venv/bin/python models/build/served_inputs.py

parity.json's all-inputs cases feed token types cut mid-sequence and shifted positions, which the
service never builds, so they cannot check what it does build. Here the items are text pairs as a
client sends them (reward.json "input_format": "pair"): transformers tokenizes each pair with
models/default's tokenizer (token_type_ids 0 for the prompt, 1 for the response), positions run
0..n-1, and the torch model of export_model.py (same seed, checked against parity.json first)
gives the logits. It also records how far the logits move with the two mistakes a server could
make (all token types 0; positions not starting at 0), so the test can tell it would see them.

Writes test/fixtures/models/all-inputs-served.json.
"""

import json
import os
import sys

import torch
from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import MODELS, ROOT, batch, seed_all  # noqa: E402
from reward_model import RewardEncoder  # noqa: E402

FIXTURE = "test/fixtures/models/all-inputs.onnx"
OUT = os.path.join(ROOT, "test", "fixtures", "models", "all-inputs-served.json")
# Benign synthetic pairs of different lengths, so a batch of them is padded.
PAIRS = [
    ("hi", "hello"),
    ("How do I boil an egg?", "Simmer it for nine minutes, then cool it in cold water."),
    ("Name three planets.", "Mercury, Venus and Mars."),
    ("Tell me about gardening. " * 6, "Tomatoes like sun, basil likes warmth, and lettuce prefers cool mornings."),
]


def main():
    torch.set_num_threads(2)
    (rel, seed, kwargs, names), = [m for m in MODELS if m[0] == FIXTURE]
    seed_all(seed)
    model = RewardEncoder(**kwargs).eval()
    with open(os.path.join(ROOT, "models", "build", "parity.json")) as f:
        committed = json.load(f)["models"][rel]["cases"]
    tok = AutoTokenizer.from_pretrained(os.path.join(ROOT, "models", "default"))

    def run(case):
        with torch.no_grad():
            return model(*batch([case], names))[0, 0].item()

    same = max(abs(run(c) - c["logits"][0]) for c in committed)
    if same > 1e-6:
        sys.exit(f"served_inputs: the torch model is not the committed graph's (max |delta| {same:.2e})")

    items, gap = [], float("inf")
    for prompt, response in PAIRS:
        enc = tok(prompt, response, return_token_type_ids=True)
        ids, types = enc["input_ids"], enc["token_type_ids"]
        n = len(ids)
        assert 0 < sum(types) < n, "the pair has token types 0 and 1"
        case = {"input_ids": ids, "token_type_ids": types, "position_ids": list(range(n))}
        logit = run(case)
        wrong = [run(dict(case, token_type_ids=[0] * n)), run(dict(case, position_ids=list(range(1, n + 1))))]
        gap = min(gap, *(abs(w - logit) for w in wrong))
        items.append({"prompt": prompt, "response": response, "input_ids": ids, "token_type_ids": types, "logit": logit})

    out = {"generated_by": "models/build/served_inputs.py", "torch": torch.__version__,
           "max_delta_vs_parity_json": same, "min_gap_to_wrong_inputs": gap, "items": items}
    with open(OUT, "w") as f:
        f.write(json.dumps(out, indent=1) + "\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {len(items)} items, same model as parity.json "
          f"(max |delta| {same:.1e}), wrong token types or positions move a logit by >= {gap:.2e}")


if __name__ == "__main__":
    main()
