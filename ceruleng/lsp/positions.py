"""Positions for the editor: checker spans (1-based, end sometimes unknown) → 0-based ranges, and back to indexes.

Input: a spec's text and `Span`s from the loader, the schema check and the expression parser. Output: `Range`s of
0-based lines and code-point columns, clamped to the text, so no span — past the end of the file, on a line that
an edit has since removed — can make a feature fail. The server converts code points to the client's units
(UTF-16 unless negotiated otherwise); nothing here knows about the protocol.

Lines end at CR LF, LF or a CR alone, as the protocol and the loader's `SourceText.span_at` count them (the
loader also ends lines at NEL, LS and PS, as YAML does; the protocol does not).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from ceruleng.source import Span

_WORD = re.compile(r"\w+")
_EOL = re.compile("\r\n|[\n\r]")
"""A line end as the protocol counts one (CR LF, LF, or a CR alone, as the loader's `SourceText` does too)."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """0-based line, and column in code points (characters of a Python str)."""

    line: int
    character: int


@dataclass(frozen=True, slots=True)
class Range:
    start: Position
    end: Position

    def contains(self, position: Position) -> bool:
        return self.start <= position <= self.end

    def overlaps(self, other: Range) -> bool:
        return self.start <= other.end and other.start <= self.end


class Lines:
    """A text's line starts, to turn positions into indexes and back (both clamped to the text)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        self._ends: list[int] = []
        for match in _EOL.finditer(text):
            self._ends.append(match.start())
            self.starts.append(match.end())
        self._ends.append(len(text))

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, number: int) -> str:
        """Line `number` (0-based) without its line break; '' outside the text."""
        if not 0 <= number < len(self.starts):
            return ""
        return self.text[self.starts[number] : self._ends[number]]

    def clamp(self, position: Position) -> Position:
        if position.line < 0:
            return Position(0, 0)
        if position.line >= len(self.starts):
            last = len(self.starts) - 1
            return Position(last, len(self.line(last)))
        return Position(position.line, max(0, min(position.character, len(self.line(position.line)))))

    def index(self, position: Position) -> int:
        """The index in the text of a position (clamped into the text)."""
        clamped = self.clamp(position)
        return self.starts[clamped.line] + clamped.character

    def position(self, index: int) -> Position:
        index = max(0, min(index, len(self.text)))
        line = bisect_right(self.starts, index) - 1
        return self.clamp(Position(line, index - self.starts[line]))


def span_range(span: Span, lines: Lines) -> Range:
    """The range a span covers. A span without an end (an expression token) covers the word at its start — the
    misspelt name or the unexpected token — or one character."""
    start = lines.clamp(Position(span.line - 1, span.column - 1))
    if span.end_line > 0:
        end = lines.clamp(Position(span.end_line - 1, span.end_column - 1))
        if end >= start:
            return Range(start, end)
    text = lines.line(start.line)
    word = _WORD.match(text, start.character)
    width = word.end() - start.character if word else min(1, len(text) - start.character)
    return Range(start, Position(start.line, start.character + width))


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def to_client(lines: Lines, position: Position, encoding: str = "utf-16") -> tuple[int, int]:
    """A position as (line, column in the client's code units): UTF-16 unless the client chose another encoding."""
    position = lines.clamp(position)
    return position.line, _units(lines.line(position.line)[: position.character], encoding)


def from_client(lines: Lines, line: int, units: int, encoding: str = "utf-16") -> Position:
    """A client's (line, column in its code units) as a code-point position; a column inside a character (half of
    a surrogate pair) or past the line's end lands on the nearest character boundary at or before it."""
    if line < 0:
        return Position(0, 0)
    if line >= len(lines):
        return lines.clamp(Position(line, 0))
    text = lines.line(line)
    count = 0
    for index, char in enumerate(text):
        width = _units(char, encoding)
        if count + width > units:
            return Position(line, index)
        count += width
    return Position(line, len(text))
