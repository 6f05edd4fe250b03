"""The graph that continues from a cached prefix (`--prefix-graphs`): `continue.onnx` runs token ids
from a past of every layer's keys and values, returns the model's own pooled logits (at each row's
last real token) and the keys and values of past + ids. One graph serves all three uses, so a
worker holds one copy of the weights: with an empty past (length 0) it scores whole rows and
computes a prompt's keys and values; with a held past it scores continuations of it. Its weights
are stored once, in the `model.onnx_data` that model.onnx reads too.

Contract (also in reward.json `prefix_reuse` and importer/README.md):

- inputs: `input_ids` int64 [batch, sequence_length], right-padded with the pad id;
  `attention_mask` int64 [batch, past_sequence_length + sequence_length], 1 over the whole past and
  the real tokens; `position_ids` int64 [batch, sequence_length], P, P+1, … (P the past length);
  `past_key_values.{i}.key` / `.value` [past_batch, kv_heads, past_sequence_length, head_dim] in
  the graph's dtype, with past_batch 1 (broadcast to the batch inside the graph) or batch, and
  past_sequence_length 0 for no past.
- outputs: `logits` [batch, num_labels]; `present.{i}.key` / `.value` [batch, kv_heads,
  past_sequence_length + sequence_length, head_dim] (read for a prefix: every token of it real)."""

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

CONTINUE = "continue.onnx"
DATA = "model.onnx_data"
PRESENT = {"key": "present.{i}.key", "value": "present.{i}.value"}
PAST = {"key": "past_key_values.{i}.key", "value": "past_key_values.{i}.value"}
CONTINUE_INPUTS = ["input_ids", "attention_mask", "position_ids"]


def _cache():
    # A DynamicCache without the config: every layer keeps its whole past, sliding-window layers
    # included (the config's cache would keep only the window, and past shapes would differ by layer).
    from transformers import DynamicCache

    return DynamicCache()


def _present(model, input_ids) -> tuple:
    """Each layer's keys and values of input_ids, flattened (k0, v0, k1, v1, …): an example past."""
    cache = _cache()
    with torch.no_grad():
        getattr(model, model.base_model_prefix)(input_ids=input_ids, past_key_values=cache, use_cache=True)
    return tuple(t for layer in cache.layers for t in (layer.keys, layer.values))


class _Continue(torch.nn.Module):
    """The model's own forward (its pooling) on a continuation, its past broadcast to the batch;
    returns the logits, then each layer's keys and values of past + continuation (k0, v0, …)."""

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
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            past_key_values=cache, use_cache=True, return_dict=True).logits
        return (logits, *(t for layer in cache.layers for t in (layer.keys, layer.values)))


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


def export(ck: Checkpoint, model, scratch: str) -> tuple[str, dict]:
    """Trace continue.onnx into scratch; return its path and the contract for reward.json. The
    example differs in past length and batch from what the graph will be run on, and no length is
    0 or 1, so that no size is frozen into the trace."""
    text = model.config.get_text_config()
    layers = int(text.num_hidden_layers)
    past = _present(model, _example_ids(ck, (1, 7), seed=1))
    if len(past) != 2 * layers:
        raise ValueError(f"the cache holds {len(past) // 2} layers, the config names {layers}")
    _, kv_heads, _, head_dim = past[0].shape
    dtype = {torch.float32: "float32", torch.float16: "float16"}[past[0].dtype]

    # Two continuations (the second right-padded) on a past of batch 1.
    cont = _example_ids(ck, (2, 5), seed=2)
    cont[1, 3:] = ck.pad_token_id
    mask = torch.ones(2, 7 + 5, dtype=torch.int64)
    mask[1, 7 + 3 :] = 0
    positions = torch.arange(7, 7 + 5).unsqueeze(0).expand(2, -1).contiguous()
    past_names, present_names = names(layers, PAST), names(layers, PRESENT)
    # Its own folder: above 2 GB the exporter writes a file per tensor, named after it, beside the graph.
    continue_path = os.path.join(tempfile.mkdtemp(dir=scratch), CONTINUE)
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size"},
            **{n: {0: "past_batch", 2: "past_sequence_length"} for n in past_names},
            **{n: {0: "batch_size", 2: "total_sequence_length"} for n in present_names}}
    _export(_Continue(model, layers), (cont, mask, positions, *past), continue_path, CONTINUE_INPUTS + past_names, ["logits", *present_names], axes)
    contract = {
        "layers": layers, "kv_heads": int(kv_heads), "head_dim": int(head_dim), "dtype": dtype,
        "continue": {"file": CONTINUE, "inputs": list(CONTINUE_INPUTS), "past": dict(PAST), "present": dict(PRESENT), "output": "logits"},
    }
    return continue_path, contract


