#!/usr/bin/python3
"""Train the default reward model (Bradley–Terry) on the HH-RLHF train split, select on validation,
and (with --export) write models/default/{model.onnx,config.json,reward.json} (and
model_max_length in tokenizer_config.json), models/build/parity-default.json and
models/build/train-run.json (the run's record); every run writes models/build/.cache/runs/<tag>.json.

Usage (from the repo root; models/build/train-model.sh runs the whole chain):
  node models/build/tokenize-data.mjs 384        # ids from the service's own tokenizer code
  /usr/bin/python3 models/build/train_model.py --tag final --export [options]

Loss: -log σ(r(chosen) − r(rejected)) per pair. Early stopping on validation BT loss (patience
epochs without improvement), the best epoch's weights kept. Normalization mean/std: rewards of
the training texts. Temperature: the T > 0 minimising validation NLL of σ(Δ/T). Test metrics are
computed only with --export (the final choice), never used to select anything.

Prints numbers only (the data is offensive red-team text and is never printed).
"""

import argparse
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
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reward_model import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, RewardEncoder  # noqa: E402

T0 = time.time()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "models", "build", ".cache")
DEFAULT_DIR = os.path.join(ROOT, "models", "default")
OPSET = 14
MAX_ONNX_BYTES = 20 * 1024 * 1024

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--tag", required=True)
    p.add_argument("--max-length", type=int, default=192)
    p.add_argument("--truncation", choices=["left", "right"], default="left",
                   help="left: the service's own (keeps the final turns); right: experiment only, keeps the start")
    p.add_argument("--pooling", choices=["bos", "mean", "last_turn"], default="last_turn")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--batch-pairs", type=int, default=16)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export", action="store_true", help="write models/default and evaluate on test")
    return p.parse_args()


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_tokens(max_length, truncation):
    """Ids as the service makes them (left truncation); for the right-truncation experiment, the
    untruncated ids cut at the end instead (<s> body[:L-2] </s>)."""
    want = max_length if truncation == "left" else 100000
    path = os.path.join(CACHE, "tokens.json")
    if not os.path.exists(path) or json.load(open(path))["max_length"] != want:
        subprocess.run(["node", "models/build/tokenize-data.mjs", str(want)], cwd=ROOT, check=True)
    data = json.load(open(path))
    assert data["max_length"] == want and data["pad_id"] == PAD_ID
    if truncation == "right":
        cut = lambda ids: ids if len(ids) <= max_length else ids[: max_length - 1] + [EOS_ID]  # noqa: E731
        for p in data["pairs"]:
            p["chosen"], p["rejected"] = cut(p["chosen"]), cut(p["rejected"])
    return data


