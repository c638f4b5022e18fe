"""Diagnostics as people and tools read them.

Input: checked files (path, source text, diagnostics). Output: text — `PATH:LINE:COL: error[code]: message`, the
source line, a caret under the column, a `hint:` line — or JSON for tools; and a closing summary line. "Did you
mean" hints join the first line, as compilers print them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ceruleng.errors import Diagnostic, SpecError, sorted_diagnostics
from ceruleng.report.cells import shown
from ceruleng.source import SourceText


@dataclass(frozen=True)
class FileDiagnostics:
    path: str
    source: SourceText | None
    diagnostics: Sequence[Diagnostic]


def render_one(diagnostic: Diagnostic, source: SourceText | None) -> str:
    """One diagnostic: the headline, the quoted source line with a caret, and a hint line."""
    span = diagnostic.span
    headline = f"{_visible(str(span))}: {diagnostic.severity.value}[{diagnostic.code}]: {_visible(diagnostic.message)}"
    hint = diagnostic.hint and _visible(diagnostic.hint)
    if hint and hint.startswith("did you mean"):
        headline += f" ({hint})"
        hint = None
    lines = [headline]
    text = source.line(span.line) if source else ""
    if text.strip():
        number = str(span.line)
        cut = text if len(text) <= 200 else text[:200] + "…"
        quoted = _visible(cut)
        lines.append(f" {number} | {quoted}")
        before = _visible(cut[: min(span.column - 1, len(cut))])  # an escape moves the caret as far as it is wide
        padding = "".join("\t" if char == "\t" else " " for char in before)
        lines.append(f" {' ' * len(number)} | {padding}^")
    if hint:
        lines.append(f" {' ' * len(str(span.line))} = hint: {hint}")
    return "\n".join(lines)


def _visible(text: str) -> str:
    """Text from a spec as a terminal may show it: control and bidirectional characters written as escapes (a
    spec under review must not retitle the terminal nor reorder the line it is quoted on); tabs stay tabs, so the
    caret still lines up under them."""
    return "\t".join(shown(part) for part in text.split("\t")) if "\t" in text else shown(text)


def summary(files: Sequence[FileDiagnostics]) -> tuple[int, int]:
    errors = sum(1 for f in files for d in f.diagnostics if d.is_error)
    warnings = sum(1 for f in files for d in f.diagnostics if not d.is_error)
    return errors, warnings


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def spec_error_files(error: SpecError) -> list[FileDiagnostics]:
    """A SpecError's diagnostics by file, in the order the files first appear, each with its text for quoting."""
    paths = list(dict.fromkeys(d.span.path for d in error.diagnostics))
    return [FileDiagnostics(path, error.sources.get(path), [d for d in error.diagnostics if d.span.path == path])
            for path in paths]


def render_text(files: Sequence[FileDiagnostics], max_errors: int | None = None,
                skipped: Sequence[tuple[str, str]] = ()) -> str:
    """Every diagnostic (errors capped at `max_errors`), sorted by position, the files a folder check skipped and
    why, then the summary line."""
    blocks: list[str] = []
    shown_errors = 0
    hidden = 0
    for checked in files:
        for diagnostic in sorted_diagnostics(checked.diagnostics):
            if diagnostic.is_error:
                if max_errors is not None and shown_errors >= max_errors:
                    hidden += 1
                    continue
                shown_errors += 1
            blocks.append(render_one(diagnostic, checked.source))
    errors, warnings = summary(files)
    if hidden:
        blocks.append(f"... {_plural(hidden, 'more error')} not shown (--max-errors {max_errors})")
    blocks.extend(f"skipped {path}: {reason}" for path, reason in skipped)
    blocks.append(summary_line(len(files), errors, warnings))
    return "\n".join(blocks) + "\n"


def summary_line(file_count: int, errors: int, warnings: int) -> str:
    checked = f"checked {_plural(file_count, 'spec')}"
    if not errors and not warnings:
        return f"{checked}: no problems"
    return f"{checked}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def render_json(files: Sequence[FileDiagnostics], max_errors: int | None = None,
                skipped: Sequence[tuple[str, str]] = ()) -> str:
    """The diagnostics for tools; `skipped` (files a folder check passed over, with why) only when there are some."""
    items = []
    shown_errors = 0
    for checked in files:
        for diagnostic in sorted_diagnostics(checked.diagnostics):
            if diagnostic.is_error:
                if max_errors is not None and shown_errors >= max_errors:
                    continue
                shown_errors += 1
            items.append({
                "path": diagnostic.span.path,
                "line": diagnostic.span.line,
                "column": diagnostic.span.column,
                "severity": diagnostic.severity.value,
                "code": diagnostic.code,
                "message": diagnostic.message,
                "hint": diagnostic.hint,
            })
    errors, warnings = summary(files)
    document: dict[str, object] = {
        "files": [checked.path for checked in files],
        "diagnostics": items,
        "summary": {"files": len(files), "errors": errors, "warnings": warnings},
    }
    if skipped:
        document["skipped"] = [{"path": path, "reason": reason} for path, reason in skipped]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