#: Tensors below this many bytes stay inside their graph (shape constants and the like).
_INLINE_BYTES = 1024


def _align(offset: int, size: int) -> int:
    step = 65536 if size >= 1 << 20 else 64  # onnx's own saver aligns large tensors for mmap
    return -(-offset // step) * step


def share_weights(graphs: dict[str, str], out_dir: str) -> dict[str, int]:
    """Write each graph (name in out_dir → traced path) with its large tensors in one
    out_dir/model.onnx_data, each distinct tensor (dtype, shape, bytes) stored once: the
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
    """One prefix run and its continuations through continue.onnx: the past rows (one, shared by
    every continuation, or one per continuation; all of one length, 0 for none), the continuations,
    and transformers' logits of each whole item (past + continuation) scored alone."""

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
    whole = Case("no-past", "all items whole in one right-padded batch from an empty past, as rows without a shared prefix are served", [
        Run([[]], [it.ids for it, _, _ in real], [r for _, r, _ in real])])
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
    return [c for c in [whole, half, one, rows, *shared_cases] if all(run.continuations for run in c.runs)]


def _feeds(contract: dict, pad: int, past: list[np.ndarray], past_len: int, rows: list[list[int]]) -> dict:
    """continue.onnx's inputs: `rows` right-padded, continued from `past` (flattened k0, v0, …)."""
    batch, width = len(rows), max(len(r) for r in rows)
    ids = np.full((batch, width), pad, dtype=np.int64)
    mask = np.zeros((batch, past_len + width), dtype=np.int64)
    mask[:, :past_len] = 1
    for r, c in enumerate(rows):
        ids[r, : len(c)] = c
        mask[r, past_len : past_len + len(c)] = 1
    g = contract["continue"]
    feeds = dict(zip(g["inputs"], (ids, mask, np.tile(np.arange(past_len, past_len + width, dtype=np.int64), (batch, 1)))))
    feeds.update(zip(names(contract["layers"], g["past"]), past))
    return feeds


def _empty_past(contract: dict) -> list[np.ndarray]:
    """A past of length 0 (batch 1): how whole rows and prefixes are run."""
    shape = (1, contract["kv_heads"], 0, contract["head_dim"])
    return [np.zeros(shape, dtype=contract["dtype"]) for _ in range(2 * contract["layers"])]


def _run(sess, pad: int, contract: dict, run: Run) -> list[np.ndarray]:
    g = contract["continue"]
    p = len(run.past[0])
    past = _empty_past(contract)
    if p > 0:
        # The prompt through the same graph from an empty past: its keys and values.
        past = sess.run(names(contract["layers"], g["present"]), _feeds(contract, pad, past, 0, run.past))
    (logits,) = sess.run([g["output"]], _feeds(contract, pad, past, p, run.continuations))
    return list(logits.astype(np.float32))


def check(ck: Checkpoint, out_dir: str, contract: dict, checks: list[Case], tolerance: float, same_as_model: float | None = None) -> list[dict]:
    """Each case's max |Δ| between continue.onnx in ONNX Runtime and transformers.
    With `same_as_model` (fp16), also against model.onnx on the same whole items (each alone), and
    an item beyond `tolerance` still passes when it is within `same_as_model` of model.onnx: the
    excess is then float16's own rounding, which model.onnx shows on that item too."""
    from .verify import run as run_model
    from .verify import session

    threads = os.cpu_count()
    csess = session(os.path.join(out_dir, CONTINUE), threads)
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
            got = _run(csess, ck.pad_token_id, contract, run)
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
