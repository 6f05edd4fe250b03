"""The transformers model to ONNX: the model's own forward (its own pooling at the last non-pad
token, its own position ids), traced with `torch.onnx.export(dynamo=False)`, weights kept in one
`model.onnx_data` file when the graph would pass protobuf's 2 GB limit."""

from __future__ import annotations

import inspect
import os
import tempfile
import warnings

import onnx
import torch

from .checkpoint import DECODER, TOKEN, Checkpoint

OPSET = 17
#: Above this many bytes of weights the graph keeps them in model.onnx_data (protobuf's limit is 2 GiB).
EXTERNAL_DATA_BYTES = 1_800_000_000


class _Logits(torch.nn.Module):
    """Positional inputs in the service's names, one output: the model's logits."""

    def __init__(self, model, names: list[str]):
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *args):
        kwargs = dict(zip(self.names, args))
        if "use_cache" in inspect.signature(self.model.forward).parameters:
            kwargs["use_cache"] = False
        return self.model(**kwargs, return_dict=True).logits


def input_names(ck: Checkpoint, model) -> list[str]:
    """input_ids and attention_mask, and token_type_ids where the model has more than one type."""
    names = ["input_ids", "attention_mask"]
    params = inspect.signature(model.forward).parameters
    if ck.kind != DECODER and "token_type_ids" in params and (getattr(model.config, "type_vocab_size", 0) or 0) > 1:
        names.append("token_type_ids")
    return names


def _dummy(ck: Checkpoint, names: list[str]) -> tuple[torch.Tensor, ...]:
    """Two rows, the second right-padded, so the trace sees padding as the service sends it."""
    vocab = int(ck.tokenizer.backend_tokenizer.get_vocab_size())
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(min(100, vocab - 1), vocab, (2, 12), generator=g)
    ids[ids == ck.pad_token_id] = min(100, vocab - 1)
    mask = torch.ones_like(ids)
    ids[1, 8:] = ck.pad_token_id
    mask[1, 8:] = 0
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    return tuple(out[n] for n in names)


def export(ck: Checkpoint, model, out_dir: str, scratch: str, external_data: bool = False) -> dict:
    """Write out_dir/model.onnx (+ model.onnx_data); return what was written."""
    names = input_names(ck, model)
    axes = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
    axes["logits"] = {0: "batch_size", 1: "sequence_length"} if ck.head == TOKEN else {0: "batch_size"}
    traced = os.path.join(tempfile.mkdtemp(dir=scratch), "model.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model, names), _dummy(ck, names), traced, input_names=names, output_names=["logits"],
            dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    graph = onnx.load(traced)  # with its external data, wherever the exporter put it
    weight_bytes = sum(len(t.raw_data) or 0 for t in graph.graph.initializer)
    path = os.path.join(out_dir, "model.onnx")
    external = external_data or weight_bytes > EXTERNAL_DATA_BYTES
    if external:
        onnx.save_model(graph, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=1024)
    else:
        onnx.save_model(graph, path)
    files = ["model.onnx"] + (["model.onnx_data"] if external else [])
    return {"inputs": names, "external_data": external, "files": files, "weight_bytes": weight_bytes}
