"""Graphs that continue from a cached prefix (`--prefix-graphs`): `prefix.onnx` runs a prompt once
and returns every layer's keys and values; `continue.onnx` scores continuations of it from those,
pooled at each continuation's last real token as the model's own forward pools. Weights are
stored once, in the `model.onnx_data` that model.onnx reads too.

Contract (also in reward.json `prefix_reuse` and importer/README.md):

- prefix.onnx: `input_ids` int64 [prefix_batch, past_sequence_length], every token real (no
  padding); outputs `present.{i}.key` / `present.{i}.value` [prefix_batch, kv_heads,
  past_sequence_length, head_dim] for each layer i, in the graph's dtype.
- continue.onnx: `input_ids` int64 [batch, sequence_length], right-padded with the pad id;
  `attention_mask` int64 [batch, past_sequence_length + sequence_length], 1 over the whole past and
  the real continuation tokens; `position_ids` int64 [batch, sequence_length], P, P+1, … (P the
  past length); `past_key_values.{i}.key` / `.value` [past_batch, kv_heads, past_sequence_length,
  head_dim] with past_batch 1 (broadcast to the batch inside the graph) or batch; output `logits`
  [batch, num_labels]."""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np
import onnx
import torch

from .checkpoint import Checkpoint
from .export import OPSET
from .samples import Item

PREFIX, CONTINUE = "prefix.onnx", "continue.onnx"
DATA = "model.onnx_data"
PRESENT = {"key": "present.{i}.key", "value": "present.{i}.value"}
PAST = {"key": "past_key_values.{i}.key", "value": "past_key_values.{i}.value"}
CONTINUE_INPUTS = ["input_ids", "attention_mask", "position_ids"]


def _cache():
    # A DynamicCache without the config: every layer keeps its whole past, sliding-window layers
    # included (the config's cache would keep only the window, and past shapes would differ by layer).
    from transformers import DynamicCache

    return DynamicCache()


class _Prefix(torch.nn.Module):
    """input_ids → each layer's keys and values, flattened (k0, v0, k1, v1, …)."""

    def __init__(self, model):
        super().__init__()
        self.base = getattr(model, model.base_model_prefix)

    def forward(self, input_ids):
        cache = _cache()
        self.base(input_ids=input_ids, past_key_values=cache, use_cache=True)
        return tuple(t for layer in cache.layers for t in (layer.keys, layer.values))


class _Continue(torch.nn.Module):
    """The model's own forward (its pooling) on a continuation, its past broadcast to the batch."""

    def __init__(self, model, layers: int):
        super().__init__()
        self.model = model
        self.layers = layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        batch = input_ids.shape[0]
        cache = _cache()
        for i in range(self.layers):
            # A past of batch 1 is shared by every continuation without the caller copying it.
            cache.update(past[2 * i].expand(batch, -1, -1, -1), past[2 * i + 1].expand(batch, -1, -1, -1), i)
        return self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          past_key_values=cache, use_cache=True, return_dict=True).logits


def names(layers: int, pattern: dict[str, str]) -> list[str]:
    return [pattern[kind].format(i=i) for i in range(layers) for kind in ("key", "value")]


def _example_ids(ck: Checkpoint, shape: tuple[int, int], seed: int) -> torch.Tensor:
    vocab = int(ck.tokenizer.backend_tokenizer.get_vocab_size())
    ids = torch.randint(min(100, vocab - 1), vocab, shape, generator=torch.Generator().manual_seed(seed))
    ids[ids == ck.pad_token_id] = min(100, vocab - 1)
    return ids


def _export(module, args: tuple, path: str, inputs: list[str], outputs: list[str], axes: dict) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)


