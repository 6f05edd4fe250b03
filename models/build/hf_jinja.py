"""Render a chat template exactly as transformers' apply_chat_template does (Python Jinja2).

This is the independent reference for the service's own rendering: the same environment
settings, filters and globals that transformers sets up in `_compile_jinja_template`
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson with
ensure_ascii=False, raise_exception, strftime_now), and the same variables passed to `render`
(messages, tools, documents, add_generation_prompt, and the tokenizer's special tokens).

Needs Debian's python3-jinja2 (Jinja2 3.1); run with /usr/bin/python3.
"""
import json
from datetime import datetime

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class _GenerationTag(Extension):
    """transformers' AssistantTracker: `{% generation %}…{% endgeneration %}` renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


def compile_template(source):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[_GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(source)


def special_tokens(tokenizer_config):
    """The `*_token` fields of tokenizer_config.json as strings ({content} objects unwrapped)."""
    out = {}
    for key, value in tokenizer_config.items():
        if not key.endswith("_token"):
            continue
        if isinstance(value, dict) and isinstance(value.get("content"), str):
            value = value["content"]
        if isinstance(value, str):
            out[key] = value
    return out


def render(source, messages, tokens, add_generation_prompt=False, tools=None, documents=None):
    """Returns the rendered text, or raises jinja2.TemplateError when the template refuses."""
    return compile_template(source).render(
        messages=messages, tools=tools, documents=documents, add_generation_prompt=add_generation_prompt, **tokens
    )
