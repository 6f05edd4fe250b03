"""Writes test/fixtures/chat-templates/golden.json: every (template, conversation) rendered by
Python Jinja2 with transformers' settings (../hf_jinja.py), add_generation_prompt false.

Run from the repository root, after npm ci (three templates come from devDependencies):
    /usr/bin/python3 models/build/chat-templates/render_golden.py
Inputs: test/fixtures/chat-templates/templates.json (where each template and its special
tokens come from) and conversations.json. A message whose content is a list of text parts is
joined with "\n" first, as vLLM does for text-only models (the service does the same).
Deterministic: the same inputs give byte-identical output.
"""
import json
import os
import sys

import jinja2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_jinja import render, special_tokens  # noqa: E402

FIXTURES = "test/fixtures/chat-templates"


def load_template(spec):
    if "tokenizer_config" in spec:
        with open(spec["tokenizer_config"], encoding="utf-8") as f:
            cfg = json.load(f)
        return cfg["chat_template"], special_tokens(cfg)
    with open(spec["file"], encoding="utf-8") as f:
        return f.read(), spec["special_tokens"]


def join_parts(message):
    content = message.get("content")
    if isinstance(content, list):
        message = {**message, "content": "\n".join(p["text"] for p in content)}
    return message


def main():
    with open(os.path.join(FIXTURES, "templates.json"), encoding="utf-8") as f:
        templates = json.load(f)
    with open(os.path.join(FIXTURES, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    out = []
    for name, spec in templates.items():
        source, tokens = load_template(spec)
        for conv in conversations:
            messages = [join_parts(m) for m in conv["messages"]]
            row = {"template": name, "conversation": conv["id"]}
            try:
                row["text"] = render(source, messages, tokens)
            except jinja2.TemplateError as e:
                row["error"] = f"{type(e).__name__}: {e}"
            except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
                # A template that fails on a shape it does not expect refuses it (transformers raises too).
                row["error"] = f"{type(e).__name__}: {e}"
            out.append(row)
    with open(os.path.join(FIXTURES, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    refused = sum("error" in r for r in out)
    print(f"wrote {len(out)} renders ({refused} refused) of {len(templates)} templates x {len(conversations)} conversations")


if __name__ == "__main__":
    main()