def export(ck: Checkpoint, model, scratch: str) -> tuple[str, str, dict]:
    """Trace prefix.onnx and continue.onnx into scratch; return their paths and the contract for
    reward.json. The examples differ in length and batch from what the graphs will be run on, and
    no length is 1, so that no size is frozen into the trace."""
    text = model.config.get_text_config()
    layers = int(text.num_hidden_layers)
    prefix = _Prefix(model)
    ids = _example_ids(ck, (1, 7), seed=1)
    with torch.no_grad():
        present = prefix(ids)
    if len(present) != 2 * layers:
        raise ValueError(f"the cache holds {len(present) // 2} layers, the config names {layers}")
    _, kv_heads, _, head_dim = present[0].shape
    dtype = {torch.float32: "float32", torch.float16: "float16"}[present[0].dtype]
    out_names = names(layers, PRESENT)
    # A folder each: above 2 GB the exporter writes a file per tensor, named after it, beside the graph.
    prefix_path = os.path.join(tempfile.mkdtemp(dir=scratch), PREFIX)
    _export(prefix, (ids,), prefix_path, ["input_ids"], out_names,
            {"input_ids": {0: "prefix_batch", 1: "past_sequence_length"}, **{n: {0: "prefix_batch", 2: "past_sequence_length"} for n in out_names}})

    # Two continuations (the second right-padded) on a past of batch 1.
    cont = _example_ids(ck, (2, 5), seed=2)
    cont[1, 3:] = ck.pad_token_id
    mask = torch.ones(2, 7 + 5, dtype=torch.int64)
    mask[1, 7 + 3 :] = 0
    positions = torch.arange(7, 7 + 5).unsqueeze(0).expand(2, -1).contiguous()
    past_names = names(layers, PAST)
    continue_path = os.path.join(tempfile.mkdtemp(dir=scratch), CONTINUE)
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size"},
            **{n: {0: "past_batch", 2: "past_sequence_length"} for n in past_names}}
    _export(_Continue(model, layers), (cont, mask, positions, *present), continue_path, CONTINUE_INPUTS + past_names, ["logits"], axes)
    contract = {
        "layers": layers, "kv_heads": int(kv_heads), "head_dim": int(head_dim), "dtype": dtype,
        "prefix": {"file": PREFIX, "inputs": ["input_ids"], "present": dict(PRESENT)},
        "continue": {"file": CONTINUE, "inputs": list(CONTINUE_INPUTS), "past": dict(PAST), "output": "logits"},
    }
    return prefix_path, continue_path, contract


#: Tensors below this many bytes stay inside their graph (shape constants and the like).
_INLINE_BYTES = 1024


