#!/usr/bin/python3
"""Build the process / multi-objective reward-model fixtures and their torch references.

Usage (from the repo root): /usr/bin/python3 models/build/prm/build.py   (or bash models/build/prm/build.sh)

Tiny random-weight decoders (models/build/decoder-rm/decoder_rm.py, Llama-shaped, hidden 16) on
the default model's byte-level BPE tokenizer with two added tokens: `<extra_0>` (special, the
Qwen2.5-Math-PRM step tag) and `ки` (the Math-Shepherd step tag). Writes:

  test/fixtures/prm/tokenizer.json, tokenizer_config.json   shared by the three folders (symlinks)
  test/fixtures/models/prm-2label/      logits [batch, seq, 2]: Qwen2.5-Math-PRM's head (step reward
                                        = softmax(logits)[1] at each `<extra_0>`)
  test/fixtures/models/prm-shepherd/    logits [batch, seq, vocab]: a causal LM (Math-Shepherd: step
                                        reward = softmax(logits[[+, -]])[0] at each `ки`)
  test/fixtures/models/armo-rm/         rewards [batch, K] and score [batch, 1] (ArmoRM's outputs:
                                        objectives at the last non-pad token, gated sum)
  test/fixtures/prm/reference.json      torch forward of the same weights on every item of items.json,
                                        ids from the Rust `tokenizers` binding (tokenize.mjs)

Deterministic: seeded weights, fixed thread count.
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "decoder-rm"))
from decoder_rm import DecoderModel, init_weights  # noqa: E402

FIXTURES = os.path.join(ROOT, "test", "fixtures")
SHARED = os.path.join(FIXTURES, "prm")
OPSET = 14
PAD = 1  # <pad> of the default tokenizer
TEMPLATE = "\n\nHuman: {prompt}\n\nAssistant: {response}"
OBJECTIVES = ["helpsteer-helpfulness", "helpsteer-correctness", "helpsteer-coherence", "helpsteer-complexity", "helpsteer-verbosity"]

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

with open(os.path.join(ROOT, "models", "default", "tokenizer.json"), encoding="utf-8") as f:
    BASE_TOK = json.load(f)
VOCAB = len(BASE_TOK["model"]["vocab"]) + 2
TAG_ID, SHEPHERD_TAG_ID = VOCAB - 2, VOCAB - 1

CFG = dict(model_type="llama", vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
           num_key_value_heads=1, head_dim=8, intermediate_size=48, rms_norm_eps=1e-5, rope_theta=10000.0,
           rope_scaling=None, max_position_embeddings=512, pad_token_id=PAD, bos_token_id=0, eos_token_id=2,
           torch_dtype="float32")

# What each folder's reward.json says (the service's contract; documented in models/README.md).
STEPS = {
    "prm-2label": {"tag": "<extra_0>", "positive_label": 1, "aggregate": "min", "step_suffix": "<extra_0>", "step_separator": ""},
    "prm-shepherd": {"tag": "ки", "candidates": ["+", "-"], "aggregate": "min", "step_suffix": " ки", "step_separator": "\n"},
}


class TokenHead(nn.Module):
    """Decoder with a per-position linear head: [batch, seq, labels] (2 for the PRM, vocab for the LM)."""

    def __init__(self, labels):
        super().__init__()
        self.model = DecoderModel(CFG)
        self.score = nn.Linear(CFG["hidden_size"], labels, bias=False)

    def forward(self, input_ids, attention_mask):
        return self.score(self.model(input_ids, attention_mask))


class Armo(nn.Module):
    """ArmoRM's outputs: K objective rewards at the last non-pad token and a gated combination."""

    def __init__(self):
        super().__init__()
        self.model = DecoderModel(CFG)
        self.regression_layer = nn.Linear(CFG["hidden_size"], len(OBJECTIVES), bias=False)
        self.gating = nn.Linear(CFG["hidden_size"], len(OBJECTIVES), bias=False)

    def forward(self, input_ids, attention_mask):
        hidden = self.model(input_ids, attention_mask)
        non_pad = (input_ids != PAD).to(torch.int32)
        last = (torch.arange(input_ids.shape[-1], dtype=torch.int32) * non_pad).argmax(-1)
        h = hidden[torch.arange(input_ids.shape[0]), last]
        rewards = self.regression_layer(h)
        gate = torch.softmax(self.gating(h), dim=-1)
        score = (gate * rewards).sum(-1, keepdim=True)
        return rewards, score


def build(name):
    if name == "prm-2label":
        m = TokenHead(2)
    elif name == "prm-shepherd":
        m = TokenHead(VOCAB)
    else:
        m = Armo()
    seed = {"prm-2label": 5, "prm-shepherd": 7, "armo-rm": 9}[name]
    init_weights(m, seed)
    with torch.no_grad():  # heads of the usual scale: step probabilities spread over (0, 1)
        g = torch.Generator().manual_seed(seed + 100)
        for n, p in sorted(m.named_parameters()):
            if not n.startswith("model."):
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 if name != "armo-rm" else 1.0))
    return m.eval()


