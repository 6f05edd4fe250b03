"""Each family imported, served over HTTP by the real server, and compared with transformers' own
forward on transformers' own rendering (`apply_chat_template`, or the tokenizer on a text pair)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import transformers

from conftest import CASES, STEP_TAG

FP32 = [n for n, (_, _, args) in CASES.items() if "--dtype" not in args and "--step-tag" not in args]
EXTERNAL = "llama-3-heads"

#: Conversations of these tests (not the importer's own samples).
CONVERSATIONS = [
    [{"role": "user", "content": "What's the capital of France?"}, {"role": "assistant", "content": "Paris."}],
    [{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": "Why is the sky blue?"},
     {"role": "assistant", "content": "Air scatters short blue wavelengths of sunlight more than red ones."}],
    [{"role": "user", "content": "Count to three."}, {"role": "assistant", "content": "One, two, three."},
     {"role": "user", "content": "Now backwards, with émojis 🚀"}, {"role": "assistant", "content": "Three, two, one… 🚀"}],
    [{"role": "user", "content": "Sort [3, 1, 2] in Python."}, {"role": "assistant", "content": "\n```python\nsorted([3, 1, 2])\n```\n" * 20}],
]


def _reference_model(hf: str, token: bool = False):
    """transformers' model with eager attention, the models' full definition: transformers' SDPA
    path drops Gemma 2's attention-logit softcapping (rewards 0.02–0.2 off here)."""
    cls = transformers.AutoModelForTokenClassification if token else transformers.AutoModelForSequenceClassification
    model = cls.from_pretrained(hf, dtype=torch.float32, attn_implementation="eager").eval()
    return model, transformers.AutoTokenizer.from_pretrained(hf)


def _chat_ok(tok, conv) -> bool:
    try:
        tok.apply_chat_template(conv, tokenize=False)
        return True
    except Exception:  # Gemma's templates refuse a system turn
        return False


def _reference(hf: str, convs: list) -> tuple[list[dict], np.ndarray]:
    """The request items and transformers' logits [items, labels], each item alone."""
    model, tok = _reference_model(hf)
    items, logits = [], []
    with torch.no_grad():
        for conv in convs:
            if tok.chat_template is not None:
                if not _chat_ok(tok, conv):
                    continue
                ids = tok.apply_chat_template(conv, tokenize=True, return_dict=True)["input_ids"]
                items.append({"messages": conv})
                out = model(input_ids=torch.tensor([ids])).logits[0]
            else:
                prompt, response = conv[-2]["content"], conv[-1]["content"]
                enc = tok(prompt, response, return_tensors="pt")
                items.append({"prompt": prompt, "response": response})
                out = model(**enc).logits[0]
            logits.append(out.numpy())
    return items, np.stack(logits)


@pytest.mark.parametrize("name", FP32)
def test_fp32_import_is_verified_and_served_as_transformers_scores_it(name, imported, server):
    case = imported[name]
    checks = case["report"]["verification"]["cases"]
    assert [c["case"] for c in checks] == ["alone", "batch", "batch-reversed"]
    assert all(c["passed"] and c["max_abs_diff"] <= 1e-4 for c in checks), checks
    assert case["report"]["versions"]["transformers"] == transformers.__version__
    assert case["report"]["model_check"][-1] == "ok: no problem found"

    items, ref = _reference(case["hf"], CONVERSATIONS)
    assert len(items) >= 3
    status, body = server.post("/score", {"model": name, "items": items})
    assert status == 200, body
    assert len(body["rewards"]) == len(items)
    np.testing.assert_allclose(body["rewards"], ref[:, 0], atol=1e-4, rtol=0)
    if ref.shape[1] > 1:
        labels = case["report"]["source"]["id2label"]
        assert sorted(body["heads"]) == sorted(labels.values())
        for k, label in labels.items():
            np.testing.assert_allclose(body["heads"][label], ref[:, int(k)], atol=1e-4, rtol=0)


