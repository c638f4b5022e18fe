"""`ceruleng check` with an on-disk cache: a spec whose bytes, dependencies and checker are unchanged is not
checked again.

Input: spec paths. Output: per file, its text and diagnostics — from the cache when the spec file, every file it
reads (cited source texts, CSV tables) and ceruleng itself are byte-for-byte what they were, otherwise from
`engine.check_text`, whose diagnostics are then stored. A cache hit imports neither the YAML loader nor the
expression parser, which is what keeps `check` well under its start-up budget.

Where: $CERULENG_CACHE_DIR, else $XDG_CACHE_HOME/ceruleng, else ~/.cache/ceruleng. `--no-cache` or
CERULENG_NO_CACHE=1 turns it off; a cache that cannot be read or written is ignored, never an error.

What a cache entry cannot do, whoever wrote it: make a spec report other diagnostics than a fresh check would (a
broken spec clean, or a clean one broken), run code, or make `check` read a file the spec could not read itself.
- The folder is used only if it is a real folder (not a symlink) owned by the user running `check` and writable by
  no one else (created 0700); otherwise the cache is off. So another user cannot plant or edit entries, even when
  $CERULENG_CACHE_DIR points into a shared place such as /tmp.
- Every entry is JSON (never pickle), named by a hash of the checker, the spec's path and its bytes, and must say
  that same key inside; it carries an HMAC-SHA256 of its content under a random per-user secret kept in the folder
  (mode 0600). An entry that is truncated, hand-edited, copied from another user or machine, or stored under
  another key fails the MAC and is a miss; so is anything of the wrong shape, size (over MAX_ENTRY_BYTES), owner or
  type (a symlink, a FIFO).
- The files an entry depends on are named as the spec names them and re-read through `files.read_spec_file`, the
  same rule the compiler obeys (inside the spec's folder, regular, bounded), and their hashes must still match.
Not defended: someone who runs as the same user (they can change ceruleng itself).
The folder, its secret and the reading and writing of entries are `ceruleng.cachefolder`'s, shared with the
compiled-spec cache of `eval` (`ceruleng.speccache`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ceruleng.cachefolder import (
    FORMAT,
    cache_dir,
    checker_fingerprint,
    dependency_hash,
    entry_name,
    open_private,
    private_folder,
    secret,
    store_entry,
)
from ceruleng.errors import Diagnostic, Severity
from ceruleng.files import read_spec_source
from ceruleng.report.diagnostics import FileDiagnostics
from ceruleng.source import SourceText, Span

__all__ = ["FORMAT", "MAX_ENTRY_BYTES", "cache_dir", "check_paths", "checker_fingerprint"]

MAX_ENTRY_BYTES = 4 * 1024 * 1024
"""Largest entry read back; a spec's diagnostics are a few kilobytes."""
_ENTRY_KEYS = {"format", "key", "dependencies", "diagnostics", "mac"}
_DIAGNOSTIC_KEYS = {"code", "message", "path", "line", "column", "severity", "hint"}
_CODE = re.compile(r"[a-z][a-z0-9-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")


def _mac(secret: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(secret, canonical.encode("ascii"), hashlib.sha256).hexdigest()


# ---- entries -------------------------------------------------------------------------------------------------------


def _diagnostic_from(item: Any, spec_path: str) -> Diagnostic | None:
    """A stored diagnostic, or None if it is not exactly the shape `_to_json` writes."""
    if not isinstance(item, dict) or set(item) != _DIAGNOSTIC_KEYS:
        return None
    code, message, path, line, column, severity, hint = (item[key] for key in
                                                         ("code", "message", "path", "line", "column",
                                                          "severity", "hint"))
    if not (isinstance(code, str) and _CODE.fullmatch(code) and isinstance(message, str) and path == spec_path
            and type(line) is int and type(column) is int and line >= 1 and column >= 1
            and severity in ("error", "warning") and (hint is None or isinstance(hint, str))):
        return None
    return Diagnostic(code, message, Span(path, line, column), Severity(severity), hint)


def _to_json(diagnostic: Diagnostic) -> dict[str, Any]:
    span = diagnostic.span
    return {"code": diagnostic.code, "message": diagnostic.message, "path": span.path, "line": span.line,
            "column": span.column, "severity": diagnostic.severity.value, "hint": diagnostic.hint}


def _lookup(directory: Path, key: str, spec_path: str) -> list[Diagnostic] | None:
    """The stored diagnostics for `key`, or None (a miss) unless the entry is exactly what `_store` wrote for this
    key, signed with this user's secret, and every file it depends on is unchanged."""
    key_bytes = secret(directory)
    raw = open_private(directory / entry_name(spec_path, key, ".json"), MAX_ENTRY_BYTES)
    if key_bytes is None or raw is None:
        return None
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS or entry["format"] != FORMAT or entry["key"] != key:
        return None
    mac = entry.pop("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key_bytes, entry)):
        return None
    dependencies, stored = entry["dependencies"], entry["diagnostics"]
    if not isinstance(dependencies, dict) or not isinstance(stored, list):
        return None
    for name, digest in dependencies.items():
        if not (digest is None or (isinstance(digest, str) and _HEX.fullmatch(digest))):
            return None
        if dependency_hash(spec_path, name) != digest:
            return None
    diagnostics = [_diagnostic_from(item, spec_path) for item in stored]
    return None if any(d is None for d in diagnostics) else [d for d in diagnostics if d is not None]


def _store(directory: Path, key: str, spec_path: str, diagnostics: list[Diagnostic],
           dependencies: list[str]) -> None:
    key_bytes = secret(directory)
    if key_bytes is None:
        return
    entry: dict[str, Any] = {"format": FORMAT, "key": key,
                             "dependencies": {name: dependency_hash(spec_path, name) for name in dependencies},
                             "diagnostics": [_to_json(d) for d in diagnostics]}
    entry["mac"] = _mac(key_bytes, entry)
    store_entry(directory, spec_path, key, ".json", json.dumps(entry, ensure_ascii=True).encode("ascii"))


def check_paths(paths: Iterable[str], use_cache: bool = True) -> list[FileDiagnostics]:
    """Diagnostics for every spec file, using the cache where it is valid."""
    directory = private_folder() if use_cache else None
    results = []
    for path in paths:
        found = read_spec_source(path)
        if isinstance(found, Diagnostic):
            results.append(FileDiagnostics(path, None, [found]))
            continue
        raw, text = found
        key = hashlib.sha256(f"{checker_fingerprint()}|{path}|".encode("utf-8", "backslashreplace") + raw).hexdigest()
        if directory is not None:
            cached = _lookup(directory, key, path)
            if cached is not None:
                results.append(FileDiagnostics(path, SourceText(path, text), cached))
                continue
        from ceruleng.engine import check_text  # a cache miss: now the parsers are needed

        checked = check_text(text, path, generate=False)
        if directory is not None:
            _store(directory, key, path, checked.diagnostics, checked.dependencies)
        results.append(FileDiagnostics(path, checked.source, checked.diagnostics))
    return results
