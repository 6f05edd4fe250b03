#!/usr/bin/python3
"""Export the default (randomly initialised) reward model and the test fixtures to ONNX.

Usage (from the repo root): /usr/bin/python3 models/build/export_model.py

Prerequisites: Debian python3 with python3-torch (1.13, CPU) and python3-onnx (1.12);
`node` + `npm ci` (used only to tokenize the synthetic parity strings with
models/default/tokenizer.json, so train-tokenizer.mjs must have run first).

Writes:
  models/default/model.onnx, models/default/config.json, models/default/reward.json
  test/fixtures/models/{all-inputs,unknown-input,bad-output,two-heads}.onnx
  models/build/parity.json  (token ids + torch logits; checked by check-parity.mjs)

The model is a small hand-written pre-LN transformer encoder (no nn.TransformerEncoder
fast path). Weights are random (seeded, std 0.02); a later issue replaces them with a
trained model. Everything is deterministic: fixed seeds, fixed thread count.
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
import torch.nn as nn
import torch.nn.functional as F

T0 = time.time()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_DIR = os.path.join(ROOT, "models", "default")
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures", "models")
PARITY_PATH = os.path.join(ROOT, "models", "build", "parity.json")

VOCAB_SIZE = 4096
MAX_POS = 512
PAD_ID, BOS_ID, EOS_ID = 1, 0, 2
OPSET = 14
MYSTERY_VOCAB = 16

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- model


class SelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        assert d_model % n_heads == 0
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x, mask_bias):
        # x: [B, T, D]; mask_bias: [B, 1, 1, T] additive (0 for real keys, -1e9 for padding)
        b, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)  # [B, H, T, dh]
        k = k.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        v = v.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d_head)
        scores = scores + mask_bias
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, d)
        return self.out(ctx)


class EncoderLayer(nn.Module):
    """Pre-LN block: x + Attn(LN(x)); x + FFN(LN(x)), GELU FFN."""

    def __init__(self, d_model, n_heads, d_ffn):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ffn)
        self.fc2 = nn.Linear(d_ffn, d_model)

    def forward(self, x, mask_bias):
        x = x + self.attn(self.ln1(x), mask_bias)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x


class RewardEncoder(nn.Module):
    """Token + learned position embeddings -> N pre-LN layers -> LN -> h[:, 0] -> linear head.

    Variants (for test fixtures):
      token_type_ids: add an embedding of 2 token types
      position_ids:   take position ids as an input instead of arange(T)
      mystery_ids:    extra int64 [B, T] input added through a tiny embedding
      per_token:      apply the head to every position -> logits [B, T, num_labels]
    """

    def __init__(self, d_model, n_layers, n_heads, d_ffn, num_labels=1, token_type_ids=False,
                 position_ids=False, mystery_ids=False, per_token=False):
        super().__init__()
        self.use_token_type_ids = token_type_ids
        self.use_position_ids = position_ids
        self.use_mystery_ids = mystery_ids
        self.per_token = per_token
        self.tok_emb = nn.Embedding(VOCAB_SIZE, d_model)
        self.pos_emb = nn.Embedding(MAX_POS, d_model)
        self.type_emb = nn.Embedding(2, d_model) if token_type_ids else None
        self.mystery_emb = nn.Embedding(MYSTERY_VOCAB, d_model) if mystery_ids else None
        self.layers = nn.ModuleList([EncoderLayer(d_model, n_heads, d_ffn) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_labels)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, input_ids, attention_mask, *extra):
        extra = list(extra)
        token_type_ids = extra.pop(0) if self.use_token_type_ids else None
        position_ids = extra.pop(0) if self.use_position_ids else None
        mystery_ids = extra.pop(0) if self.use_mystery_ids else None
        assert not extra

        if position_ids is None:
            position_ids = torch.arange(input_ids.shape[1], dtype=torch.long, device=input_ids.device)
            position_ids = position_ids.unsqueeze(0)
        x = self.tok_emb(input_ids) + self.pos_emb(position_ids)
        if token_type_ids is not None:
            x = x + self.type_emb(token_type_ids)
        if mystery_ids is not None:
            x = x + self.mystery_emb(mystery_ids)

        mask = attention_mask.to(x.dtype)[:, None, None, :]  # [B, 1, 1, T], broadcast over heads/queries
        mask_bias = (1.0 - mask) * -1e9
        for layer in self.layers:
            x = layer(x, mask_bias)
        x = self.ln_f(x)
        if self.per_token:
            return self.head(x)  # [B, T, num_labels]
        return self.head(x[:, 0])  # pooled: <s> at position 0 (right padding) -> [B, num_labels]


# --------------------------------------------------------------------------- specs

DEFAULT_CFG = dict(d_model=128, n_layers=2, n_heads=4, d_ffn=512, num_labels=1)
TINY = dict(d_model=32, n_layers=1, n_heads=2, d_ffn=64)

MODELS = [
    # (relative output path, seed, constructor kwargs, input names)
    ("models/default/model.onnx", 0, DEFAULT_CFG, ["input_ids", "attention_mask"]),
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
        if not rel.startswith("models/default") and size >= 1_000_000:
            sys.exit(f"export_model: FAIL: fixture {rel} is {size} bytes (>= 1 MB)")
        n_params = sum(p.numel() for p in model.parameters())
        print(f"exported {rel}: {n_params} params, {size} bytes, torch padding max|delta| {max_delta:.2e}")

        parity["models"][rel] = {
            "inputs": input_names,
            "per_token": per_token,
            "num_labels": kwargs["num_labels"],
            "cases": cases,
        }

    # ---------------------------------------------------------------- HF-style metadata
    config = {
        "architectures": ["RewardEncoderForSequenceClassification"],
        "model_type": "reward-encoder",
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 512,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
        "max_position_embeddings": MAX_POS,
        "vocab_size": VOCAB_SIZE,
        "pad_token_id": PAD_ID,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "id2label": {"0": "reward"},
        "label2id": {"reward": 0},
        "num_labels": 1,
    }
    reward = {
        "name": "hh-tiny-random",
        "input_format": "template",
        "template": "\n\nHuman: {prompt}\n\nAssistant: {response}",
        "max_length": 512,
        "reward_head": 0,
        "normalization": {"mean": 0, "std": 1},
        "temperature": 1,
    }
    with open(os.path.join(DEFAULT_DIR, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    with open(os.path.join(DEFAULT_DIR, "reward.json"), "w") as f:
        f.write(json.dumps(reward, indent=2) + "\n")
    with open(PARITY_PATH, "w") as f:
        f.write(json.dumps(parity, separators=(",", ":")) + "\n")

    lens = [len(s) for s in seqs]
    print(f"parity cases per model: {len(seqs)} (token lengths {lens}); "
          f"torch padding invariance max|delta| {worst_pad:.2e} (< 1e-5)")
    print(f"export_model: OK in {time.time() - T0:.1f} s")


if __name__ == "__main__":
    main()
