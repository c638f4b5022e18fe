"""Text that cannot be encoded: strings holding a lone surrogate, and the marker readers put in their place.

Input: strings from JSON (`"\\udc41"`) or YAML double-quoted scalars, which Python accepts. Output: the same text with
its surrogates escaped, or an `UnencodableText` marker. Imports nothing (the check cache's start-up path reads it).
"""

from __future__ import annotations

import re


class UnencodableText:
    """Text from an input that holds a lone surrogate ("\\udc41" in JSON or YAML): Python accepts it, but it is not
    Unicode and cannot be written as UTF-8, so readers put this marker in its place. Every field reader refuses it
    (the record is malformed, the reason shows the text with the surrogate escaped), and no writer ever meets it.
    """

    __slots__ = ("shown",)

    def __init__(self, text: str) -> None:
        self.shown = escape_surrogates(text)

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"UnencodableText({self.shown!r})"


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate code point: in a str it is always unpaired (a pair would have decoded to one character)."""


def escape_surrogates(text: str) -> str:
    """The text with each lone surrogate written as its escape (\\udc41), so it can be encoded."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
