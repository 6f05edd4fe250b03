"""What cannot be served is refused in one line (exit 1), and nothing is left where OUT_DIR would be."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from checkpoints import build
from conftest import PAIRS, ROOT, run_import


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> str:
    return build("llama", str(tmp_path_factory.mktemp("llama") / "hf"))


def _copy(src: str, dst) -> str:
    shutil.copytree(src, dst)
    return str(dst)


def _edit_config(hf: str, **changes) -> None:
    path = os.path.join(hf, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    for k, v in changes.items():
        if v is None:
            config.pop(k, None)
        else:
            config[k] = v
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f)


def _refused(hf: str, tmp_path, *args: str) -> str:
    """Import, expect a one-line refusal; return the line. Checks nothing was left behind."""
    out = tmp_path / "out" / "rm"
    proc = run_import(hf, str(out), *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith("model:import: "), proc.stderr
    assert not out.exists()
    assert os.listdir(out.parent) == [], "a staging folder was left behind"
    return lines[0]


def test_a_family_it_does_not_export_is_named(tmp_path):
    import transformers

    hf = str(tmp_path / "gpt2")
    config = transformers.GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=400, pad_token_id=0, num_labels=1)
    config.architectures = ["GPT2ForSequenceClassification"]
    transformers.GPT2ForSequenceClassification(config).save_pretrained(hf)
    shutil.copy(os.path.join(build("bert", str(tmp_path / "bert")), "tokenizer.json"), hf)
    line = _refused(hf, tmp_path)
    assert "model_type 'gpt2' (GPT2ForSequenceClassification) is not a family model:import exports" in line
    assert "Qwen3" in line and "DeBERTa" in line


def test_a_language_model_head_is_not_a_reward_model(llama, tmp_path):
    hf = _copy(llama, tmp_path / "lm")
    _edit_config(hf, architectures=["LlamaForCausalLM"])
    assert "architecture LlamaForCausalLM has no reward head" in _refused(hf, tmp_path)


def test_checkpoint_code_is_never_run(llama, tmp_path):
    hf = _copy(llama, tmp_path / "custom")
    _edit_config(hf, architectures=["Qwen2ForProcessRewardModel"], auto_map={"AutoModel": "modeling_qwen2_rm.Qwen2ForProcessRewardModel"})
    assert "Qwen2ForProcessRewardModel is not a transformers" in (line := _refused(hf, tmp_path))
    assert "runs no checkpoint code" in line


def test_missing_tokenizer(llama, tmp_path):
    hf = _copy(llama, tmp_path / "notok")
    for f in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        os.remove(os.path.join(hf, f))
    assert "cannot load the tokenizer" in _refused(hf, tmp_path)


def test_no_pad_id(llama, tmp_path):
    hf = _copy(llama, tmp_path / "nopad")
    _edit_config(hf, pad_token_id=None)
    line = _refused(hf, tmp_path)
    assert "config.json: no pad_token_id" in line and "--pad-token-id" in line


def test_no_pad_id_is_served_once_given(llama, tmp_path):
    hf = _copy(llama, tmp_path / "nopad")
    _edit_config(hf, pad_token_id=None)
    out = tmp_path / "given"
    proc = run_import(hf, str(out), "--pad-token-id", "128004")
    assert proc.returncode == 0, proc.stderr
    with open(out / "config.json", encoding="utf-8") as f:
        assert json.load(f)["pad_token_id"] == 128004


def test_a_config_the_class_rejects(llama, tmp_path):
    hf = _copy(llama, tmp_path / "badcfg")
    _edit_config(hf, hidden_size=24)
    assert "LlamaForSequenceClassification cannot load this checkpoint" in _refused(hf, tmp_path)


def test_weights_without_the_reward_head(llama, tmp_path):
    hf = _copy(llama, tmp_path / "nohead")
    weights = load_file(os.path.join(hf, "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("score")}, os.path.join(hf, "model.safetensors"), metadata={"format": "pt"})
    line = _refused(hf, tmp_path)
    assert "the weights lack score.weight" in line


@pytest.fixture(scope="module")
def prm(tmp_path_factory) -> str:
    return build("qwen2", str(tmp_path_factory.mktemp("prm") / "hf"), token_classification=True, step_tag="<extra_0>")


def test_a_process_reward_model_needs_its_step_tag(prm, tmp_path):
    hf = prm
    assert "pass --step-tag" in _refused(hf, tmp_path)
    assert "'<step>' is not an added token" in _refused(hf, tmp_path, "--step-tag", "<step>")


def test_an_int8_quantization_that_reorders_pairs_is_refused(tmp_path):
    """Outlier weights (one per block of 32, as LLMs' outlier features) leave the rest of each block
    a few int8 levels: the quantized graph no longer orders pairs as fp32 does."""
    hf = build("qwen3", str(tmp_path / "outliers"), seed=3)
    path = os.path.join(hf, "model.safetensors")
    weights = load_file(path)
    for k, w in weights.items():
        if w.dim() == 2 and "embed" not in k and "score" not in k:
            w.view(-1)[::32] *= 300.0
    save_file(weights, path, metadata={"format": "pt"})
    line = _refused(hf, tmp_path, "--quantize", "int8", "--pairs", PAIRS, "--pairs-limit", "64")
    assert "int8: only" in line and "HH pairs are ordered as the fp32 graph orders them (< 0.98)" in line


def test_out_dir_is_never_overwritten_without_force(llama, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = run_import(llama, str(out))
    assert proc.returncode == 1 and "exists and is not empty" in proc.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_missing_python_packages_are_named_in_one_line(tmp_path):
    # -S: no site-packages, so neither torch nor transformers can be imported.
    proc = subprocess.run([sys.executable, "-S", os.path.join(ROOT, "importer", "model_import.py"), "a", "b"], capture_output=True, text=True)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "lacks torch, transformers, onnx, onnxruntime, numpy" in line and "requirements.txt" in line


def test_prefix_graphs_are_refused_for_an_encoder_and_a_process_reward_model(prm, tmp_path):
    bert = build("bert", str(tmp_path / "bert"))
    line = _refused(bert, tmp_path, "--prefix-graphs")
    assert "--prefix-graphs: prefix graphs are for decoder *ForSequenceClassification models" in line and "BERT encoder attends both ways" in line
    line = _refused(prm, tmp_path, "--prefix-graphs", "--step-tag", "<extra_0>")
    assert "a process reward model reads every step tag" in line
