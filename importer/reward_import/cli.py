"""npm run model:import -- HF_DIR OUT_DIR [options]

Exports a local Hugging Face reward-model checkpoint to a folder the service serves unchanged,
verifies it against transformers itself, runs the service's own model:check on it, and writes
OUT_DIR/import-report.json. Everything is written to a staging folder beside OUT_DIR and renamed
into place only when every check passed: a refused import leaves no OUT_DIR."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .checkpoint import DECODER, SEQUENCE, TOKEN, Checkpoint, load_model, max_positions, open_checkpoint
from .errors import ImportRefused, first_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PAIRS = os.path.join(ROOT, "models", "data", "hh-harmless-test.jsonl.gz")
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}
#: fp16 prefix graphs: an item beyond TOLERANCE passes within this of model.onnx (fp16's own rounding).
SAME_AS_MODEL = {"fp16": 1e-3}
#: The service's own bounds (src/model/model-folder.ts, MAX_LENGTH_CAP's default).
SANE_MODEL_MAX_LENGTH, DEFAULT_MAX_LENGTH_CAP = 1_048_576, 8192
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="npm run model:import --", description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hf_dir", metavar="HF_DIR", help="local checkpoint folder (config.json, weights, tokenizer files); nothing is downloaded")
    ap.add_argument("out_dir", metavar="OUT_DIR", help="folder to write; must not exist (or be empty) unless --force")
    ap.add_argument("--dtype", choices=("fp32", "fp16"), default="fp32", help="weights and logits of the graph: fp32 (CPU, default) or fp16 (GPU serving)")
    ap.add_argument("--quantize", choices=("int8",), help="dynamic int8 MatMul weights for CPU; judged by pairwise agreement with fp32 on HH pairs")
    ap.add_argument("--max-length", type=int, help="longest item in tokens the service reads (reward.json max_length)")
    ap.add_argument("--name", help="the model's id in the service (reward.json name); default: OUT_DIR's name")
    ap.add_argument("--step-tag", help="for a *ForTokenClassification process reward model: the added token that ends each step")
    ap.add_argument("--pad-token-id", type=int, help="the id batches are padded with, where config.json names none")
    ap.add_argument("--pairs", default=DEFAULT_PAIRS, help="HH-RLHF pairs (jsonl[.gz] of {chosen, rejected}) for the int8 agreement check")
    ap.add_argument("--pairs-limit", type=int, default=177, help="at most this many pairs for the int8 check (default 177)")
    ap.add_argument("--external-data", action="store_true", help="keep the weights in model.onnx_data even under 1.8 GB (always above)")
    ap.add_argument("--prefix-graphs", action="store_true", help="also write continue.onnx: run a prompt once, then score continuations from its keys and values (decoders)")
    ap.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists (only once the import has passed)")
    args = ap.parse_args(argv)
    if args.quantize and args.dtype != "fp32":
        ap.error("--quantize int8 starts from the fp32 graph; leave --dtype at fp32")
    if args.quantize and args.prefix_graphs:
        ap.error("--prefix-graphs exports fp32 or fp16 graphs; leave out --quantize")
    if args.max_length is not None and args.max_length < 8:
        ap.error("--max-length must be at least 8")
    return args


def say(line: str) -> None:
    print(line, flush=True)


def _versions() -> dict:
    import numpy
    import onnx
    import onnxruntime
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": numpy.__version__}


def _service_max_length(ck: Checkpoint, requested: int | None) -> int:
    """max_length as the service will resolve it from the folder written (see models/README.md)."""
    cap = int(os.environ.get("MAX_LENGTH_CAP", DEFAULT_MAX_LENGTH_CAP))
    tok_limit = getattr(ck.tokenizer, "model_max_length", None)
    tok_limit = int(tok_limit) if isinstance(tok_limit, (int, float)) and tok_limit <= SANE_MODEL_MAX_LENGTH else None
    positions = max_positions(ck.config)
    if requested is not None:
        limit = min(x for x in (tok_limit, positions) if x is not None) if (tok_limit or positions) else None
        if limit is not None and requested > limit:
            raise ImportRefused("--max-length", f"{requested} exceeds the model's limit {limit} (tokenizer model_max_length / config.json position limit)")
        return min(requested, cap)
    return min(tok_limit or positions or 512, cap)


def _write_folder(ck: Checkpoint, out: str, args: argparse.Namespace) -> dict:
    """Tokenizer files, config.json and (only where the defaults would be wrong) reward.json."""
    os.makedirs(out)
    copied = [f for f in TOKENIZER_FILES if os.path.exists(os.path.join(ck.dir, f))]
    if "tokenizer.json" in copied:
        for f in copied:
            shutil.copyfile(os.path.join(ck.dir, f), os.path.join(out, f))
    else:  # a slow-tokenizer checkpoint (DeBERTa-v3's spm.model): transformers converts it
        ck.tokenizer.save_pretrained(out)
    config = dict(ck.config)
    if args.pad_token_id is not None:
        config["pad_token_id"] = args.pad_token_id
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
    reward: dict = {}
    if args.name:
        reward["name"] = args.name
    if ck.input_format == "pair":
        reward["input_format"] = "pair"
    if args.max_length is not None:
        reward["max_length"] = args.max_length
    if config.get("pad_token_id") is None:
        reward["pad_token_id"] = ck.pad_token_id
    if ck.head == TOKEN:
        reward["steps"] = {"tag": args.step_tag, "positive_label": 1}
    _write_reward_json(out, reward)
    return reward


def _write_reward_json(out: str, reward: dict) -> None:
    if reward:
        with open(os.path.join(out, "reward.json"), "w", encoding="utf-8") as f:
            json.dump(reward, f, indent=2, ensure_ascii=False)
            f.write("\n")


def _model_check(out: str) -> list[str]:
    cli = os.path.join(ROOT, "dist", "src", "check", "model-check-cli.js")
    if not os.path.exists(cli):
        raise ImportRefused("model:check", f"{cli} is missing: run the import through `npm run model:import`, which builds the service first")
    proc = subprocess.run(["node", cli, out], capture_output=True, text=True, env={**os.environ, "LOG_LEVEL": "silent"})
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode != 0:
        problem = next((l for l in reversed(lines) if l.strip()), f"exit {proc.returncode}")
        raise ImportRefused("model:check", f"the service refuses the folder: {problem.strip()}")
    return lines


def _step(name: str, fn):
    """Run one step of the import; a failure inside torch or transformers becomes one line."""
    try:
        return fn()
    except ImportRefused:
        raise
    except Exception as err:
        raise ImportRefused(name, f"failed: {type(err).__name__}: {first_line(err)}") from None


def _report_cases(cases: list[dict], label: str) -> None:
    for c in cases:
        mark = "ok" if c["passed"] else "FAILED"
        vs_model = f", vs model.onnx {c['max_abs_diff_vs_model_onnx']:.2e}" if "max_abs_diff_vs_model_onnx" in c else ""
        if "tolerance_vs_model_onnx" in c:
            vs_model += f" (≤ {c['tolerance_vs_model_onnx']:g} where beyond {c['tolerance']:g})"
        say(f"  {label} {c['case']:<{20 - len(label)}} {c['items']:>3} items  max |Δ| {c['max_abs_diff']:.2e} (≤ {c['tolerance']:g}){vs_model}  {mark}")


def _import(args: argparse.Namespace, out: str, scratch: str) -> dict:
    import torch

    from . import export as exporter
    from . import verify
    from .samples import verification_items

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    ck = open_checkpoint(args.hf_dir, pad_token_id=args.pad_token_id, step_tag=args.step_tag)
    say(f"checkpoint {args.hf_dir}: {ck.architecture} ({ck.family}, {ck.kind}), {ck.num_labels} label(s), pad id {ck.pad_token_id}, input {ck.input_format}")
    if args.prefix_graphs and (ck.kind != DECODER or ck.head == TOKEN):
        what = f"a {ck.family} encoder attends both ways, so a prefix's keys and values depend on what follows" if ck.kind != DECODER else \
            "a process reward model reads every step tag, not one reward at the last token"
        raise ImportRefused("--prefix-graphs", f"prefix graphs are for decoder *{SEQUENCE} models: {what}; import it without --prefix-graphs")
    if args.quantize and ck.head == TOKEN:
        raise ImportRefused("--quantize", "int8 is judged by how HH pairs are ordered, which a process reward model does not score; import it in fp32 or fp16")
    model = load_model(ck, args.pad_token_id)
    params = sum(p.numel() for p in model.parameters())
    timings["load_s"] = time.perf_counter() - t0
    say(f"loaded {params / 1e6:.1f} M parameters in {timings['load_s']:.1f} s")

    max_length = _service_max_length(ck, args.max_length)
    items, skipped = verification_items(ck, max_length, args.step_tag)
    if len(items) < 2:
        raise ImportRefused("verification", f"fewer than 2 sample items fit (skipped: {'; '.join(skipped)})")
    t = time.perf_counter()
    ref = _step("transformers' forward", lambda: verify.reference(ck, model, items, exporter.input_names(ck, model)))
    timings["reference_s"] = time.perf_counter() - t
    lengths = [len(it.ids) for it in items]
    say(f"transformers scored {len(items)} items ({min(lengths)}–{max(lengths)} tokens) in {timings['reference_s']:.1f} s" + (f"; skipped {len(skipped)}: {'; '.join(skipped)}" if skipped else ""))
    if args.prefix_graphs:
        from . import prefix as px

        # In float32, before an fp16 export converts the model.
        prefix_cases = _step("transformers' forward", lambda: px.cases(ck, model, items, ref))

    reward_json = _write_folder(ck, out, args)
    t = time.perf_counter()
    if args.dtype == "fp16":
        model = model.to(torch.float16)
    graph_dir = os.path.join(scratch, "fp32") if args.quantize else os.path.join(scratch, "model") if args.prefix_graphs else out
    os.makedirs(graph_dir, exist_ok=True)
    exported = _step("torch.onnx.export", lambda: exporter.export(ck, model, graph_dir, scratch, args.external_data))
    timings["export_s"] = time.perf_counter() - t
    say(f"exported {', '.join(exported['files'])} ({exported['weight_bytes'] / 1e6:.1f} MB of weights, inputs {', '.join(exported['inputs'])}) in {timings['export_s']:.1f} s")
    prefix_reuse = None
    if args.prefix_graphs:
        t = time.perf_counter()
        continue_path, contract = _step("torch.onnx.export (prefix graphs)", lambda: px.export(ck, model, scratch))
        graphs = {"model.onnx": os.path.join(graph_dir, "model.onnx"), px.CONTINUE: continue_path}
        alone = _step("writing the graphs", lambda: px.share_weights(graphs, out))
        graph_dir = out
        exported.update(external_data=True, files=["model.onnx", px.DATA, px.CONTINUE])
        reward_json["prefix_reuse"] = contract
        _write_reward_json(out, reward_json)
        timings["prefix_export_s"] = time.perf_counter() - t
        shared = os.path.getsize(os.path.join(out, px.DATA))
        prefix_reuse = {"contract": contract, "weight_bytes": {"shared": shared, "each_alone": alone}}
        say(f"exported {px.CONTINUE} ({contract['layers']} layers × {contract['kv_heads']} kv heads × {contract['head_dim']}, {contract['dtype']}) in {timings['prefix_export_s']:.1f} s; "
            f"it and model.onnx share {shared / 1e6:.1f} MB of weights in {px.DATA} ({sum(alone.values()) / 1e6:.1f} MB apart)")
    del model

    t = time.perf_counter()
    graph_path = os.path.join(graph_dir, "model.onnx")
    dtype = args.dtype
    cases = _step("ONNX Runtime", lambda: verify.check(ck, graph_path, items, ref, TOLERANCE[dtype]))
    timings["verify_s"] = time.perf_counter() - t
    _report_cases(cases, dtype)
    failed = [c for c in cases if not c["passed"]]
    if failed:
        worst = max(failed, key=lambda c: c["max_abs_diff"])
        raise ImportRefused("verification", f"ONNX Runtime differs from transformers by {worst['max_abs_diff']:.3g} ({worst['what']}), beyond {TOLERANCE[dtype]:g} for {dtype}")

    if args.prefix_graphs:
        t = time.perf_counter()
        same = SAME_AS_MODEL.get(dtype)
        checks = _step("ONNX Runtime (prefix graphs)", lambda: px.check(ck, out, contract, prefix_cases, TOLERANCE[dtype], same))
        timings["prefix_verify_s"] = time.perf_counter() - t
        _report_cases(checks, "prefix")
        prefix_reuse["cases"] = checks
        failed = [c for c in checks if not c["passed"]]
        if failed:
            worst = max(failed, key=lambda c: c["max_abs_diff"])
            vs_model = f", and from model.onnx by {worst['max_abs_diff_vs_model_onnx']:.3g}" if "max_abs_diff_vs_model_onnx" in worst else ""
            raise ImportRefused("verification", f"continue.onnx differs from transformers by {worst['max_abs_diff']:.3g} ({worst['what']}), "
                                f"beyond {TOLERANCE[dtype]:g} for {dtype}{vs_model}; import without --prefix-graphs")

    int8 = None
    if args.quantize:
        from . import quantize as q8  # onnxruntime's quantizer, only for int8

        t = time.perf_counter()
        int8_path = os.path.join(out, "model.onnx")
        _step("int8 quantization", lambda: q8.quantize(graph_path, int8_path, exported["external_data"]))
        # No tolerance against transformers for int8, but an item's reward must not depend on its batch.
        int8_out = _step("ONNX Runtime (int8)", lambda: verify.outputs(ck, int8_path, items))
        spread = verify.max_diff(int8_out["alone"][1], int8_out["batch"][1])
        try:
            int8 = q8.judge(ck, graph_path, int8_path, args.pairs, args.pairs_limit, max_length)
        except (FileNotFoundError, ValueError) as err:
            raise ImportRefused("--pairs", f"cannot judge int8: {err}") from None
        int8["max_abs_diff_vs_transformers"] = max(verify.max_diff(got, ref) for _, got in int8_out.values())
        int8["max_abs_diff_alone_vs_batch"] = spread
        timings["quantize_s"] = time.perf_counter() - t
        say(f"  int8 on {int8['pairs']} HH pairs: Spearman {int8['spearman']:.4f}, pairs ordered as fp32 {int8['pairwise_agreement']:.4f} (≥ {q8.MIN_AGREEMENT}), "
            f"speedup ×{int8['speedup']:.2f} ({int8['int8_items_per_s']:.1f} vs {int8['fp32_items_per_s']:.1f} items/s), max |Δ| vs transformers {int8['max_abs_diff_vs_transformers']:.3g}, alone vs batched {spread:.2g}")
        if spread > TOLERANCE["fp32"]:
            raise ImportRefused("int8", f"an item's reward moves by {spread:.3g} with its batch mates; the service gives an item one reward whatever else is in flight")
        if not int8["passed"]:
            raise ImportRefused("int8", f"only {int8['pairwise_agreement']:.4f} of {int8['pairs']} HH pairs are ordered as the fp32 graph orders them (< {q8.MIN_AGREEMENT}); serve fp32 instead")
        shutil.rmtree(graph_dir)

    t = time.perf_counter()
    check_lines = _model_check(out)
    timings["model_check_s"] = time.perf_counter() - t
    say(f"model:check passed ({timings['model_check_s']:.1f} s)")
    timings["total_s"] = time.perf_counter() - t0
    files = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    return {
        "importer": "model:import 1",
        "command": ["model:import", *sys.argv[1:]],
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "source": {"dir": os.path.abspath(args.hf_dir), "architecture": ck.architecture, "model_type": ck.model_type, "family": ck.family,
                   "kind": ck.kind, "parameters": params, "num_labels": ck.num_labels, "id2label": {str(k): v for k, v in ck.id2label.items()}},
        "output": {"dtype": args.dtype, "quantize": args.quantize, "files": files, "inputs": exported["inputs"], "external_data": exported["external_data"],
                   "input_format": ck.input_format, "pad_token_id": ck.pad_token_id, "max_length": max_length, "reward_json": reward_json},
        "verification": {"reference": "transformers forward, float32, each item alone", "items": [{"name": it.name, "tokens": len(it.ids)} for it in items],
                         "skipped": skipped, "cases": cases},
        "int8": int8,
        "prefix_reuse": prefix_reuse,
        "model_check": check_lines,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out_dir = os.path.abspath(args.out_dir)
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)) and not args.force:
        print(f"model:import: {args.out_dir}: exists and is not empty; choose another folder or pass --force", file=sys.stderr)
        return 1
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.import-", dir=parent)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # The staged folder has OUT_DIR's name, so model:check sees the name the service will.
        staged = os.path.join(staging, os.path.basename(out_dir))
        scratch = os.path.join(staging, "scratch")
        os.makedirs(scratch)
        report = _import(args, staged, scratch)
        with open(os.path.join(staged, "import-report.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
            f.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        for f in os.listdir(staged):  # onnx writes model.onnx_data owner-only; a server may run as another user
            os.chmod(os.path.join(staged, f), 0o666 & ~umask)
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir) if os.path.isdir(out_dir) else os.remove(out_dir)
        os.rename(staged, out_dir)
        say(f"wrote {args.out_dir} in {report['timings_s']['total_s']:.1f} s: serve it with MODEL_DIR={args.out_dir} npm start")
        return 0
    except ImportRefused as err:
        print(f"model:import: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