def test_encoders_are_served_as_text_pairs_and_decoders_with_their_chat_template(imported):
    formats = {n: imported[n]["report"]["output"]["input_format"] for n in FP32}
    assert {n for n, f in formats.items() if f == "pair"} == {"deberta-v2", "modernbert", "bert", "roberta"}
    assert all(f == "chat" for n, f in formats.items() if n not in {"deberta-v2", "modernbert", "bert", "roberta"})
    assert imported["bert"]["report"]["output"]["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert imported["roberta"]["report"]["output"]["inputs"] == ["input_ids", "attention_mask"]
    assert imported[EXTERNAL]["report"]["output"]["files"].keys() >= {"model.onnx", "model.onnx_data"}
    assert os.path.getsize(os.path.join(imported[EXTERNAL]["out"], "model.onnx")) < 200_000
    # Written only where the service's defaults would be wrong.
    assert not os.path.exists(os.path.join(imported["qwen2"]["out"], "reward.json"))
    # Without --prefix-graphs: no prefix graphs, no prefix_reuse, model.onnx's weights where they were.
    for name, case in imported.items():
        if "--prefix-graphs" not in CASES.get(name, (None, None, []))[2]:
            assert not {"prefix.onnx", "continue.onnx"} & set(os.listdir(case["out"])), name
            assert "prefix_reuse" not in case["report"]["output"]["reward_json"] and case["report"]["prefix_reuse"] is None, name
    assert not os.path.exists(os.path.join(imported["qwen2"]["out"], "model.onnx_data"))
    assert imported["bert"]["report"]["output"]["reward_json"] == {"input_format": "pair"}


def test_fp16_import_is_within_1e_2_of_transformers_fp32(imported, server):
    case = imported["qwen3-fp16"]
    assert case["report"]["output"]["dtype"] == "fp16"
    checks = case["report"]["verification"]["cases"]
    assert all(c["tolerance"] == 1e-2 and c["max_abs_diff"] <= 1e-2 for c in checks), checks
    # Not exact, so it really is float16 (an fp32 graph would be within 1e-5).
    assert max(c["max_abs_diff"] for c in checks) > 1e-5
    items, ref = _reference(case["hf"], CONVERSATIONS)
    status, body = server.post("/score", {"model": "qwen3-fp16", "items": items})
    assert status == 200, body
    np.testing.assert_allclose(body["rewards"], ref[:, 0], atol=1e-2, rtol=0)
    # qwen3's fp32 weights are in model.onnx_data (it has prefix graphs).
    fp32 = sum(os.path.getsize(os.path.join(imported["qwen3"]["out"], f)) for f in ("model.onnx", "model.onnx_data"))
    assert os.path.getsize(os.path.join(case["out"], "model.onnx")) < 0.6 * fp32


def test_process_reward_model_step_rewards_are_transformers_probabilities_at_each_tag(imported, server):
    case = imported["qwen2-prm"]
    assert case["report"]["output"]["reward_json"]["steps"] == {"tag": STEP_TAG, "positive_label": 1}
    assert all(c["passed"] for c in case["report"]["verification"]["cases"])
    model, tok = _reference_model(case["hf"], token=True)
    prompt, steps = "What is 7 * 8?", ["7 * 8 = 56.", "So the answer is 56."]
    conv = [{"role": "user", "content": prompt}, {"role": "assistant", "content": "".join(s + STEP_TAG for s in steps)}]
    ids = tok.apply_chat_template(conv, tokenize=True, return_dict=True)["input_ids"]
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0], dim=-1)[:, 1].numpy()
    tag = tok.convert_tokens_to_ids(STEP_TAG)
    expected = [float(probs[i]) for i, t in enumerate(ids) if t == tag]
    assert len(expected) == 2
    status, body = server.post("/score", {"model": "qwen2-prm", "items": [{"prompt": prompt, "steps": steps}]})
    assert status == 200, body
    np.testing.assert_allclose(body["step_rewards"][0], expected, atol=1e-4, rtol=0)
    assert abs(body["rewards"][0] - min(expected)) <= 1e-4


def test_int8_import_reports_agreement_and_speed_and_serves_batch_invariant_rewards(imported, server):
    case = imported["qwen3-int8"]
    int8 = case["report"]["int8"]
    assert int8["pairs"] == 48 and int8["passed"]
    assert int8["pairwise_agreement"] >= 0.98 and int8["spearman"] > 0.99
    assert int8["speedup"] > 0 and int8["max_abs_diff_alone_vs_batch"] <= 1e-4
    # Quantized for real: the weights shrank and the rewards moved.
    assert int8["max_abs_diff_vs_fp32"] > 1e-4
    assert "int8 on 48 HH pairs" in case["stdout"]
    items, ref = _reference(case["hf"], CONVERSATIONS)
    status, body = server.post("/score", {"model": "qwen3-int8", "items": items})
    assert status == 200, body
    assert np.corrcoef(body["rewards"], ref[:, 0])[0, 1] > 0.99
