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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ceruleng import __version__
from ceruleng.errors import Diagnostic, Severity
from ceruleng.files import FileProblem, read_spec_file, read_spec_source
from ceruleng.report.diagnostics import FileDiagnostics
from ceruleng.schema import schema_text
from ceruleng.source import SourceText, Span

FORMAT = 2
MAX_ENTRY_BYTES = 4 * 1024 * 1024
"""Largest entry read back; a spec's diagnostics are a few kilobytes."""
_SECRET = "secret"
_ENTRY_KEYS = {"format", "key", "dependencies", "diagnostics", "mac"}
_DIAGNOSTIC_KEYS = {"code", "message", "path", "line", "column", "severity", "hint"}
_CODE = re.compile(r"[a-z][a-z0-9-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")


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
            info = path.stat()
            digest.update(f"{path.relative_to(package)}|{info.st_size}|{info.st_mtime_ns}".encode())
    digest.update(schema_text("spec").encode())  # the schema may live outside the package (a source checkout)
    return digest.hexdigest()


# ---- the folder and its secret -------------------------------------------------------------------------------------


def _owned_privately(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (no group or other write bit)."""
    mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
    return mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _private_folder(directory: Path) -> Path | None:
    """The cache folder, created 0700 if missing; None (no cache) unless it is a real folder of this user's that no
    one else can write."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or not _owned_privately(info):
        return None
    return directory


def _open_private(path: Path, limit: int) -> bytes | None:
    """A regular file of this user's that only they can write, at most `limit` bytes; None for anything else."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or not _owned_privately(info) or info.st_size > limit:
            return None
        try:
            return handle.read(limit + 1)
        except OSError:
            return None


def _secret(directory: Path) -> bytes | None:
    """The per-user key entries are signed with: 32 random bytes in a 0600 file, made on first use."""
    path = directory / _SECRET
    for _ in range(2):
        found = _open_private(path, 64)
        if found is not None:
            return found if len(found) == 32 and not os.stat(path).st_mode & 0o077 else None
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            continue  # another check made it first, or something else is there: read it (or give up)
        except OSError:
            return None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(32))
    return None


def _mac(secret: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(secret, canonical.encode("ascii"), hashlib.sha256).hexdigest()


# ---- entries -------------------------------------------------------------------------------------------------------


def _dependency_hash(spec_path: str, name: str) -> str | None:
    data = read_spec_file(spec_path, name)
    return None if isinstance(data, FileProblem) else hashlib.sha256(data).hexdigest()


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
    secret = _secret(directory)
    raw = _open_private(directory / f"{key}.json", MAX_ENTRY_BYTES)
    if secret is None or raw is None:
        return None
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS or entry["format"] != FORMAT or entry["key"] != key:
        return None
    mac = entry.pop("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(secret, entry)):
        return None
    dependencies, stored = entry["dependencies"], entry["diagnostics"]
    if not isinstance(dependencies, dict) or not isinstance(stored, list):
        return None
    for name, digest in dependencies.items():
        if not (digest is None or (isinstance(digest, str) and _HEX.fullmatch(digest))):
            return None
        if _dependency_hash(spec_path, name) != digest:
            return None
    diagnostics = [_diagnostic_from(item, spec_path) for item in stored]
    return None if any(d is None for d in diagnostics) else [d for d in diagnostics if d is not None]


def _store(directory: Path, key: str, spec_path: str, diagnostics: list[Diagnostic],
           dependencies: list[str]) -> None:
    secret = _secret(directory)
    if secret is None:
        return
    entry: dict[str, Any] = {"format": FORMAT, "key": key,
                             "dependencies": {name: _dependency_hash(spec_path, name) for name in dependencies},
                             "diagnostics": [_to_json(d) for d in diagnostics]}
    entry["mac"] = _mac(secret, entry)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, ensure_ascii=True))
            os.replace(temporary, directory / f"{key}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def check_paths(paths: Iterable[str], use_cache: bool = True) -> list[FileDiagnostics]:
    """Diagnostics for every spec file, using the cache where it is valid."""
    configured = cache_dir() if use_cache else None
    directory = _private_folder(configured) if configured is not None else None
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
