"""Diagnostics for code-review tools: GitHub workflow annotations and SARIF 2.1.0.

Input: checked files (path, source, diagnostics) and the files a folder check skipped. Output: text.

- `render_github`: one workflow command per diagnostic, `::error file=PATH,line=L,col=C,title=ceruleng CODE::MESSAGE`
  (`::warning` for warnings, `::notice` for a skipped file), which GitHub Actions shows on the pull request's
  lines; then the summary line. Values are escaped as the Actions toolkit escapes them (`%`, CR, LF, and in
  properties `:` and `,`), so no message can end a command early or start another.
- `render_sarif`: one SARIF 2.1.0 log (one run, the rules that fired, one result per diagnostic with its region),
  for GitHub code scanning and other SARIF viewers. Paths become URI references relative to `%SRCROOT%` (the
  folder `check` ran in), absolute paths `file:` URIs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ceruleng import __version__
from ceruleng.errors import Diagnostic, sorted_diagnostics
from ceruleng.report.diagnostics import FileDiagnostics, summary, summary_line

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://ceruleng.dev/"


def _shown(files: Sequence[FileDiagnostics], max_errors: int | None) -> list[Diagnostic]:
    """Every diagnostic in order, errors capped at `max_errors` (warnings are never capped)."""
    shown, errors = [], 0
    for checked in files:
        for diagnostic in sorted_diagnostics(checked.diagnostics):
            if diagnostic.is_error:
                if max_errors is not None and errors >= max_errors:
                    continue
                errors += 1
            shown.append(diagnostic)
    return shown


def _message(diagnostic: Diagnostic) -> str:
    text = f"{diagnostic.message}"
    if diagnostic.hint:
        text += f" ({diagnostic.hint})" if diagnostic.hint.startswith("did you mean") else f"\nhint: {diagnostic.hint}"
    return text


# ---- GitHub Actions ----------------------------------------------------------------------------------------------


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(files: Sequence[FileDiagnostics], max_errors: int | None = None,
                  skipped: Sequence[tuple[str, str]] = ()) -> str:
    lines = []
    for path, reason in skipped:
        lines.append(f"::notice file={escape_property(path)},title={escape_property('ceruleng skipped')}::"
                     f"{escape_data(reason)}")
    for diagnostic in _shown(files, max_errors):
        span = diagnostic.span
        place = f"file={escape_property(span.path)},line={span.line},col={span.column}"
        title = escape_property(f"ceruleng {diagnostic.code}")
        lines.append(f"::{diagnostic.severity.value} {place},title={title}::{escape_data(_message(diagnostic))}")
    errors, warnings = summary(files)
    lines.append(summary_line(len(files), errors, warnings))
    return "\n".join(lines) + "\n"


# ---- SARIF -------------------------------------------------------------------------------------------------------


def artifact_uri(path: str) -> tuple[str, str | None]:
    """(uri, uriBaseId) for a path as `check` printed it."""
    target = Path(path)
    if target.is_absolute():
        return target.as_uri(), None
    return quote(target.as_posix(), safe="/-._~"), "%SRCROOT%"


def _location(path: str, line: int | None = None, column: int | None = None) -> dict[str, Any]:
    uri, base = artifact_uri(path)
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line is not None and column is not None:
        physical["region"] = {"startLine": max(line, 1), "startColumn": max(column, 1)}
    return {"physicalLocation": physical}


def render_sarif(files: Sequence[FileDiagnostics], max_errors: int | None = None,
                 skipped: Sequence[tuple[str, str]] = ()) -> str:
    shown = _shown(files, max_errors)
    codes = sorted({d.code for d in shown})
    index = {code: number for number, code in enumerate(codes)}
    levels = {d.code: d.severity.value for d in shown}
    results = [{
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": d.severity.value,
        "message": {"text": _message(d)},
        "locations": [_location(d.span.path, d.span.line, d.span.column)],
    } for d in shown]
    notifications = [{"level": "note", "message": {"text": f"skipped {path}: {reason}"},
                      "locations": [_location(path)]} for path, reason in skipped]
    root = Path.cwd().as_uri() + "/"
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "ceruleng",
            "version": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [{"id": code, "name": code,
                       "shortDescription": {"text": f"ceruleng check: {code.replace('-', ' ')}"},
                       "defaultConfiguration": {"level": levels[code]}} for code in codes],
        }},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root}},
        "columnKind": "unicodeCodePoints",
        "artifacts": [{"location": _location(f.path)["physicalLocation"]["artifactLocation"]} for f in files],
        "results": results,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
