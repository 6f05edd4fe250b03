"""Verification against transformers itself: each item scored alone by the transformers model,
then by ONNX Runtime alone and in one right-padded batch with the pad id the service will use."""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import torch

from .checkpoint import TOKEN, Checkpoint
from .samples import Item


def session(path: str, threads: int | None = None) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def reference(ck: Checkpoint, model, items: list[Item], names: list[str]) -> list[np.ndarray]:
    """transformers' logits of each item alone (batch 1, no padding): [labels] or [seq, labels].
    `names`: the graph's inputs; token type ids are given to transformers when the graph takes them."""
    out = []
    takes_types = "token_type_ids" in names
    with torch.no_grad():
        for it in items:
            kwargs = {"input_ids": torch.tensor([it.ids])}
            if it.type_ids is not None and takes_types:
                kwargs["token_type_ids"] = torch.tensor([it.type_ids])
            logits = model(**kwargs).logits[0]
            out.append(logits.float().numpy())
    return out


def _feeds(ck: Checkpoint, names: list[str], items: list[Item]) -> dict[str, np.ndarray]:
    width = max(len(it.ids) for it in items)
    ids = np.full((len(items), width), ck.pad_token_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for r, it in enumerate(items):
        ids[r, : len(it.ids)] = it.ids
        mask[r, : len(it.ids)] = 1
        if it.type_ids is not None:
            types[r, : len(it.ids)] = it.type_ids
    all_feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: all_feeds[n] for n in names}


def run(sess: ort.InferenceSession, ck: Checkpoint, items: list[Item]) -> list[np.ndarray]:
    """ONNX Runtime's logits for items in one right-padded batch, each cut to its own length."""
    names = [i.name for i in sess.get_inputs()]
    (logits,) = sess.run(["logits"], _feeds(ck, names, items))
    logits = logits.astype(np.float32)
    if ck.head == TOKEN:
        return [logits[r, : len(it.ids)] for r, it in enumerate(items)]
    return [logits[r] for r in range(len(items))]


def max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def outputs(ck: Checkpoint, model_path: str, items: list[Item]) -> dict[str, tuple[str, list[np.ndarray]]]:
    """ONNX Runtime's logits per case: each item alone, all in one right-padded batch, and reversed."""
    sess = session(model_path, threads=os.cpu_count())
    return {
        "alone": ("each item alone (batch 1)", [run(sess, ck, [it])[0] for it in items]),
        "batch": (f"all {len(items)} items in one batch, right-padded with pad id {ck.pad_token_id}", run(sess, ck, items)),
        "batch-reversed": ("the same batch in reverse order", run(sess, ck, items[::-1])[::-1]),
    }


def check(ck: Checkpoint, model_path: str, items: list[Item], ref: list[np.ndarray], tolerance: float) -> list[dict]:
    """The cases of an import's verification, each with its max |Δ| against transformers."""
    return [
        {"case": case, "what": what, "items": len(items), "max_abs_diff": max_diff(got, ref), "tolerance": tolerance,
         "passed": bool(max_diff(got, ref) <= tolerance)}
        for case, (what, got) in outputs(ck, model_path, items).items()
    ]
