"""The items an import is verified on, rendered and tokenized by transformers itself (the
checkpoint's own `apply_chat_template` and tokenizer), and the HH-RLHF pairs int8 is judged on.
Texts are invented and benign; HH texts are never printed."""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass

from .checkpoint import TOKEN, Checkpoint

_LONG = (
    "A reward model reads the whole conversation and returns one number. To keep it honest, the "
    "service scores every item exactly as the checkpoint would in transformers: the same chat "
    "template, the same special tokens, the same pooling at the last real token. "
)

#: (name, messages). Every one alternates user and assistant after an optional system turn and
#: ends with an assistant turn, so that every chat template accepts it.
CONVERSATIONS: list[tuple[str, list[dict]]] = [
    ("hello", [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello! How can I help you today?"}]),
    ("system", [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "How do I boil an egg?"},
        {"role": "assistant", "content": "Simmer it for nine minutes, then cool it in cold water."},
    ]),
    ("multi-turn", [
        {"role": "user", "content": "Name a prime number."},
        {"role": "assistant", "content": "7 is prime."},
        {"role": "user", "content": "And one greater than 100?"},
        {"role": "assistant", "content": "101 is the smallest prime greater than 100."},
    ]),
    ("code", [
        {"role": "user", "content": "Write a Python function that returns 1."},
        {"role": "assistant", "content": "\n    def f():\n        return 1\n"},
    ]),
    ("unicode", [
        {"role": "user", "content": "Traduis « bonjour » en japonais, s'il te plaît 🙂"},
        {"role": "assistant", "content": "こんにちは (konnichiwa) — 你好 in Chinese. 👋🏽"},
    ]),
    ("spaces", [{"role": "user", "content": "  padded question  "}, {"role": "assistant", "content": "  padded answer\t"}]),
    ("math", [
        {"role": "user", "content": "What is 12 * 13?"},
        {"role": "assistant", "content": "12 * 13 = 12 * 10 + 12 * 3 = 120 + 36 = 156."},
    ]),
    ("medium", [
        {"role": "user", "content": "Explain how the reward service stays exact."},
        {"role": "assistant", "content": _LONG * 4},
    ]),
    ("long", [
        {"role": "user", "content": "Explain it again, at length."},
        {"role": "assistant", "content": _LONG * 14},
    ]),
]

#: Steps for a process reward model: (prompt, steps).
STEP_ITEMS: list[tuple[str, list[str]]] = [
    ("What is 2 + 3 * 4?", ["Multiply first: 3 * 4 = 12.", "Then add: 2 + 12 = 14.", "The answer is 14."]),
    ("Is 91 prime?", ["91 = 7 * 13.", "So 91 is not prime."]),
    ("Sum 1..10.", ["The sum is 10 * 11 / 2.", "That is 55."]),
]


@dataclass
class Item:
    """One verification item: its name, its token ids (and token type ids for pair input)."""

    name: str
    ids: list[int]
    type_ids: list[int] | None = None


def _turns(messages: list[dict]) -> tuple[str, str]:
    """(prompt, response) of a conversation: its first user turn and its last assistant turn."""
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    return prompt, messages[-1]["content"]


def render(ck: Checkpoint, messages: list[dict]) -> tuple[list[int], list[int] | None]:
    """Ids (and type ids) of one conversation as the service renders it, by transformers' own code."""
    tok = ck.tokenizer
    if ck.input_format == "chat":
        text = tok.apply_chat_template(messages, tokenize=False)
        return tok(text, add_special_tokens=False)["input_ids"], None
    prompt, response = _turns(messages)
    if ck.input_format == "pair":
        enc = tok(prompt, response, add_special_tokens=True, return_token_type_ids=True)
        return enc["input_ids"], enc.get("token_type_ids")
    return tok(f"\n\nHuman: {prompt}\n\nAssistant: {response}", add_special_tokens=True)["input_ids"], None


def verification_items(ck: Checkpoint, max_length: int, step_tag: str | None) -> tuple[list[Item], list[str]]:
    """The items to verify on, each within max_length; and the names of those skipped (why)."""
    items: list[Item] = []
    skipped: list[str] = []
    convs = list(CONVERSATIONS)
    if ck.head == TOKEN:
        convs = [
            (f"steps-{i}", [{"role": "user", "content": p}, {"role": "assistant", "content": "".join(s + step_tag for s in steps)}])
            for i, (p, steps) in enumerate(STEP_ITEMS)
        ] + convs[:3]
    for name, messages in convs:
        try:
            ids, type_ids = render(ck, messages)
        except Exception as err:  # a chat template may refuse a system turn (Gemma's do)
            skipped.append(f"{name} (the chat template refused it: {str(err).splitlines()[0][:120]})")
            continue
        if len(ids) > max_length:
            skipped.append(f"{name} ({len(ids)} tokens > max_length {max_length})")
            continue
        items.append(Item(name, ids, type_ids))
    return items, skipped


def _hh_turns(text: str) -> list[dict]:
    """An HH-RLHF dialogue ("\\n\\nHuman: …\\n\\nAssistant: …") as chat messages."""
    messages: list[dict] = []
    for chunk in text.split("\n\nHuman: ")[1:]:
        human, _, rest = chunk.partition("\n\nAssistant: ")
        messages.append({"role": "user", "content": human.strip()})
        for part in rest.split("\n\nAssistant: "):
            messages.append({"role": "assistant", "content": part.strip()})
    # Chat templates want alternating turns: merge consecutive turns of one role.
    merged: list[dict] = []
    for m in messages:
        if merged and merged[-1]["role"] == m["role"]:
            merged[-1]["content"] += "\n\n" + m["content"]
        else:
            merged.append(dict(m))
    return merged


def read_hh_pairs(path: str, limit: int) -> list[tuple[list[dict], list[dict]]]:
    """Up to `limit` (chosen, rejected) HH pairs as conversations ending with an assistant turn."""
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    opener = gzip.open if path.endswith(".gz") else open
    pairs = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if len(pairs) >= limit:
                break
            row = json.loads(line)
            chosen, rejected = _hh_turns(row["chosen"]), _hh_turns(row["rejected"])
            if chosen and rejected and chosen[-1]["role"] == "assistant" and rejected[-1]["role"] == "assistant":
                pairs.append((chosen, rejected))
    return pairs
