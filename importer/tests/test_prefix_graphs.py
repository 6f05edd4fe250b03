"""`--prefix-graphs`: continue.onnx run here with ONNX Runtime from the names reward.json gives, a
prompt from an empty past, then replies from its keys and values, against transformers' forward of
each whole item alone."""

from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime as ort
import pytest
import torch
import transformers

from conftest import CASES

#: The cases imported with --prefix-graphs (conftest.CASES): Qwen3 (q/k norms), Llama (llama3 rope
#: scaling), Gemma 3 text (a sliding window of 32 tokens every other layer, which the continuations
#: here reach past).
FLAGGED = [n for n, (_, _, args) in CASES.items() if "--prefix-graphs" in args]

PROMPT = [{"role": "user", "content": "Give me one tip for writing clear code, then show it."}]
RESPONSES = [
    "Names.",
    "Use names that say what a value means, not how it is stored. 🙂",
    "Keep functions short:\n```python\ndef area(w, h):\n    return w * h\n```\n" * 6,
    "Écris des tests d'abord ; ça clarifie l'interface.",
]


def test_the_flag_is_on_three_decoder_families():
    assert sorted(CASES[n][0] for n in FLAGGED) == ["gemma3_text", "llama", "qwen3"]


def _session(path: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


class Graph:
    """The folder's continue.onnx, fed by the names its reward.json records."""

    def __init__(self, out: str, contract: dict, pad: int):
        self.contract, self.pad = contract, pad
        self.g = contract["continue"]
        self.sess = _session(os.path.join(out, self.g["file"]))

    def _names(self, pattern: dict) -> list[str]:
        return [pattern[kind].format(i=i) for i in range(self.contract["layers"]) for kind in ("key", "value")]

    def run(self, past: list[np.ndarray], rows: list[list[int]], outputs: list[str]) -> list[np.ndarray]:
        p, batch, width = past[0].shape[2], len(rows), max(len(r) for r in rows)
        ids = np.full((batch, width), self.pad, dtype=np.int64)
        mask = np.zeros((batch, p + width), dtype=np.int64)
        mask[:, :p] = 1
        for r, c in enumerate(rows):
            ids[r, : len(c)] = c
            mask[r, p : p + len(c)] = 1
        positions = np.tile(np.arange(p, p + width, dtype=np.int64), (batch, 1))
        feeds = dict(zip(self.g["inputs"], (ids, mask, positions)))
        feeds.update(zip(self._names(self.g["past"]), past))
        return self.sess.run(outputs, feeds)

    def empty(self) -> list[np.ndarray]:
        return [np.zeros((1, self.contract["kv_heads"], 0, self.contract["head_dim"]), np.float32) for _ in range(2 * self.contract["layers"])]

    def score(self, past: list[list[int]], continuations: list[list[int]]) -> np.ndarray:
        """Logits [len(continuations), labels]: past rows of one length (one row shared by all),
        run first from an empty past for their keys and values."""
        present = self.run(self.empty(), past, self._names(self.g["present"]))
        (logits,) = self.run(present, continuations, [self.g["output"]])
        return logits

    def whole(self, rows: list[list[int]]) -> np.ndarray:
        (logits,) = self.run(self.empty(), rows, [self.g["output"]])
        return logits


def _items(hf: str):
    """The model, the prompt's ids and each whole conversation's ids, rendered by transformers."""
    model = transformers.AutoModelForSequenceClassification.from_pretrained(hf, dtype=torch.float32, attn_implementation="eager").eval()
    tok = transformers.AutoTokenizer.from_pretrained(hf)
    prompt = tok.apply_chat_template(PROMPT, tokenize=True, add_generation_prompt=True, return_dict=True)["input_ids"]
    whole = [tok.apply_chat_template(PROMPT + [{"role": "assistant", "content": r}], tokenize=True, return_dict=True)["input_ids"] for r in RESPONSES]
    # The prompt as the template renders it before a reply, cut to what every item shares.
    p = len(prompt)
    while any(w[:p] != prompt[:p] for w in whole):
        p -= 1
    return model, prompt[:p], whole


def _reference(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].numpy()


def _reward_json(out: str) -> dict:
    with open(os.path.join(out, "reward.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", FLAGGED)
def test_continuations_of_one_prompt_score_as_transformers_scores_each_whole_item(name, imported):
    case = imported[name]
    contract = _reward_json(case["out"])["prefix_reuse"]
    config = transformers.AutoConfig.from_pretrained(case["hf"])
    assert (contract["layers"], contract["kv_heads"], contract["dtype"]) == (config.num_hidden_layers, config.num_key_value_heads, "float32")
    model, prompt, whole = _items(case["hf"])
    graphs = Graph(case["out"], contract, config.pad_token_id)
    ref = np.stack([_reference(model, w) for w in whole])
    assert min(len(w) for w in whole) > len(prompt) >= 8 and max(len(w) for w in whole) - len(prompt) > 64

    # Whole items from an empty past, right-padded in one batch: how rows without a shared prefix are served.
    np.testing.assert_allclose(graphs.whole(whole), ref, atol=1e-4, rtol=0)
    # One prompt run once (past batch 1), four replies of different lengths right-padded in one batch.
    got = graphs.score([prompt], [w[len(prompt) :] for w in whole])
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
    # A prefix of one token, and continuations of one token.
    np.testing.assert_allclose(graphs.score([whole[2][:1]], [whole[2][1:], whole[2][1:2]]), np.stack([ref[2], _reference(model, whole[2][:2])]), atol=1e-4, rtol=0)
    for w, r in zip(whole, ref):
        np.testing.assert_allclose(graphs.score([w[:-1]], [w[-1:]])[0], r, atol=1e-4, rtol=0)
    # Several prefixes of one length, one per row (past batch = batch).
    cut = len(prompt) + 2
    np.testing.assert_allclose(graphs.score([w[:cut] for w in whole], [w[cut:] for w in whole]), ref, atol=1e-4, rtol=0)


def test_the_graphs_share_one_copy_of_the_weights_and_the_import_verified_them(imported):
    for name in FLAGGED:
        case = imported[name]
        out = case["out"]
        weights = sum(p.numel() * 4 for p in transformers.AutoModelForSequenceClassification.from_pretrained(case["hf"]).parameters())
        assert not os.path.exists(os.path.join(out, "prefix.onnx"))
        sizes = {f: os.path.getsize(os.path.join(out, f)) for f in ("model.onnx", "model.onnx_data", "continue.onnx")}
        assert 0.99 * weights < sizes["model.onnx_data"] < 1.01 * weights, (name, sizes, weights)
        assert max(sizes["model.onnx"], sizes["continue.onnx"]) < 500_000, sizes
        prefix = case["report"]["prefix_reuse"]
        assert [c["case"] for c in prefix["cases"]] == ["no-past", "split-half", "continuation-1", "prefix-batch", "one-prefix", "prefix-1"]
        assert all(c["passed"] and c["max_abs_diff"] <= 1e-4 for c in prefix["cases"]), prefix["cases"]
        assert prefix["contract"] == _reward_json(out)["prefix_reuse"]
        # model.onnx itself is verified and checked as without the flag.
        assert all(c["passed"] for c in case["report"]["verification"]["cases"])
        assert case["report"]["model_check"][-1] == "ok: no problem found"
