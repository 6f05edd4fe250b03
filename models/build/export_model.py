#!/usr/bin/python3
"""Export the test fixture models to ONNX (models/default is trained by train_model.py).

Usage (from the repo root): /usr/bin/python3 models/build/export_model.py

Prerequisites: Debian python3 with python3-torch (1.13, CPU) and python3-onnx (1.12);
`node` + `npm ci` (used only to tokenize the synthetic parity strings with
models/default/tokenizer.json, so train-tokenizer.mjs must have run first).

Writes:
  test/fixtures/models/{all-inputs,unknown-input,bad-output,two-heads}.onnx  (random, seeded)
  test/fixtures/models/token-count.onnx  (hand-built graph: reward = number of real tokens, so
                                          eval tests can compute expected numbers by hand)
  models/build/parity.json  (token ids + torch logits; checked by check-parity.mjs)

The fixtures are the small reward encoder of reward_model.py with random weights (seeded,
std 0.02) and variant inputs/outputs. They use ids < 4096 only, so tests pair them with
models/default's tokenizer. Everything is deterministic: fixed seeds, fixed thread count.
"""

import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reward_model import MYSTERY_VOCAB, PAD_ID, RewardEncoder  # noqa: E402

T0 = time.time()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_DIR = os.path.join(ROOT, "models", "default")
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures", "models")
PARITY_PATH = os.path.join(ROOT, "models", "build", "parity.json")

MAX_POS = 512
OPSET = 14

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- specs

TINY = dict(d_model=32, n_layers=1, n_heads=2, d_ffn=64)

MODELS = [
    # (relative output path, seed, constructor kwargs, input names)
    ("test/fixtures/models/all-inputs.onnx", 1,
     dict(TINY, num_labels=1, token_type_ids=True, position_ids=True),
     ["input_ids", "attention_mask", "token_type_ids", "position_ids"]),
    ("test/fixtures/models/unknown-input.onnx", 2, dict(TINY, num_labels=1, mystery_ids=True),
     ["input_ids", "attention_mask", "mystery_ids"]),
    ("test/fixtures/models/bad-output.onnx", 3, dict(TINY, num_labels=1, per_token=True),
     ["input_ids", "attention_mask"]),
    ("test/fixtures/models/two-heads.onnx", 4, dict(TINY, num_labels=2), ["input_ids", "attention_mask"]),
]

# Synthetic, benign parity strings (tokenized with models/default/tokenizer.json).
PARITY_TEXTS = [
    "",
    "\n\nHuman: hi\n\nAssistant: hello",
    "\n\nHuman: What is a good recipe for pancakes?\n\nAssistant: Mix flour, milk and eggs, then fry.",
    "\n\nHuman: Can you name three planets?\n\nAssistant: Mercury, Venus and Mars. 🌍 地球 also counts.",
    "\n\nHuman: Tell me about gardening.\n\nAssistant: "
    + " ".join(["Tomatoes like sun, basil likes warmth, and lettuce prefers cool mornings."] * 12),
    "\n\nHuman: Please count.\n\nAssistant: " + ", ".join(str(i) for i in range(1, 400)),
]


def tokenize_parity_texts():
    """Tokenize PARITY_TEXTS with the JS runtime tokenizer (same as the service uses)."""
    script = r"""
import fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
const dir = process.argv[1];
const tok = new Tokenizer(JSON.parse(fs.readFileSync(dir + '/tokenizer.json', 'utf8')),
                          JSON.parse(fs.readFileSync(dir + '/tokenizer_config.json', 'utf8')));
const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(texts.map((t) => tok.encode(t).ids)));
"""
    res = subprocess.run(["node", "--input-type=module", "-e", script, DEFAULT_DIR], cwd=ROOT,
                         input=json.dumps(PARITY_TEXTS).encode(), stdout=subprocess.PIPE, check=True)
    seqs = json.loads(res.stdout)
    out = []
    for ids in seqs:
        if len(ids) > MAX_POS:  # truncate from the left (truncation_side left), keep <s>
            ids = [ids[0]] + ids[len(ids) - (MAX_POS - 1):]
        out.append(ids)
    return out


