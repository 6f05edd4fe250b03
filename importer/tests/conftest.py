"""Fixtures: tiny checkpoints of every family built with the real transformers classes, imported
once per session with the real CLI, and one real server (dist/src/server.js) serving them all over
HTTP. Run with `npm run test:import` (it builds the service first)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "importer"))

from checkpoints import build, fit_pairs  # noqa: E402

PAIRS = os.path.join(ROOT, "models", "data", "hh-harmless-test.jsonl.gz")
STEP_TAG = "<extra_0>"

#: name → (family, build options, import options). Three decoders also get prefix graphs
#: (test_prefix_graphs.py): their model.onnx is still tested and served as every other's.
CASES: dict[str, tuple[str, dict, list[str]]] = {
    "qwen3": ("qwen3", {}, ["--prefix-graphs"]),
    "qwen2": ("qwen2", {}, []),
    "llama": ("llama", {}, ["--prefix-graphs"]),
    "mistral": ("mistral", {}, []),
    "phi3": ("phi3", {}, []),
    "gemma2": ("gemma2", {}, []),
    "gemma3-text": ("gemma3_text", {}, ["--prefix-graphs"]),
    "deberta-v2": ("deberta-v2", {}, []),
    "modernbert": ("modernbert", {}, []),
    "bert": ("bert", {}, []),
    "roberta": ("roberta", {}, []),
    "llama-3-heads": ("llama", {"num_labels": 3, "id2label": {0: "helpfulness", 1: "harmlessness", 2: "honesty"}, "seed": 7}, ["--external-data"]),
    "qwen2-prm": ("qwen2", {"token_classification": True, "step_tag": STEP_TAG, "seed": 5}, ["--step-tag", STEP_TAG]),
    "qwen3-fp16": ("qwen3", {}, ["--dtype", "fp16"]),
}

INT8_DIMS = dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=192)


def run_import(hf_dir: str, out_dir: str, *args: str) -> subprocess.CompletedProcess:
    """The importer as `npm run model:import` runs it (a fresh python process)."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "importer", "model_import.py"), hf_dir, out_dir, *args],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("import"))


@pytest.fixture(scope="session")
def imported(workdir) -> dict[str, dict]:
    """Every case built and imported: name → {hf, out, report}."""
    done = {}
    for name, (family, opts, args) in CASES.items():
        hf, out = os.path.join(workdir, "hf", name), os.path.join(workdir, "out", name)
        build(family, hf, **opts)
        proc = run_import(hf, out, *args)
        assert proc.returncode == 0, f"{name}: {proc.stderr.strip()[-800:]}"
        with open(os.path.join(out, "import-report.json"), encoding="utf-8") as f:
            done[name] = {"hf": hf, "out": out, "report": json.load(f), "stdout": proc.stdout}
    # int8: a checkpoint fitted to HH pairs, so that its margins carry a signal.
    hf, out = os.path.join(workdir, "hf", "qwen3-int8"), os.path.join(workdir, "out", "qwen3-int8")
    build("qwen3", hf, dims=INT8_DIMS, seed=11)
    fit_pairs(hf, PAIRS, n_pairs=48, steps=40)
    proc = run_import(hf, out, "--quantize", "int8", "--pairs", PAIRS, "--pairs-limit", "48")
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(out, "import-report.json"), encoding="utf-8") as f:
        done["qwen3-int8"] = {"hf": hf, "out": out, "report": json.load(f), "stdout": proc.stdout}
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


@pytest.fixture(scope="session")
def server(imported):
    """One real server serving every imported folder (MODELS), started once."""
    port = _free_port()
    env = {"PATH": os.environ["PATH"], "PORT": str(port), "MODELS": ",".join(c["out"] for c in imported.values()),
           "LOG_LEVEL": "warn", "INFER_WORKERS": "1", "INTRA_OP_THREADS": "1"}
    proc = subprocess.Popen(["node", os.path.join(ROOT, "dist", "src", "server.js")], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    srv = Server(port)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {proc.stdout.read()[-2000:]}")
        try:
            with urllib.request.urlopen(srv.base + "/health/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("server not ready in 120 s")
        time.sleep(0.2)
    yield srv
    proc.terminate()
    proc.wait(timeout=30)
