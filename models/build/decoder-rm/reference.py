"""Reference rewards for the decoder-rm fixtures, independent of the service.

Usage (from the repo root, after build.py): .venv/bin/python models/build/decoder-rm/reference.py

For every conversation of test/fixtures/decoder-rm/conversations.json and every fixture folder:
  1. render with models/build/hf_jinja.py (transformers' apply_chat_template environment), the
     folder's tokenizer_config.json chat_template and special tokens, add_generation_prompt False;
     {prompt, response} items are rendered as [user: prompt, assistant: response];
  2. tokenize the text with the Rust `tokenizers` binding, add_special_tokens false
     (tokenize.mjs) = apply_chat_template(tokenize=True);
  3. run the transformers model (Qwen3ForSequenceClassification / LlamaForSequenceClassification
     with the fixture's seeded weights, float32) on the ids ALONE (batch 1, no padding);
     reward = logit 0, a float32 written as its exact float64 value.
     qwen3-rm-fp16: transformers in float32 on the float16-rounded weights.
Writes test/fixtures/decoder-rm/reference.json.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from build import FIXTURE_SPECS, FIXTURES, ROOT, build_torch  # noqa: E402
from hf_jinja import render, special_tokens  # noqa: E402

CONVERSATIONS = os.path.join(ROOT, "test", "fixtures", "decoder-rm", "conversations.json")
OUT = os.path.join(ROOT, "test", "fixtures", "decoder-rm", "reference.json")

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def messages_of(item):
    if "messages" in item:
        return item["messages"]
    return [{"role": "user", "content": item["prompt"]}, {"role": "assistant", "content": item["response"]}]


def main():
    t0 = time.time()
    with open(CONVERSATIONS, encoding="utf-8") as f:
        convs = json.load(f)["conversations"]
    assert len({c["id"] for c in convs}) == len(convs)
    for c in convs:
        assert messages_of(c)[-1]["role"] == "assistant", c["id"]

    # Render once per tokenizer (the fp16/nopad folders share their sibling's tokenizer files).
    texts, jobs = {}, {}
    for name in FIXTURE_SPECS:
        folder = os.path.join(FIXTURES, name)
        tok_file = os.path.realpath(os.path.join(folder, "tokenizer.json"))
        with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
            tcfg = json.load(f)
        tokens = special_tokens(tcfg)
        texts[name] = [render(tcfg["chat_template"], messages_of(c), tokens, add_generation_prompt=False) for c in convs]
        jobs.setdefault(tok_file, texts[name])
        assert jobs[tok_file] == texts[name]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(src, "w", encoding="utf-8") as f:
            json.dump(jobs, f, ensure_ascii=False)
        subprocess.run(["node", os.path.join(HERE, "tokenize.mjs"), src, dst], check=True, cwd=ROOT)
        with open(dst, encoding="utf-8") as f:
            ids_by_file = json.load(f)

    out = {
        "note": "Reference rewards: hf_jinja.render (add_generation_prompt false) -> tokenizers (Rust binding, "
                "add_special_tokens false) -> transformers (Qwen3/LlamaForSequenceClassification, float32) on each id "
                "list alone (batch 1, no padding). reward = logit 0 (float32 value). qwen3-rm-fp16: transformers "
                "float32 on the float16-rounded weights. "
                "Built by models/build/decoder-rm/reference.py.",
        "models": {},
    }
    for name, (cfg, seed, tok_pkg, layout) in FIXTURE_SPECS.items():
        folder = os.path.join(FIXTURES, name)
        ids_list = ids_by_file[os.path.realpath(os.path.join(folder, "tokenizer.json"))]
        model = build_torch(name, fp16_rounded=(layout == "fp16"))
        entry = {
            "folder": os.path.relpath(folder, ROOT),
            "onnx": "onnx/model.onnx" if layout == "fp16" else "model.onnx",
            "external_data": "model.onnx_data" if layout == "external" else None,
            "logits_dtype": "float16" if layout == "fp16" else "float32",
            "torch_dtype": cfg["torch_dtype"],
            "pad_token_id": cfg.get("pad_token_id"),
            "tokenizer": tok_pkg,
            "seed": seed,
            "reference_compute": "float32 on float16-rounded weights" if layout == "fp16" else "float32",
        }
        if cfg["model_type"] == "llama":
            entry["bos_token"] = "<|begin_of_text|>"
            entry["bos_token_id"] = 128000
        cases = {}
        with torch.no_grad():
            for c, text, ids in zip(convs, texts[name], ids_list):
                x = torch.tensor([ids], dtype=torch.int64)
                reward = model(x, torch.ones_like(x))[0, 0].item()
                case = {"text": text, "num_tokens": len(ids), "ids": ids, "reward": reward}
                if cfg["model_type"] == "llama":
                    case["text_starts_with_bos"] = text.startswith("<|begin_of_text|>")
                    case["ids_start_with_bos"] = ids[0] == 128000
                    assert case["text_starts_with_bos"] and case["ids_start_with_bos"] and ids[1] != 128000, c["id"]
                cases[c["id"]] = case
        if cfg["model_type"] == "llama":
            entry["all_texts_start_with_bos"] = all(cs["text_starts_with_bos"] for cs in cases.values())
        entry["cases"] = cases
        out["models"][name] = entry
        rewards = [cs["reward"] for cs in cases.values()]
        lens = [cs["num_tokens"] for cs in cases.values()]
        print(f"{name}: {len(cases)} cases, tokens {min(lens)}..{max(lens)}, rewards {min(rewards):.3f}..{max(rewards):.3f}")

    text = json.dumps(out, indent=1, ensure_ascii=False)
    # id lists on one line each; the BOM written as an escape (json escapes U+001C itself)
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    text = text.replace("\ufeff", "\\ufeff")
    assert json.loads(text) == out
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes); reference.py: OK in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
