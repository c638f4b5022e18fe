"""`ceruleng check` with an on-disk cache: a spec whose bytes, dependencies and checker are unchanged is not
checked again.

Input: spec paths. Output: per file, its text and diagnostics — from the cache when the spec file, every file it
reads (cited source texts, CSV tables) and ceruleng itself are byte-for-byte what they were, otherwise from
`engine.check_text`, whose diagnostics are then stored. A cache hit imports neither the YAML loader nor the
expression parser, which is what keeps `check` well under its start-up budget.

Where: $CERULENG_CACHE_DIR, else $XDG_CACHE_HOME/ceruleng, else ~/.cache/ceruleng. `--no-cache` or
CERULENG_NO_CACHE=1 turns it off; a cache that cannot be read or written is ignored, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ceruleng import __version__
from ceruleng.errors import Diagnostic, Severity
from ceruleng.files import read_spec_source
from ceruleng.report.diagnostics import FileDiagnostics
from ceruleng.schema import schema_text
from ceruleng.source import SourceText, Span

FORMAT = 1


def cache_dir() -> Path | None:
    if os.environ.get("CERULENG_NO_CACHE"):
        return None
    configured = os.environ.get("CERULENG_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "ceruleng" if base else Path.home() / ".cache" / "ceruleng"


@cache
def checker_fingerprint() -> str:
    """Identifies this ceruleng: its version and the size and time of every file of the package."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{__version__}|{FORMAT}".encode())
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".lark", ".json") and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(package)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    digest.update(schema_text("spec").encode())  # the schema may live outside the package (a source checkout)
    return digest.hexdigest()


def _file_hash(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _to_json(diagnostic: Diagnostic) -> dict[str, Any]:
    span = diagnostic.span
    return {"code": diagnostic.code, "message": diagnostic.message, "path": span.path, "line": span.line,
            "column": span.column, "severity": diagnostic.severity.value, "hint": diagnostic.hint}


def _from_json(item: dict[str, Any]) -> Diagnostic:
    return Diagnostic(item["code"], item["message"], Span(item["path"], item["line"], item["column"]),
                      Severity(item["severity"]), item["hint"])


def _lookup(entry_path: Path) -> list[Diagnostic] | None:
    try:
        entry = json.loads(entry_path.read_text(encoding="utf-8"))
        if any(_file_hash(path) != digest for path, digest in entry["dependencies"].items()):
            return None
        return [_from_json(item) for item in entry["diagnostics"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(entry_path: Path, diagnostics: list[Diagnostic], dependencies: list[str]) -> None:
    entry = {"dependencies": {path: _file_hash(path) for path in dependencies},
             "diagnostics": [_to_json(d) for d in diagnostics]}
    try:
        entry_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = entry_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(temporary, entry_path)
    except OSError:
        pass


def check_paths(paths: Iterable[str], use_cache: bool = True) -> list[FileDiagnostics]:
    """Diagnostics for every spec file, using the cache where it is valid."""
    directory = cache_dir() if use_cache else None
    results = []
    for path in paths:
        found = read_spec_source(path)
        if isinstance(found, Diagnostic):
            results.append(FileDiagnostics(path, None, [found]))
            continue
        raw, text = found
        entry_path = None
        if directory is not None:
            key = hashlib.sha256(f"{checker_fingerprint()}|{path}|".encode() + raw).hexdigest()
            entry_path = directory / key[:2] / f"{key}.json"
            cached = _lookup(entry_path)
            if cached is not None:
                results.append(FileDiagnostics(path, SourceText(path, text), cached))
                continue
        from ceruleng.engine import check_text  # a cache miss: now the parsers are needed

        checked = check_text(text, path, generate=False)
        if entry_path is not None:
            _store(entry_path, checked.diagnostics, checked.dependencies)
        results.append(FileDiagnostics(path, checked.source, checked.diagnostics))
    return results
