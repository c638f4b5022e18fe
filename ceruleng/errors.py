"""Diagnostics and the package's exception types, shared by every stage.

Input: a code, a message and a `Span` from whichever stage found a problem. Output: `Diagnostic` records that are
collected (never raised one at a time), sorted by position and rendered by `ceruleng.report.diagnostics`. Exceptions
exist only to carry a batch of diagnostics, or one I/O failure, out of a stage. Imports only `source`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ceruleng.source import SourceText, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a spec: a stable kebab-case `code` tools can match on, and a message for people."""

    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (*self.span.sort_key(), self.code)


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """By file, line, column, code; exact repeats (one mistake reached twice) dropped."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


MAX_SUGGESTION_LENGTH = 100
"""Longest word (and choice) a "did you mean" is looked for: difflib's cost grows with the product of the lengths,
and no misspelt name is that long (a 1 MB spec id in a record gets no hint instead of seconds of work)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt word, or None when nothing is close (or the word is absurdly long)."""
    if len(word) > MAX_SUGGESTION_LENGTH:
        return None
    from difflib import get_close_matches  # local: only error paths pay for difflib

    close = get_close_matches(word, [c for c in choices if len(c) <= MAX_SUGGESTION_LENGTH], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class CerulengError(Exception):
    """Base of every error ceruleng raises on purpose; anything else escaping is a bug."""


class SpecError(CerulengError):
    """Specs could not be loaded: carries every diagnostic of the broken files, errors and warnings alike, and their
    texts (by path) so a report can quote the offending lines."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, SourceText] | None = None) -> None:
        self.diagnostics = sorted_diagnostics(diagnostics)
        self.sources = sources or {}
        first = next((d for d in self.diagnostics if d.is_error), None)
        summary = f"{first.span}: error[{first.code}]: {first.message}" if first else "spec has errors"
        super().__init__(summary)


class InputError(CerulengError):
    """A file could not be read or written at all (missing, unreadable, a folder): exit code 2, one line."""


class ExpressionError(CerulengError):
    """An expression failed to parse or check; carries its diagnostics (used by the expression API)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(f"{first.span}: error[{first.code}]: {first.message}" if first else "bad expression")
