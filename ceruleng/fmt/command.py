"""`ceruleng fmt [--check | --diff] PATH...`: format spec files in place, or say which would change.

Input: paths (spec files, or folders whose spec files are formatted) and a mode. Output: lines for the person
running it and the exit code: 0 nothing to do (or every file rewritten), 1 with --check or --diff when a file is not
in its canonical layout, 2 when a file cannot be formatted safely (it is left untouched) or cannot be read.
Files that are not specs (no top-level `ceruleng:` key: member logs, CI files) are skipped and named, so the
pre-commit hook can be given every YAML file of a repository.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ceruleng.files import scan_spec_files
from ceruleng.fmt.formatter import Formatted, format_file
from ceruleng.outputs import replaced_file

Echo = Callable[[str, bool], None]
"""Prints one line: (text, to standard error)."""


@dataclass
class FmtRun:
    """What one `fmt` run did, counted for its closing line and exit code."""

    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: int = 0
    skipped: int = 0

    def exit_code(self, report_only: bool) -> int:
        if self.refused:
            return 2
        return 1 if report_only and self.changed else 0


def run_fmt(paths: Iterable[str], check: bool, diff: bool, echo: Echo) -> int:
    """Format every spec under `paths`; with `check` or `diff`, write nothing and report instead."""
    files, skipped = scan_spec_files(paths)
    run = FmtRun(skipped=len(skipped))
    for path, reason in skipped:
        echo(f"skipped {path}: {reason}", True)
    for path in files:
        _one(format_file(path), check, diff, echo, run)
    echo(_closing_line(run, check or diff), True)
    return run.exit_code(check or diff)


def _one(result: Formatted, check: bool, diff: bool, echo: Echo, run: FmtRun) -> None:
    if result.skipped is not None:
        run.skipped += 1
        echo(f"skipped {result.path}: {result.skipped}", True)
    elif result.problem is not None or result.text is None:
        run.refused += 1
        echo(f"ceruleng: cannot format {result.path}: {result.problem}", True)
    elif not result.changed:
        run.unchanged += 1
    else:
        run.changed.append(result.path)
        if diff:
            echo(unified_diff(result), False)
        if check and not diff:
            echo(f"would reformat {result.path}", False)
        if not (check or diff):
            write_in_place(result.path, result.text)
            echo(f"reformatted {result.path}", False)


def unified_diff(result: Formatted) -> str:
    before = (result.original or "").splitlines(keepends=True)
    after = (result.text or "").splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, f"{result.path}", f"{result.path} (formatted)")).rstrip("\n")


def _closing_line(run: FmtRun, report_only: bool) -> str:
    verb = "would be reformatted" if report_only else "reformatted"
    parts = [f"{_specs(len(run.changed))} {verb}", f"{_specs(run.unchanged)} already formatted"]
    if run.refused:
        parts.append(f"{_specs(run.refused)} could not be formatted")
    if run.skipped:
        parts.append(f"{run.skipped} not a spec, skipped")
    return ", ".join(parts)


def _specs(count: int) -> str:
    return f"{count} spec{'' if count == 1 else 's'}"


def write_in_place(path: str, text: str) -> None:
    """Replace a file's text atomically, keeping its mode; a symlink is written through (its target changes)."""
    with replaced_file(Path(path)) as stream:
        stream.write(text)