def _align(offset: int, size: int) -> int:
    step = 65536 if size >= 1 << 20 else 64  # onnx's own saver aligns large tensors for mmap
    return -(-offset // step) * step


def share_weights(graphs: dict[str, str], out_dir: str) -> dict[str, int]:
    """Write each graph (name in out_dir → traced path) with its large tensors in one
    out_dir/model.onnx_data, each distinct tensor (dtype, shape, bytes) stored once: the three
    graphs trace the same weights. Returns the bytes each graph's weights would take alone."""
    data_path = os.path.join(out_dir, DATA)
    stored: dict[tuple, tuple[int, int]] = {}
    alone: dict[str, int] = {}
    with open(data_path, "wb") as data:
        for name, src in graphs.items():
            graph = onnx.load(src)
            alone[name] = 0
            for t in graph.graph.initializer:
                raw = t.raw_data
                if len(raw) < _INLINE_BYTES:
                    continue
                alone[name] += len(raw)
                key = (t.data_type, tuple(t.dims), hashlib.sha256(raw).digest())
                if key not in stored:
                    offset = _align(data.tell(), len(raw))
                    data.write(b"\0" * (offset - data.tell()))
                    data.write(raw)
                    stored[key] = (offset, len(raw))
                offset, length = stored[key]
                t.ClearField("raw_data")
                _set_external(t, offset, length)
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(graph.SerializeToString())
    return alone


def _set_external(t: onnx.TensorProto, offset: int, length: int) -> None:
    del t.external_data[:]
    t.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", DATA), ("offset", str(offset)), ("length", str(length))):
        entry = t.external_data.add()
        entry.key, entry.value = k, v


# ---- verification against transformers -------------------------------------------------------


@dataclass
class Run:
    """One prefix.onnx + continue.onnx run: the past rows (one, shared by every continuation, or
    one per continuation; all of one length), the continuations, and transformers' logits of each
    whole item (past + continuation) scored alone."""

    past: list[list[int]]
    continuations: list[list[int]]
    ref: list[np.ndarray]


@dataclass
class Case:
    case: str
    what: str
    runs: list[Run]


def _last_real(ids: list[int], pad: int) -> int:
    """Where the model pools: its last token that is not the pad id (-1 if none)."""
    return max((k for k, t in enumerate(ids) if t != pad), default=-1)


def _every_position(model, ids: list[int]) -> np.ndarray:
    """transformers' reward head at every position of one item [len, labels]. Causal attention:
    position t is what the forward of the item cut after token t pools, so one forward gives the
    reference of every cut."""
    seen = []
    hook = model.score.register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        with torch.no_grad():
            model(input_ids=torch.tensor([ids]))
    finally:
        hook.remove()
    return seen[0][0].float().numpy()


def cases(ck: Checkpoint, model, items: list[Item], ref: list[np.ndarray]) -> list[Case]:
    """The verification cases, with transformers' references. `ref`: each whole item's pooled
    logits (verify.reference). Splits leave each continuation a token other than the pad id, where
    its reward is read."""
    pad = ck.pad_token_id
    real = [(it, r, _last_real(it.ids, pad)) for it, r in zip(items, ref)]
    real = [(it, r, last) for it, r, last in real if last >= 1]
    half = Case("split-half", "each item alone, its first half as the prefix", [
        Run([it.ids[: last // 2 + 1]], [it.ids[last // 2 + 1 :]], [r]) for it, r, last in real])
    one = Case("continuation-1", "each item alone, its last real token as the continuation", [
        Run([it.ids[:last]], [it.ids[last:]], [r]) for it, r, last in real])
    common = min(last for _, _, last in real)
    rows = Case("prefix-batch", f"all items in one batch, each on its own prefix of {common} tokens (past batch = batch)", [
        Run([it.ids[:common] for it, _, _ in real], [it.ids[common:] for it, _, _ in real], [r for _, r, _ in real])])

    base = max(items, key=lambda it: len(it.ids)).ids
    at = _every_position(model, base)

    def shared(p: int, lengths: list[int]) -> Run:
        conts, refs = [], []
        for c in dict.fromkeys(lengths):
            whole = base[: p + c]
            last = _last_real(whole, pad)
            if c >= 1 and p + c <= len(base) and last >= p:
                conts.append(base[p : p + c])
                refs.append(at[last])
        return Run([base[:p]], conts, refs)

    rest = len(base) // 3 * 2
    p = len(base) - rest
    shared_cases = [
        Case("one-prefix", f"continuations of {len(base) - p}, 1, 2 and {rest // 2} tokens of one {p}-token prefix, right-padded in one batch (past batch 1)",
             [shared(p, [len(base) - p, 1, 2, rest // 2])]),
        Case("prefix-1", f"a 1-token prefix and continuations of {len(base) - 1}, 1 and {(len(base) - 1) // 3} tokens in one batch (past batch 1)",
             [shared(1, [len(base) - 1, 1, (len(base) - 1) // 3])]),
    ]
    return [c for c in [half, one, rows, *shared_cases] if all(run.continuations for run in c.runs)]


def _run(psess, csess, pad: int, layers: int, run: Run) -> list[np.ndarray]:
    past = np.array(run.past, dtype=np.int64)
    present = dict(zip([o.name for o in psess.get_outputs()], psess.run(None, {"input_ids": past})))
    p, batch, width = past.shape[1], len(run.continuations), max(len(c) for c in run.continuations)
    ids = np.full((batch, width), pad, dtype=np.int64)
    mask = np.zeros((batch, p + width), dtype=np.int64)
    mask[:, :p] = 1
    for r, c in enumerate(run.continuations):
        ids[r, : len(c)] = c
        mask[r, p : p + len(c)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "position_ids": np.tile(np.arange(p, p + width, dtype=np.int64), (batch, 1))}
    for i in range(layers):
        for kind in ("key", "value"):
            feeds[PAST[kind].format(i=i)] = present[PRESENT[kind].format(i=i)]
    (logits,) = csess.run(["logits"], feeds)
    return list(logits.astype(np.float32))


def check(ck: Checkpoint, out_dir: str, contract: dict, checks: list[Case], tolerance: float, same_as_model: float | None = None) -> list[dict]:
    """Each case's max |Δ| between prefix.onnx + continue.onnx in ONNX Runtime and transformers.
    With `same_as_model` (fp16), also against model.onnx on the same whole items (each alone), and
    an item beyond `tolerance` still passes when it is within `same_as_model` of model.onnx: the
    excess is then float16's own rounding, which model.onnx shows on that item too."""
    from .verify import run as run_model
    from .verify import session

    threads = os.cpu_count()
    psess, csess = session(os.path.join(out_dir, PREFIX), threads), session(os.path.join(out_dir, CONTINUE), threads)
    msess = session(os.path.join(out_dir, "model.onnx"), threads) if same_as_model is not None else None
    scored: dict[tuple, np.ndarray] = {}  # several cases cut the same whole items

    def model_onnx(ids: list[int]) -> np.ndarray:
        if tuple(ids) not in scored:
            scored[tuple(ids)] = run_model(msess, ck, [Item("whole", ids)])[0]
        return scored[tuple(ids)]

    results = []
    for c in checks:
        vs_ref, vs_model = [], []
        for run in c.runs:
            got = _run(psess, csess, ck.pad_token_id, contract["layers"], run)
            vs_ref += [float(np.abs(g - r).max()) for g, r in zip(got, run.ref)]
            if msess is not None:
                pasts = run.past * len(run.continuations) if len(run.past) == 1 else run.past
                vs_model += [float(np.abs(g - model_onnx(p + cont)).max()) for g, p, cont in zip(got, pasts, run.continuations)]
        result = {"case": c.case, "what": c.what, "items": len(vs_ref), "max_abs_diff": max(vs_ref), "tolerance": tolerance,
                  "passed": all(d <= tolerance for d in vs_ref)}
        if msess is not None:
            result.update(max_abs_diff_vs_model_onnx=max(vs_model), tolerance_vs_model_onnx=same_as_model,
                          passed=all(d <= tolerance or m <= same_as_model for d, m in zip(vs_ref, vs_model)))
        results.append(result)
    return results