def export(name, model):
    out = os.path.join(FIXTURES, "models", name)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, PAD, PAD]], dtype=torch.int64)
    mask = (ids != PAD).to(torch.int64)
    outputs = ["rewards", "score"] if name == "armo-rm" else ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"}}
    for o in outputs:
        axes[o] = {0: "batch_size"} if name == "armo-rm" else {0: "batch_size", 1: "sequence_length"}
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "model.onnx")
        torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"], output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
        m = onnx.load(path)
    finally:
        shutil.rmtree(tmp)
    m.producer_name, m.producer_version = "prm/build.py (torch.onnx.export)", torch.__version__
    onnx.checker.check_model(m)
    onnx.save_model(m, os.path.join(out, "model.onnx"))
    cfg = dict(CFG)
    if name == "armo-rm":
        cfg.update(architectures=["LlamaForRewardModelWithGating"], num_labels=len(OBJECTIVES),
                   id2label={str(i): n for i, n in enumerate(OBJECTIVES)})
        reward = {"name": name, "input_format": "template", "max_length": 128, "outputs": {"reward": "score", "heads": "rewards"}}
    else:
        cfg.update(architectures=["LlamaForProcessRewardModel" if name == "prm-2label" else "LlamaForCausalLM"])
        if name == "prm-2label":
            cfg.update(num_labels=2, id2label={"0": "negative", "1": "positive"})
        reward = {"name": name, "input_format": "template", "max_length": 128, "steps": STEPS[name]}
    for fname, obj in (("config.json", cfg), ("reward.json", reward)):
        with open(os.path.join(out, fname), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")
    for fname in ("tokenizer.json", "tokenizer_config.json"):
        os.symlink(os.path.join("..", "..", "prm", fname), os.path.join(out, fname))
    return reward


def write_tokenizer():
    os.makedirs(SHARED, exist_ok=True)
    tok = json.loads(json.dumps(BASE_TOK))
    tok["added_tokens"].append({"id": TAG_ID, "content": "<extra_0>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True})
    tok["added_tokens"].append({"id": SHEPHERD_TAG_ID, "content": "ки", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": False})
    with open(os.path.join(SHARED, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(ROOT, "models", "default", "tokenizer_config.json"), encoding="utf-8") as f:
        tcfg = json.load(f)
    tcfg["model_max_length"] = 512
    tcfg["additional_special_tokens"] = ["<extra_0>"]
    with open(os.path.join(SHARED, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tcfg, f, indent=2)
        f.write("\n")


def softmax_pick(row, cols, pick):
    return torch.softmax(row[cols].double(), dim=-1)[pick].item()


AGG = {"min": min, "last": lambda xs: xs[-1], "product": lambda xs: math.prod(xs), "mean": lambda xs: sum(xs) / len(xs)}


def main():
    write_tokenizer()
    with open(os.path.join(SHARED, "items.json"), encoding="utf-8") as f:
        items = json.load(f)["items"]
    models = {name: build(name) for name in ("prm-2label", "prm-shepherd", "armo-rm")}
    rewards_json = {name: export(name, m) for name, m in models.items()}
    texts = {}
    for name in models:
        steps = rewards_json[name].get("steps", STEPS["prm-2label"])
        for it in items:
            response = steps["step_separator"].join(s + steps["step_suffix"] for s in it["steps"])
            texts.setdefault(name, []).append(TEMPLATE.replace("{prompt}", it["prompt"]).replace("{response}", response))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(src, "w", encoding="utf-8") as f:
            json.dump({"tokenizer": os.path.join(SHARED, "tokenizer.json"), "texts": texts}, f, ensure_ascii=False)
        subprocess.run(["node", os.path.join(HERE, "tokenize.mjs"), src, dst], check=True, cwd=ROOT)
        with open(dst, encoding="utf-8") as f:
            ids_by_model = json.load(f)
    plus, minus = BASE_TOK["model"]["vocab"]["+"], BASE_TOK["model"]["vocab"]["-"]
    out = {"note": "torch forward (models/build/prm/build.py) of each item alone, batch 1, no padding; ids from the Rust "
                   "tokenizers binding with special tokens; items longer than max_length cut from the left as "
                   "[<s>] + last (max_length - 2) text tokens + [</s>].",
           "plus_id": plus, "minus_id": minus, "tag_ids": {"prm-2label": TAG_ID, "prm-shepherd": SHEPHERD_TAG_ID}, "models": {}}
    for name, model in models.items():
        cases = {}
        max_length = rewards_json[name]["max_length"]
        for it, text, ids in zip(items, texts[name], ids_by_model[name]):
            full_tags = None
            truncated = len(ids) > max_length
            if truncated:
                body = ids[1:-1]
                ids = [ids[0]] + body[len(body) - (max_length - 2):] + [ids[-1]]
            x = torch.tensor([ids], dtype=torch.int64)
            with torch.no_grad():
                y = model(x, torch.ones_like(x))
            case = {"text": text, "ids": ids, "truncated": truncated}
            if name == "armo-rm":
                case["rewards"] = y[0][0].tolist()
                case["score"] = y[1][0, 0].item()
            else:
                tag = TAG_ID if name == "prm-2label" else SHEPHERD_TAG_ID
                cols, pick = ([0, 1], 1) if name == "prm-2label" else ([plus, minus], 0)
                token = [softmax_pick(y[0, p], cols, pick) for p in range(len(ids))]
                steps = [token[p] for p, t in enumerate(ids) if t == tag]
                case.update(token_rewards=token, step_rewards=steps, steps=len(it["steps"]))
                case["aggregates"] = {k: (f(steps) if steps else None) for k, f in AGG.items()}
            cases[it["id"]] = case
        out["models"][name] = {"max_length": max_length, "cases": cases}
        print(f"{name}: {len(cases)} cases, tokens {min(len(c['ids']) for c in cases.values())}..{max(len(c['ids']) for c in cases.values())}")
    with open(os.path.join(SHARED, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for folder in (SHARED, *(os.path.join(FIXTURES, "models", n) for n in models)):
        for fn in sorted(os.listdir(folder)):
            p = os.path.join(folder, fn)
            if not os.path.islink(p):
                with open(p, "rb") as f:
                    print(f"  {os.path.relpath(p, ROOT)}: {os.path.getsize(p)} bytes, sha256 {hashlib.sha256(f.read()).hexdigest()}")


if __name__ == "__main__":
    main()