def make_cases(kind_inputs, seqs, seed):
    g = np.random.default_rng(seed)
    cases = []
    for i, ids in enumerate(seqs):
        t = len(ids)
        case = {"input_ids": ids}
        if "token_type_ids" in kind_inputs:
            cut = max(1, t // 2)
            case["token_type_ids"] = [0] * cut + [1] * (t - cut)
        if "position_ids" in kind_inputs:
            offset = 0 if i % 2 == 0 else min(7, MAX_POS - t)  # some cases shift positions
            case["position_ids"] = list(range(offset, offset + t))
        if "mystery_ids" in kind_inputs:
            case["mystery_ids"] = g.integers(0, MYSTERY_VOCAB, size=t).tolist()
        cases.append(case)
    return cases


def to_tensors(case, input_names, length=None):
    t = len(case["input_ids"])
    length = length or t
    pad = length - t
    tensors = []
    for name in input_names:
        if name == "attention_mask":
            vals = [1] * t + [0] * pad
        elif name == "input_ids":
            vals = case["input_ids"] + [PAD_ID] * pad
        else:
            vals = case[name] + [0] * pad
        tensors.append(vals)
    return tensors


def batch(cases, input_names):
    length = max(len(c["input_ids"]) for c in cases)
    per_case = [to_tensors(c, input_names, length) for c in cases]
    return tuple(torch.tensor([pc[j] for pc in per_case], dtype=torch.long) for j in range(len(input_names)))


def export_token_count():
    """reward = number of real tokens (Σ attention_mask), built node by node; input_ids is read
    (times 0) so the graph declares and uses both standard inputs."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["mask_f", "axis1"], ["count"], keepdims=1),
        helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["ids_f", "axis1"], ["ids_sum"], keepdims=1),
        helper.make_node("Mul", ["ids_sum", "zero"], ["nothing"]),
        helper.make_node("Add", ["count", "nothing"], ["logits"]),
    ]
    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        nodes, "token_count",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])],
        initializer=[helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
                     helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="export_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    out = os.path.join(FIXTURE_DIR, "token-count.onnx")
    onnx.save(model, out)
    print(f"exported test/fixtures/models/token-count.onnx: hand-built, {os.path.getsize(out)} bytes")


def main():
    seqs = tokenize_parity_texts()
    parity = {"generated_by": "models/build/export_model.py", "torch": torch.__version__,
              "opset": OPSET, "models": {}}
    worst_pad = 0.0
    for rel, seed, kwargs, input_names in MODELS:
        seed_all(seed)
        model = RewardEncoder(**kwargs).eval()
        per_token = kwargs.get("per_token", False)
        cases = make_cases(input_names, seqs, seed)

        with torch.no_grad():
            # reference logits: each sequence alone (batch 1, no padding)
            for c in cases:
                c["logits"] = model(*batch([c], input_names))[0].tolist()
            # padding invariance: all sequences right-padded together in one batch
            padded = model(*batch(cases, input_names))
            max_delta = 0.0
            for i, c in enumerate(cases):
                ref = torch.tensor(c["logits"])
                got = padded[i, : len(c["input_ids"])] if per_token else padded[i]
                max_delta = max(max_delta, (got - ref).abs().max().item())
        if max_delta >= 1e-5:
            sys.exit(f"export_model: FAIL: padding changes logits of {rel}: max |delta| {max_delta:.3e}")
        worst_pad = max(worst_pad, max_delta)

        # export (example input: the padded batch, so masking is exercised during tracing)
        out_path = os.path.join(ROOT, rel)
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        dynamic_axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
        dynamic_axes["logits"] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
        torch.onnx.export(model, batch(cases, input_names), out_path, input_names=input_names,
                          output_names=["logits"], dynamic_axes=dynamic_axes, opset_version=OPSET,
                          do_constant_folding=True, export_params=True)
        m = onnx.load(out_path)
        onnx.checker.check_model(m)
        got_inputs = [i.name for i in m.graph.input]
        if got_inputs != input_names or [o.name for o in m.graph.output] != ["logits"]:
            sys.exit(f"export_model: FAIL: {rel} has inputs {got_inputs}")
        size = os.path.getsize(out_path)
        if size >= 1_000_000:
            sys.exit(f"export_model: FAIL: fixture {rel} is {size} bytes (>= 1 MB)")
        n_params = sum(p.numel() for p in model.parameters())
        print(f"exported {rel}: {n_params} params, {size} bytes, torch padding max|delta| {max_delta:.2e}")

        parity["models"][rel] = {
            "inputs": input_names,
            "per_token": per_token,
            "num_labels": kwargs["num_labels"],
            "cases": cases,
        }

    with open(PARITY_PATH, "w") as f:
        f.write(json.dumps(parity, separators=(",", ":")) + "\n")

    export_token_count()
    lens = [len(s) for s in seqs]
    print(f"parity cases per model: {len(seqs)} (token lengths {lens}); "
          f"torch padding invariance max|delta| {worst_pad:.2e} (< 1e-5)")
    print(f"export_model: OK in {time.time() - T0:.1f} s")


if __name__ == "__main__":
    main()
