"""Reason templates: sentences for members with `{expression}` placeholders.

Input: a template's text (from `reason`, `explain`, bound reasons). Output: its literal parts and placeholder
expressions with their offsets (the compiler parses and checks them like any expression), and, at report time, the
sentence rendered from the values the scoring code captured. Rendering is deferred until a report asks for it, so
scoring a batch never formats a sentence nobody reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import partial
from typing import Any

from ceruleng.values import CONTEXT, format_credits, format_value


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Placeholder:
    text: str
    offset: int


def split(template: str) -> list[str | Placeholder]:
    """Literal text and placeholders, in order. `{{` and `}}` stand for literal braces."""
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if template.startswith("{{", index) or template.startswith("}}", index):
            literal.append(char)
            index += 2
            continue
        if char == "}":
            raise TemplateSyntaxError("'}' without a matching '{' (write '}}' for a brace)", index)
        if char != "{":
            literal.append(char)
            index += 1
            continue
        end = _closing_brace(template, index)
        inner = template[index + 1 : end]
        if not inner.strip():
            raise TemplateSyntaxError("empty placeholder '{}'", index)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Placeholder(inner, index + 1))
        index = end + 1
    if literal:
        parts.append("".join(literal))
    return parts


def _closing_brace(template: str, start: int) -> int:
    quote: str | None = None
    for index in range(start + 1, len(template)):
        char = template[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "}":
            return index
        elif char == "{":
            break
    raise TemplateSyntaxError("'{' without a matching '}' (write '{{' for a brace)", start)


@dataclass
class Template:
    """A compiled template: literal parts, how each placeholder prints, and how its values are computed.

    Scoring captures only the locals a template reads; `compute` (generated with the spec's module) turns them into
    the placeholder values when the sentence is rendered. Without `compute`, the captured values are the values.
    """

    parts: tuple[str | int, ...]
    formatters: tuple[Callable[[Any], str], ...]
    compute: Callable[..., tuple[Any, ...]] | None = None
    code: str = ""
    """The code of the sentences it writes (`ceruleng.reasoncodes`): the spec rule's, or an engine code."""
    _cache: dict[Any, str] = field(default_factory=dict, repr=False, compare=False)

    def render(self, args: Sequence[Any]) -> str:
        """The sentence for captured values; identical values (a batch is full of them) are rendered once."""
        try:
            found = self._cache.get(args)
        except TypeError:  # a captured list: not hashable, render it every time
            return self._render(args)
        if found is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            found = self._cache[args] = self._render(args)
        return found

    def _render(self, args: Sequence[Any]) -> str:
        values = args
        if self.compute is not None:
            try:
                with localcontext(CONTEXT):
                    values = self.compute(*args)
            except Exception:
                return "".join(part if isinstance(part, str) else "(unavailable)" for part in self.parts)
        return "".join(part if isinstance(part, str) else self.formatters[part](values[part]) for part in self.parts)


CACHE_SIZE = 4096
"""Rendered sentences kept per template."""


def credits_formatter(places: int) -> Callable[[Any], str]:
    """How `{credits}` prints: at the spec's precision (0.1, 1.25, 3). A partial of a module function rather than
    a closure, so a compiled spec's templates can be pickled into the compiled-spec cache (`ceruleng.speccache`)."""
    return partial(_render_credits, places=places)


def _render_credits(value: Any, places: int) -> str:
    return format_credits(value, places) if isinstance(value, Decimal) else format_value(value)


def build(parts: Sequence[str | Placeholder], formatters: Sequence[Callable[[Any], str]], code: str = "") -> Template:
    numbered: list[str | int] = []
    count = 0
    for part in parts:
        if isinstance(part, str):
            numbered.append(part)
        else:
            numbered.append(count)
            count += 1
    return Template(tuple(numbered), tuple(formatters), code=code)


def plain(text: str) -> Template:
    """A template without placeholders (messages the engine itself writes)."""
    return Template((text,), ())


VALUE_FORMAT: Callable[[Any], str] = format_value
