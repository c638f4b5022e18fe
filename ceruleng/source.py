"""Source positions: the first stage's output that every later stage carries.

Input: a file's text. Output: `Span` values (file, line, column, 1-based) that travel from the YAML loader through
expression parsing, checking and scoring to every diagnostic and trace line, and `SourceText`, which turns a span back
into the line of text a person sees under a diagnostic. Imports nothing from ceruleng.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Where something the user wrote stands: 1-based line and column, and where it ends (inclusive line)."""

    path: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def sort_key(self) -> tuple[str, int, int]:
        return (self.path, self.line, self.column)


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
"""A line break as YAML 1.1 and libyaml read one."""


class SourceText:
    """The text of one file, split into lines once, so diagnostics can quote the offending line."""

    __slots__ = ("_line_starts", "lines", "path", "text")

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = _LINE_BREAK.split(text)
        if not self.lines[-1]:
            self.lines.pop()  # a final line break ends the last line; it starts no other
        self._line_starts: list[int] | None = None

    def span_at(self, index: int) -> Span:
        """The span of character `index` of the text (0-based), as 1-based line and column. Lines end where
        YAML ends them (libyaml's marks count the same way): at CR LF, LF, a CR alone (old Mac files), NEL, LS
        and PS."""
        if self._line_starts is None:
            starts = [0]
            starts.extend(match.end() for match in _LINE_BREAK.finditer(self.text))
            self._line_starts = starts
        line = bisect_right(self._line_starts, index)
        return Span(self.path, line, index - self._line_starts[line - 1] + 1)

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, or '' when it is out of range (an error at end of file)."""
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return ""


def nowhere(path: str) -> Span:
    """The span of a whole file, for problems that belong to no particular line (an unreadable file)."""
    return Span(path, 1, 1)
