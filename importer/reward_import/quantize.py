"""int8 for CPU, judged by what a reward model is for: does it order pairs as the fp32
graph does? Spearman's ρ of rewards and the share of HH pairs ordered alike, and the speedup on
this CPU, both graphs timed on the same batches."""

from __future__ import annotations

import os
import time

import logging

import numpy as np
import onnx
from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

from .checkpoint import Checkpoint
from .samples import Item, read_hh_pairs, render
from .verify import run, session

#: Below this share of pairs ordered as fp32 orders them, an int8 import is refused.
MIN_AGREEMENT = 0.98


def quantize(fp32_path: str, out_path: str, external: bool) -> None:
    """int8 weights per block of 32 (symmetric) in MatMulNBits nodes, int8 activations quantized per
    row and block (accuracy level 4). Unlike QDQ dynamic quantization, whose activation scale spans
    the whole batch tensor, no row's reward then depends on its batch mates or on padding, so the
    service's padding self-check and batch invariance hold."""
    config = DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, bits=8, accuracy_level=4)
    quantizer = MatMulNBitsQuantizer(onnx.load(fp32_path), algo_config=config)
    level = logging.getLogger().level
    logging.disable(logging.INFO)  # the quantizer logs a line per node
    try:
        quantizer.process()
    finally:
        logging.disable(logging.NOTSET)
        logging.getLogger().setLevel(level)
    quantizer.model.save_model_to_file(out_path, external)


def _rank(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(len(x), dtype=np.float64)
    for v in np.unique(x):  # average ranks of ties
        tied = x == v
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _rank(a), _rank(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _score(sess, ck: Checkpoint, items: list[Item], batch: int) -> tuple[np.ndarray, float]:
    """Rewards (logit 0) of items in length-sorted batches, and the seconds it took."""
    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    rewards = np.zeros(len(items), dtype=np.float64)
    start = time.perf_counter()
    for k in range(0, len(order), batch):
        chunk = order[k : k + batch]
        for i, logits in zip(chunk, run(sess, ck, [items[i] for i in chunk])):
            rewards[i] = float(logits[0])
    return rewards, time.perf_counter() - start


def judge(ck: Checkpoint, fp32_path: str, int8_path: str, pairs_path: str, limit: int, max_length: int, batch: int = 8) -> dict:
    """Agreement of the int8 graph with the fp32 one on HH pairs, and the speedup."""
    pairs = read_hh_pairs(pairs_path, limit)
    items: list[Item] = []
    for k, (chosen, rejected) in enumerate(pairs):
        rendered = [render(ck, chosen), render(ck, rejected)]
        if any(len(ids) > max_length for ids, _ in rendered):
            continue
        items += [Item(f"pair-{k}-{side}", ids, types) for side, (ids, types) in zip(("chosen", "rejected"), rendered)]
    if len(items) < 20:
        raise ValueError(f"only {len(items) // 2} HH pairs fit max_length {max_length}")
    threads = os.cpu_count()
    fp32, int8 = session(fp32_path, threads), session(int8_path, threads)
    _score(int8, ck, items[:batch], batch)  # warm both sessions before timing
    _score(fp32, ck, items[:batch], batch)
    r32, t32 = _score(fp32, ck, items, batch)
    r8, t8 = _score(int8, ck, items, batch)
    m32, m8 = r32[0::2] - r32[1::2], r8[0::2] - r8[1::2]
    agree = float(np.mean(np.sign(m32) == np.sign(m8)))
    return {
        "pairs": len(items) // 2,
        "pairs_file": pairs_path,
        "spearman": spearman(r32, r8),
        "pairwise_agreement": agree,
        "min_pairwise_agreement": MIN_AGREEMENT,
        "max_abs_diff_vs_fp32": float(np.abs(r32 - r8).max()),
        "fp32_items_per_s": len(items) / t32,
        "int8_items_per_s": len(items) / t8,
        "speedup": t32 / t8,
        "passed": agree >= MIN_AGREEMENT,
    }
