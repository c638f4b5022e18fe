"""The user's private cache folder, shared by `check`'s cache (`ceruleng.checkcache`) and the compiled-spec cache of
`eval` (`ceruleng.speccache`): where it is, whether it may be trusted, its signing secret, and how an entry is read
and written. One implementation, so both caches obey one security model.

Input: the environment ($CERULENG_NO_CACHE, $CERULENG_CACHE_DIR, $XDG_CACHE_HOME, ~). Output: the folder (or None:
no cache), the bytes of an entry (or None: a miss), a secret to sign entries with, and what identifies this
ceruleng (`checker_fingerprint`) and a file a spec reads (`dependency_hash`).

The model (see `ceruleng.checkcache` for what an entry cannot do):
- The folder is used only if it is a real folder (not a symlink) owned by the user and writable by no one else
  (created 0700); otherwise there is no cache. Another user cannot plant or edit entries, even in /tmp.
- An entry is read only if it is a regular file (never through a symlink, never a FIFO or device) of this user's
  that only they can write, and no larger than the caller's limit.
- Every entry carries an HMAC-SHA256 under a random per-user secret (32 bytes, mode 0600, in the folder): an entry
  truncated, edited, copied from another user or machine, or stored under another key is a miss.
- Entries are written to a temporary file and renamed into place, so a reader never sees half an entry.
Not defended: someone who runs as the same user (they can change ceruleng itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import stat
from functools import cache
from pathlib import Path

from ceruleng import __version__
from ceruleng.files import FileProblem, read_spec_file

FORMAT = 2
"""Bumped when what either cache stores changes meaning: part of the fingerprint, so old entries are misses."""
SECRET = "secret"


def cache_dir() -> Path | None:
    """Where the caches live: $CERULENG_CACHE_DIR, else $XDG_CACHE_HOME/ceruleng, else ~/.cache/ceruleng; None when
    $CERULENG_NO_CACHE is set."""
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
    found = []
    for folder, folders, names in os.walk(package):  # os.walk, not Path.rglob: this runs on every warm start
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in names:
            if name.endswith((".py", ".lark", ".json")):
                path = os.path.join(folder, name)
                info = os.stat(path)
                found.append((os.path.relpath(path, package), info.st_size, info.st_mtime_ns))
    for relative, size, mtime in sorted(found):
        digest.update(f"{relative}|{size}|{mtime}".encode())
    # the schema may live outside the package (a source checkout's schemas/): found as `schema.schema_text` finds it
    # for an installed package or a checkout, without importing importlib.resources on every warm run
    schema = package / "schemas" / "spec.schema.json"
    digest.update((schema if schema.is_file() else package.parent / "schemas" / "spec.schema.json").read_bytes())
    return digest.hexdigest()


def owned_privately(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (no group or other write bit)."""
    mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
    return mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def private_folder(directory: Path | None = None) -> Path | None:
    """The cache folder (default: `cache_dir()`), created 0700 if missing; None (no cache) unless it is a real
    folder of this user's that no one else can write."""
    directory = cache_dir() if directory is None else directory
    if directory is None:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or not owned_privately(info):
        return None
    return directory


def open_private(path: Path, limit: int, first: int | None = None) -> bytes | None:
    """A regular file of this user's that only they can write, at most `limit` bytes; None for anything else. With
    `first`, only its first `first` bytes are read (what a reader needs to decide whether to read the rest)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or not owned_privately(info) or info.st_size > limit:
            return None  # looked at before wrapping it: a folder cannot even be wrapped in a file object
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read(limit + 1 if first is None else min(first, limit + 1))
    except OSError:
        return None
    finally:
        os.close(descriptor)


def secret(directory: Path) -> bytes | None:
    """The per-user key entries are signed with: 32 random bytes in a 0600 file, made on first use."""
    path = directory / SECRET
    for _ in range(2):
        found = open_private(path, 64)
        if found is not None:
            return found if len(found) == 32 and not os.stat(path).st_mode & 0o077 else None
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            continue  # another run made it first, or something else is there: read it (or give up)
        except OSError:
            return None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(32))
    return None


def sign(key: bytes, data: bytes) -> bytes:
    """The HMAC-SHA256 of `data` under the user's secret `key` (32 bytes)."""
    return hmac.new(key, data, hashlib.sha256).digest()


def write_atomically(directory: Path, name: str, data: bytes) -> None:
    """`data` as `directory/name`, via a temporary file renamed into place; a failure to write is ignored (the
    cache is an optimisation, never a reason to fail)."""
    import tempfile  # only when writing: a warm run reads entries alone

    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass


KEPT_PER_SPEC = 4
"""Entries kept for one spec file (its latest contents, per kind of entry): enough to switch between a few
branches without recompiling, while a spec edited all day leaves four entries, not one per save."""


def entry_name(spec_path: str, key: str, suffix: str) -> str:
    """An entry's file name: the spec file's place (its absolute path, hashed), then the key, then the kind."""
    place = hashlib.sha256(os.fsencode(os.path.abspath(spec_path))).hexdigest()[:16]
    return f"{place}-{key}{suffix}"


def store_entry(directory: Path, spec_path: str, key: str, suffix: str, data: bytes) -> None:
    """Write one entry for `spec_path` and drop the oldest of its others beyond KEPT_PER_SPEC, so the folder grows
    with the number of spec files, not with the number of edits (or ceruleng upgrades) each one has seen."""
    name = entry_name(spec_path, key, suffix)
    write_atomically(directory, name, data)
    place = name.split("-", 1)[0]
    try:
        others = [(entry.stat().st_mtime_ns, entry) for entry in directory.glob(f"{place}-*{suffix}")
                  if entry.name != name]
    except OSError:
        return
    for _, stale in sorted(others, key=lambda pair: pair[0], reverse=True)[KEPT_PER_SPEC - 1:]:
        with contextlib.suppress(OSError):
            stale.unlink()


def dependency_hash(spec_path: str, name: str) -> str | None:
    """The SHA-256 of a file the spec names (None when it cannot be read), read by the compiler's own rule."""
    data = read_spec_file(spec_path, name)
    return None if isinstance(data, FileProblem) else hashlib.sha256(data).hexdigest()
