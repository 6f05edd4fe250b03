"""A BERT-base-size reward model with seeded random weights, for GPU throughput checks.

12 layers, hidden 768, 12 heads, FFN 3072, 512 positions (BERT-base's shape), reading the
default model's 4096-token vocabulary; pooled at <s> (position 0, right padding), a linear head,
logits [batch, 1]. The weights mean nothing: this measures speed, not quality. Written to be run
on the device machine with its own PyTorch (2.x) and also here (Debian torch 1.13).

  python3 bench/gpu/make_bert_base.py OUT_DIR [--layers 12 --hidden 768 --heads 12 --ffn 3072] [--fp16]
"""
import argparse
import inspect
import json
import os
import shutil

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "models", "default")


class Layer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Linear(ffn, d))

    def forward(self, x, bias):
        b, t, d = x.shape
        h = self.ln1(x)
        q, k, v = self.qkv(h).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        att = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5 + bias, dim=-1)
        x = x + self.out((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.ff(self.ln2(x))


class Encoder(nn.Module):
    def __init__(self, vocab, d, layers, heads, ffn, positions):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(positions, d)
        self.layers = nn.ModuleList([Layer(d, heads, ffn) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, 1)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos(torch.arange(t, device=input_ids.device)).unsqueeze(0)
        # -1e4, not -1e9: the same graph must not overflow in fp16.
        bias = ((1.0 - attention_mask.to(x.dtype)) * -1e4)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return self.head(self.ln(x)[:, 0]).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--positions", type=int, default=512)
    ap.add_argument("--fp16", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = Encoder(4096, args.hidden, args.layers, args.heads, args.ffn, args.positions).eval()
    for name, p in model.named_parameters():
        if p.dim() > 1:
            nn.init.normal_(p, 0.0, 0.02)
        elif ".ln" in name or name.startswith("ln"):
            nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
        else:
            nn.init.normal_(p, 0.0, 0.02)  # biases too, so rewards differ between texts
    if args.fp16:
        model = model.half()
    params = sum(p.numel() for p in model.parameters())
    os.makedirs(args.out, exist_ok=True)
    ids = torch.randint(4, 4096, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.long)
    kwargs = dict(
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
        opset_version=17,
    )
    # torch >= 2.9 defaults to the dynamo exporter; the TorchScript one handles dynamic_axes as-is.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), os.path.join(args.out, "model.onnx"), **kwargs)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(os.path.join(DEFAULT, f), os.path.join(args.out, f))
    name = f"bert-base-random{'-fp16' if args.fp16 else ''}" if args.layers == 12 else f"encoder-{args.layers}x{args.hidden}"
    with open(os.path.join(args.out, "config.json"), "w") as fh:
        json.dump({"architectures": ["RandomRewardEncoder"], "num_labels": 1, "hidden_size": args.hidden, "num_hidden_layers": args.layers,
                   "num_attention_heads": args.heads, "intermediate_size": args.ffn, "max_position_embeddings": args.positions,
                   "torch_dtype": "float16" if args.fp16 else "float32"}, fh, indent=2)
    with open(os.path.join(args.out, "reward.json"), "w") as fh:
        json.dump({"name": name, "max_length": args.positions}, fh, indent=2)
    print(json.dumps({"kind": "export", "name": name, "params": params, "torch": torch.__version__,
                      "onnx_bytes": os.path.getsize(os.path.join(args.out, "model.onnx"))}))


if __name__ == "__main__":
    main()