def pad_batch(seqs):
    length = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), length), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(seqs), length), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def batches_by_length(pairs, size, rng=None):
    """Pairs sorted by length cut into batches (little padding); batch order shuffled if rng."""
    order = sorted(range(len(pairs)), key=lambda i: max(len(pairs[i]["chosen"]), len(pairs[i]["rejected"])))
    out = [order[k: k + size] for k in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(out)
    return out


def pair_rewards(model, pairs, batch):
    """Rewards (chosen, rejected) for every pair, as float64 numpy arrays."""
    rc = np.zeros(len(pairs))
    rr = np.zeros(len(pairs))
    with torch.no_grad():
        for idx in batches_by_length(pairs, batch):
            ids, mask = pad_batch([pairs[i]["chosen"] for i in idx] + [pairs[i]["rejected"] for i in idx])
            r = model(ids, mask)[:, 0].double().numpy()
            rc[idx] = r[: len(idx)]
            rr[idx] = r[len(idx):]
    return rc, rr


def metrics(delta, temperature=1.0):
    """Accuracy (strict >), ties, mean margin, BT loss and ECE of σ(Δ/T) over 10 bins, both orders."""
    p = 1.0 / (1.0 + np.exp(-delta / temperature))
    probs = np.concatenate([p, 1.0 - p])
    outcome = np.concatenate([np.ones_like(p), np.zeros_like(p)])
    bins = np.minimum((probs * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        sel = bins == b
        if sel.any():
            ece += sel.sum() / len(probs) * abs(probs[sel].mean() - outcome[sel].mean())
    return {
        "accuracy": float((delta > 0).mean()),
        "ties": int((delta == 0).sum()),
        "mean_margin": float(delta.mean()),
        "loss": float(np.logaddexp(0, -delta / temperature).mean()),
        "ece": float(ece),
    }


def fit_temperature(delta):
    """T > 0 minimising the NLL of σ(Δ/T) (golden-section search on log T)."""
    f = lambda lt: np.logaddexp(0, -delta / math.exp(lt)).mean()  # noqa: E731
    lo, hi = math.log(0.01), math.log(100.0)
    g = (math.sqrt(5) - 1) / 2
    for _ in range(100):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(a) < f(b):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def train(args, data):
    split = {s: [p for p in data["pairs"] if p["split"] == s] for s in ("train", "val", "test")}
    seed_all(args.seed)
    model = RewardEncoder(d_model=args.d_model, n_layers=args.layers, n_heads=args.heads, d_ffn=args.ffn,
                          max_pos=args.max_length, dropout=args.dropout, pooling=args.pooling,
                          marker_ids=data["marker_ids"])
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(len(split["train"]) / args.batch_pairs)
    total = steps_per_epoch * args.epochs
    warmup = max(1, steps_per_epoch // 2)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    rng = random.Random(args.seed)

    print(f"[{args.tag}] params {n_params}, train {len(split['train'])} / val {len(split['val'])} pairs, "
          f"max_length {args.max_length} ({args.truncation} truncation), pooling {args.pooling}, dropout {args.dropout}", flush=True)
    history, best, best_state, bad = [], None, None, 0
    for epoch in range(1, args.epochs + 1):
        t_ep = time.time()
        model.train()
        losses, hits = [], 0
        for idx in batches_by_length(split["train"], args.batch_pairs, rng):
            pairs = [split["train"][i] for i in idx]
            ids, mask = pad_batch([p["chosen"] for p in pairs] + [p["rejected"] for p in pairs])
            r = model(ids, mask)[:, 0]
            delta = r[: len(idx)] - r[len(idx):]
            loss = -F.logsigmoid(delta).mean()
            hits += int((delta > 0).sum())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        model.eval()
        rc, rr = pair_rewards(model, split["val"], 64)
        va = metrics(rc - rr)
        # train loss/accuracy: running, in train mode (dropout on), over the epoch's batches
        row = {"epoch": epoch, "seconds": round(time.time() - t_ep, 1), "train_loss": float(np.mean(losses)),
               "train_accuracy": hits / len(split["train"]), "val_loss": va["loss"], "val_accuracy": va["accuracy"]}
        history.append(row)
        print(f"[{args.tag}] epoch {epoch}: {row['seconds']} s, train loss {row['train_loss']:.4f} "
              f"acc {row['train_accuracy']:.3f}, val loss {va['loss']:.4f} acc {va['accuracy']:.3f}", flush=True)
        if best is None or va["loss"] < best["val_loss"]:
            best, bad = row, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= args.patience:
                print(f"[{args.tag}] early stop after epoch {epoch}; best epoch {best['epoch']}", flush=True)
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, split, history, best, n_params


# --------------------------------------------------------------------------- export

PARITY_TEXTS = [
    "",
    "\n\nHuman: hi\n\nAssistant: hello",
    "\n\nHuman: What is a good recipe for pancakes?\n\nAssistant: Mix flour, milk and eggs, then fry.",
    "\n\nHuman: Can you name three planets?\n\nAssistant: Mercury, Venus and Mars. 🌍 地球 also counts.",
    "\n\nHuman: Please count.\n\nAssistant: " + ", ".join(str(i) for i in range(1, 400)),
]


def js_tokenize(texts, max_length):
    """Synthetic parity strings through the service's TokenEncoder (needs `npm run build`)."""
    script = r"""
import fs from 'node:fs';
const [root, maxLength] = [process.argv[1], Number(process.argv[2])];
const { TokenEncoder } = await import(root + '/dist/src/tokenize/token-encoder.js');
const dir = root + '/models/default';
const enc = new TokenEncoder(JSON.parse(fs.readFileSync(dir + '/tokenizer.json', 'utf8')),
                             JSON.parse(fs.readFileSync(dir + '/tokenizer_config.json', 'utf8')), maxLength);
const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(texts.map((text) => enc.encode({ text, prefix: null }, 'auto').ids)));
"""
    res = subprocess.run(["node", "--input-type=module", "-e", script, ROOT, str(max_length)], cwd=ROOT,
                         input=json.dumps(texts).encode(), stdout=subprocess.PIPE, check=True)
    return json.loads(res.stdout)


def export(args, model, split, data, summary):
    # Parity cases: held-out (validation) texts of spread-out lengths + synthetic strings.
    val = sorted((s for p in split["val"] for s in (p["chosen"], p["rejected"])), key=len)
    held = [val[int(q * (len(val) - 1))] for q in (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)]
    cases = [{"input_ids": ids} for ids in held + js_tokenize(PARITY_TEXTS, args.max_length)]
    with torch.no_grad():
        for c in cases:
            ids, mask = pad_batch([c["input_ids"]])
            c["logits"] = model(ids, mask)[0].tolist()
        ids, mask = pad_batch([c["input_ids"] for c in cases])
        padded = model(ids, mask)
    pad_delta = max(abs(padded[i, 0].item() - c["logits"][0]) for i, c in enumerate(cases))
    if pad_delta >= 1e-5:
        sys.exit(f"train_model: FAIL: padding changes the default model's logits by {pad_delta:.3e}")

    out_path = os.path.join(DEFAULT_DIR, "model.onnx")
    names = ["input_ids", "attention_mask"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch"}
    torch.onnx.export(model, (ids, mask), out_path, input_names=names, output_names=["logits"],
                      dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, export_params=True)
    m = onnx.load(out_path)
    onnx.checker.check_model(m)
    size = os.path.getsize(out_path)
    if size > MAX_ONNX_BYTES:
        sys.exit(f"train_model: FAIL: model.onnx is {size} bytes (> 20 MiB)")
    with open(os.path.join(ROOT, "models", "build", "parity-default.json"), "w") as f:
        f.write(json.dumps({"generated_by": "models/build/train_model.py", "torch": torch.__version__,
                            "opset": OPSET, "models": {"models/default/model.onnx": {
                                "inputs": names, "per_token": False, "num_labels": 1, "cases": cases}}},
                           separators=(",", ":")) + "\n")

    config = {
        "architectures": ["RewardEncoderForSequenceClassification"],
        "model_type": "reward-encoder",
        "hidden_size": args.d_model,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "intermediate_size": args.ffn,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
        "max_position_embeddings": args.max_length,
        "pooling": args.pooling,
        "vocab_size": VOCAB_SIZE,
        "pad_token_id": PAD_ID,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "id2label": {"0": "reward"},
        "label2id": {"reward": 0},
        "num_labels": 1,
    }
    reward = {
        "name": "hh-tiny-harmless",
        "input_format": "template",
        "template": "\n\nHuman: {prompt}\n\nAssistant: {response}",
        "max_length": args.max_length,
        "reward_head": 0,
        "normalization": {"mean": round(summary["normalization"]["mean"], 6),
                          "std": round(summary["normalization"]["std"], 6)},
        "temperature": round(summary["temperature"], 6),
    }
    # the position table has max_length rows: tell tokenizer users not to go beyond it
    tc_path = os.path.join(DEFAULT_DIR, "tokenizer_config.json")
    tc = json.load(open(tc_path))
    tc["model_max_length"] = args.max_length
    with open(tc_path, "w") as f:
        f.write(json.dumps(tc, indent=2) + "\n")
    with open(os.path.join(DEFAULT_DIR, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    with open(os.path.join(DEFAULT_DIR, "reward.json"), "w") as f:
        f.write(json.dumps(reward, indent=2) + "\n")
    print(f"exported models/default/model.onnx: {size} bytes, opset {OPSET}; {len(cases)} parity cases "
          f"({len(held)} held-out validation texts), torch padding max|delta| {pad_delta:.2e}")
    return size


def main():
    args = parse_args()
    data = load_tokens(args.max_length, args.truncation)
    if args.export and args.truncation != "left":
        sys.exit("train_model: --export needs --truncation left (the service truncates on the left)")
    t_train = time.time()
    model, split, history, best, n_params = train(args, data)
    train_seconds = time.time() - t_train

    rc, rr = pair_rewards(model, split["train"], 64)
    train_rewards = np.concatenate([rc, rr])
    rc, rr = pair_rewards(model, split["val"], 64)
    temperature = fit_temperature(rc - rr)
    summary = {
        "tag": args.tag,
        "args": vars(args),
        "params": n_params,
        "train_seconds": round(train_seconds, 1),
        "best_epoch": best["epoch"],
        "history": history,
        "normalization": {"mean": float(train_rewards.mean()), "std": float(train_rewards.std())},
        "temperature": temperature,
        "val": metrics(rc - rr, temperature),
        "val_at_T1": metrics(rc - rr),
    }
    print(f"[{args.tag}] best epoch {best['epoch']}: val acc {summary['val']['accuracy']:.4f}, "
          f"T {temperature:.4f}, val ECE {summary['val']['ece']:.4f} (at T=1: {summary['val_at_T1']['ece']:.4f}); "
          f"training {train_seconds:.0f} s", flush=True)
    if args.export:
        rc, rr = pair_rewards(model, split["test"], 64)
        summary["test"] = metrics(rc - rr, temperature)
        summary["test_pairs"] = len(split["test"])
        summary["onnx_bytes"] = export(args, model, split, data, summary)
        print(f"[{args.tag}] TEST ({len(split['test'])} pairs): " + json.dumps(summary["test"]), flush=True)
    if args.export:  # the record of the committed model's run
        with open(os.path.join(ROOT, "models", "build", "train-run.json"), "w") as f:
            f.write(json.dumps(summary, indent=1) + "\n")
    os.makedirs(os.path.join(CACHE, "runs"), exist_ok=True)
    with open(os.path.join(CACHE, "runs", f"{args.tag}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"train_model: OK in {time.time() - T0:.0f} s")


if __name__ == "__main__":
    main()
