"""Reading a local Hugging Face checkpoint folder: which family and head it is, its tokenizer, the
pad id its pooling uses and how the service should render its input. Nothing is downloaded and no
checkpoint code is run (`trust_remote_code` stays off)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import torch
import transformers

from .errors import ImportRefused, first_line

DECODER, ENCODER = "decoder", "encoder"

#: model_type → (family name, decoder or encoder): the families the importer exports and tests.
FAMILIES: dict[str, tuple[str, str]] = {
    "llama": ("Llama", DECODER),
    "mistral": ("Mistral", DECODER),
    "qwen2": ("Qwen2", DECODER),
    "qwen3": ("Qwen3", DECODER),
    "gemma": ("Gemma", DECODER),
    "gemma2": ("Gemma2", DECODER),
    "gemma3_text": ("Gemma3 text", DECODER),
    "phi3": ("Phi3", DECODER),
    "deberta-v2": ("DeBERTa-v2/v3", ENCODER),
    "modernbert": ("ModernBERT", ENCODER),
    "bert": ("BERT", ENCODER),
    "roberta": ("RoBERTa", ENCODER),
    "xlm-roberta": ("XLM-RoBERTa", ENCODER),
}

SEQUENCE, TOKEN = "ForSequenceClassification", "ForTokenClassification"

#: The position limits config.json may name, in the service's order (src/model/model-folder.ts).
POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "max_sequence_length", "seq_length", "n_ctx")


@dataclass
class Checkpoint:
    """A checkpoint folder as the importer understands it."""

    dir: str
    config: dict
    architecture: str
    model_type: str
    family: str
    kind: str  # DECODER or ENCODER
    head: str  # SEQUENCE or TOKEN
    model_class: type
    tokenizer: object
    pad_token_id: int | None
    num_labels: int
    id2label: dict[int, str]
    chat_template: str | None
    input_format: str  # "chat", "pair" or "template": what the service will render


def _read_config(hf_dir: str) -> dict:
    path = os.path.join(hf_dir, "config.json")
    if not os.path.isdir(hf_dir):
        raise ImportRefused(hf_dir, "checkpoint folder does not exist")
    if not os.path.exists(path):
        raise ImportRefused(path, "file is missing: a Hugging Face checkpoint folder holds config.json, the weights and the tokenizer files")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as err:
        raise ImportRefused(path, f"not valid JSON ({err})") from None


def supported_list() -> str:
    return ", ".join(sorted({name for name, _ in FAMILIES.values()}))


def _classify(hf_dir: str, config: dict) -> tuple[str, str, str, str, type]:
    cfg = os.path.join(hf_dir, "config.json")
    model_type = config.get("model_type")
    archs = config.get("architectures") or []
    arch = archs[0] if archs else None
    if arch is not None and not hasattr(transformers, arch):
        custom = " (custom code in auto_map: model:import runs no checkpoint code)" if config.get("auto_map") else ""
        raise ImportRefused(cfg, f"architecture {arch} is not a transformers {transformers.__version__} class{custom}; supported families: {supported_list()}")
    if arch is not None and not (arch.endswith(SEQUENCE) or arch.endswith(TOKEN)):
        raise ImportRefused(cfg, f"architecture {arch} has no reward head: a reward model is a *{SEQUENCE} (one score per item) or a *{TOKEN} (a process reward model)")
    if model_type not in FAMILIES:
        raise ImportRefused(cfg, f"model_type {model_type!r} ({arch or 'no architectures'}) is not a family model:import exports; supported: {supported_list()}")
    family, kind = FAMILIES[model_type]
    head = TOKEN if arch is not None and arch.endswith(TOKEN) else SEQUENCE
    auto = transformers.AutoModelForTokenClassification if head == TOKEN else transformers.AutoModelForSequenceClassification
    cls = getattr(transformers, arch) if arch is not None else auto
    return model_type, family, kind, head, cls


def _tokenizer(hf_dir: str):
    try:
        tok = transformers.AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    except Exception as err:  # transformers raises many types for a missing or broken tokenizer
        raise ImportRefused(hf_dir, f"cannot load the tokenizer ({first_line(err)}): the folder needs tokenizer.json (or the files transformers converts to it) and tokenizer_config.json") from None
    if not getattr(tok, "is_fast", False) or getattr(tok, "backend_tokenizer", None) is None:
        raise ImportRefused(hf_dir, f"the tokenizer ({type(tok).__name__}) has no tokenizers backend, so no tokenizer.json can be written for the service")
    return tok


def _pair_template(tok) -> bool:
    """Does the tokenizer join two texts with separators of its own (BERT-style pair input)?"""
    bare = len(tok("a", add_special_tokens=False)["input_ids"]) + len(tok("b", add_special_tokens=False)["input_ids"])
    return len(tok("a", "b", add_special_tokens=True)["input_ids"]) >= bare + 2


def open_checkpoint(hf_dir: str, pad_token_id: int | None = None, step_tag: str | None = None) -> Checkpoint:
    """Read and classify a checkpoint folder; refuse, in one line, what cannot be served."""
    config = _read_config(hf_dir)
    model_type, family, kind, head, cls = _classify(hf_dir, config)
    cfg_file = os.path.join(hf_dir, "config.json")
    tok = _tokenizer(hf_dir)

    pad = config.get("pad_token_id") if pad_token_id is None else pad_token_id
    if isinstance(pad, list):
        pad = pad[0] if pad else None
    if pad is None and kind == DECODER:
        hint = f" (the tokenizer's pad token {tok.pad_token!r} is id {tok.pad_token_id})" if tok.pad_token_id is not None else ""
        raise ImportRefused(cfg_file, f"no pad_token_id: a {family} reward model pools at the last token that is not padding, and transformers itself cannot score a batch without one; set pad_token_id in config.json or pass --pad-token-id{hint}")
    if pad is None:
        pad = tok.pad_token_id
    if pad is None:
        raise ImportRefused(cfg_file, "no pad token id in config.json nor in the tokenizer; set pad_token_id in config.json or pass --pad-token-id")

    id2label = {int(k): str(v) for k, v in (config.get("id2label") or {}).items()}
    num_labels = config.get("num_labels") or (len(id2label) if id2label else 2)
    chat_template = tok.chat_template if isinstance(getattr(tok, "chat_template", None), str) else None
    if head == TOKEN:
        if step_tag is None:
            raise ImportRefused(cfg_file, f"{config.get('architectures', ['?'])[0]} is a process reward model (a score per token): pass --step-tag, the token that ends each step (e.g. <extra_0>)")
        if num_labels != 2:
            raise ImportRefused(cfg_file, f"a process reward model needs 2 labels per position (step wrong, step right); this one has {num_labels}")
        added = {t.content for t in tok.backend_tokenizer.get_added_tokens_decoder().values()}
        if step_tag not in added:
            raise ImportRefused(hf_dir, f"step tag {step_tag!r} is not an added token of the tokenizer, so it may not be one id wherever it occurs; add it as a special token first")
    elif step_tag is not None:
        raise ImportRefused(cfg_file, f"--step-tag is for a *{TOKEN} process reward model; {config.get('architectures', ['?'])[0]} gives one score per item")

    if chat_template is not None:
        input_format = "chat"
    elif kind == ENCODER and _pair_template(tok):
        input_format = "pair"
    else:
        input_format = "template"
    return Checkpoint(
        dir=hf_dir, config=config, architecture=(config.get("architectures") or [cls.__name__])[0], model_type=model_type,
        family=family, kind=kind, head=head, model_class=cls, tokenizer=tok, pad_token_id=int(pad), num_labels=int(num_labels),
        id2label=id2label, chat_template=chat_template, input_format=input_format,
    )


def load_model(ck: Checkpoint, pad_token_id_override: int | None = None):
    """The transformers model in float32, eager attention (it exports; SDPA with GQA does not)."""
    try:
        model, info = ck.model_class.from_pretrained(
            ck.dir, dtype=torch.float32, attn_implementation="eager", local_files_only=True, output_loading_info=True,
        )
    except Exception as err:
        raise ImportRefused(os.path.join(ck.dir, "config.json"), f"{ck.model_class.__name__} cannot load this checkpoint ({first_line(err)})") from None
    missing = [k for k in info.get("missing_keys", []) if k]
    if missing:
        shown = ", ".join(sorted(missing)[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise ImportRefused(ck.dir, f"the weights lack {shown}: transformers would initialize them at random, so the rewards would mean nothing (is this a base model rather than a reward model?)")
    if pad_token_id_override is not None:
        model.config.pad_token_id = pad_token_id_override
        text = model.config.get_text_config()
        text.pad_token_id = pad_token_id_override
    model.eval()
    return model


def max_positions(config: dict) -> int | None:
    text = config.get("text_config") or {}
    for key in POSITION_KEYS:
        for source in (config, text):
            v = source.get(key)
            if isinstance(v, int) and v > 0:
                return v
    return None
