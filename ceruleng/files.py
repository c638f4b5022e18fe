"""Finding and reading input files: spec folders, UTF-8 text, one clear error for anything unreadable.

Input: paths from the command line or the API. Output: text (BOM dropped) or `InputError` with one line that says
what is wrong; the spec files under folders; and the one rule for the files a spec itself names with `file:`
(`spec_relative_file`, `read_spec_file`). Kept apart from the YAML loader so that commands which only need file
contents (a cached `check`) do not import the parsers.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ceruleng.errors import Diagnostic, InputError
from ceruleng.source import Span, nowhere

SPEC_SUFFIXES = (".yaml", ".yml")


def decode(raw: bytes, path: str) -> tuple[str | None, Diagnostic | None]:
    """UTF-8 (a leading BOM allowed and dropped) → text; anything else is a diagnostic at the first bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(
            "yaml-encoding",
            f"file is not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded",
            Span(path, line, column),
            hint="save the file as UTF-8",
        )
    return text.removeprefix("\ufeff"), None


def read_bytes(path: str) -> bytes:
    """A file's bytes, or InputError with one clear line (missing, a folder, unreadable)."""
    target = Path(path)
    try:
        return target.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_spec_source(path: str) -> tuple[bytes, str] | Diagnostic:
    """A spec file's bytes and text, or the one diagnostic that says why it cannot be checked: `io-error`, or
    `yaml-encoding` at the first byte that is not UTF-8."""
    try:
        raw = read_bytes(path)
    except InputError as exc:
        return Diagnostic("io-error", str(exc).split(": ", 1)[-1], nowhere(path))
    text, problem = decode(raw, path)
    if text is None:
        assert problem is not None
        return problem
    return raw, text


def read_text(path: str) -> str:
    """A file's text, or InputError with one clear line (missing, a folder, unreadable, not UTF-8)."""
    text, problem = decode(read_bytes(path), path)
    if text is None:
        assert problem is not None
        raise InputError(f"{problem.span}: {problem.message}")
    return text


SNIFF_BYTES = 64 * 1024
"""How much of a file is read to tell a spec from other YAML kept beside specs (a member log can be large)."""
_SPEC_KEY = re.compile(rb"""^(?:\{[ \t]*)?["']?ceruleng["']?[ \t]*:""", re.MULTILINE)
_OTHER_LINE_BREAKS = re.compile(rb"\r\n?|\xc2\x85|\xe2\x80[\xa8\xa9]")
"""CR LF, a CR alone, NEL, LS and PS in UTF-8: line breaks to YAML as LF is."""
NOT_A_SPEC = "not a spec: no 'ceruleng:' key at the top level (member logs and other YAML beside specs are skipped)"


def looks_like_spec(raw: bytes) -> bool:
    """Whether a file's bytes start like a spec: a top-level `ceruleng:` key (every spec has one; the schema
    requires it) in its first 64 KiB."""
    sample = raw[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")
    if b"\r" in sample or b"\xc2\x85" in sample or b"\xe2\x80" in sample:  # lines that end as YAML ends them too
        sample = _OTHER_LINE_BREAKS.sub(b"\n", sample)  # (a CR alone: old Mac files), not just at LF
    return _SPEC_KEY.search(sample) is not None


def _sniff(path: Path) -> bool:
    """Whether a file found in a folder is to be checked as a spec; one that cannot be read is (its check reports
    why), so nothing is skipped silently."""
    try:
        with path.open("rb") as handle:
            return looks_like_spec(handle.read(SNIFF_BYTES))
    except OSError:
        return True


def scan_spec_files(paths: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Spec files named directly (always checked, whatever they hold), and the .yaml/.yml files under named folders
    that look like specs (sorted); then the files under folders that were skipped, each with why.
    InputError for a path that does not exist."""
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        target = Path(path)
        if target.is_dir():
            for candidate in sorted(target.rglob("*")):
                if candidate.suffix not in SPEC_SUFFIXES or not candidate.is_file():
                    continue
                if _sniff(candidate):
                    found.append(str(candidate))
                else:
                    skipped.append((str(candidate), NOT_A_SPEC))
        elif target.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found, skipped


def spec_files(paths: Iterable[str]) -> list[str]:
    """Spec files named directly, and the files under named folders that look like specs (`scan_spec_files`)."""
    return scan_spec_files(paths)[0]


# ---- files a spec names (sources.*.file, tables.*.file) ----------------------------------------------------------

MAX_SPEC_FILE_BYTES = 16 * 1024 * 1024
"""Largest file a spec may read (a cited source text, a CSV table): policy documents are a few hundred kilobytes."""


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Why a file a spec names cannot be read: `missing` (there is no such file: the caller's own diagnostic), or
    not allowed (outside the spec's folder, not a regular file, too large: `file-not-allowed`)."""

    message: str
    missing: bool = False


def spec_relative_file(spec_path: str | Path, name: str) -> Path | FileProblem:
    """The file a spec at `spec_path` means by `file: NAME`, or why it may not be read.

    The one rule: NAME is a relative path to a regular file inside the spec's folder (the folder the spec is named
    in, followed through symlinks; or its stand-in, `spec_folder_stand_in`), at most MAX_SPEC_FILE_BYTES long.
    Refused: absolute paths and drive letters, a `..` or a symlink that leads out of the folder, folders, devices,
    FIFOs and sockets (reading one could block forever or never end). So `check` never reads, hashes or quotes a
    file the spec's author could not ship with the spec, and no diagnostic can echo one.
    """
    if not name.strip():
        return FileProblem("the file name is empty")
    if "\x00" in name:
        return FileProblem("the file name holds a NUL character")
    shown = name[:200]
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return FileProblem(f"'{shown}' is an absolute path; name a file inside the spec's folder, relative to it")
    stand_ins = _STAND_INS.get()
    stand_in = stand_ins.get(str(spec_path)) if stand_ins else None
    folder = Path(os.path.realpath(stand_in or Path(spec_path).parent))
    try:
        real = (folder / name).resolve(strict=True)
    except FileNotFoundError:
        if not Path(os.path.realpath(folder / name)).is_relative_to(folder):
            return FileProblem(f"'{shown}' is outside the spec's folder")
        return FileProblem(f"'{shown}' does not exist", missing=True)
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        return FileProblem(f"'{shown}' cannot be opened: {getattr(exc, 'strerror', None) or exc}")
    if not real.is_relative_to(folder):
        return FileProblem(f"'{shown}' is outside the spec's folder (through '..' or a symlink)")
    try:
        info = real.stat()
    except OSError as exc:
        return FileProblem(f"'{shown}' cannot be opened: {exc.strerror or exc}")
    return _regular_problem(shown, info) or real


_STAND_INS: ContextVar[dict[str, str] | None] = ContextVar("spec_folder_stand_ins", default=None)


@contextmanager
def spec_folder_stand_in(spec_path: str, folder: str) -> Iterator[None]:
    """While the block runs, the files a spec at `spec_path` names are looked for in `folder` instead of the
    spec's own folder (by the same rule). A spec compiled away from where it was written (`ceruleng.specset`, on a
    worker of a cluster) so reads the copies it carries, keeps its own path in traces and messages, and reads
    nothing else of the machine it runs on. Per thread and task (a context variable), so other compiles are
    unaffected."""
    token = _STAND_INS.set({**(_STAND_INS.get() or {}), spec_path: folder})
    try:
        yield
    finally:
        _STAND_INS.reset(token)


def _regular_problem(shown: str, info: os.stat_result) -> FileProblem | None:
    if not stat.S_ISREG(info.st_mode):
        return FileProblem(f"'{shown}' is not a regular file (a folder, device, pipe or socket)")
    if info.st_size > MAX_SPEC_FILE_BYTES:
        return FileProblem(f"'{shown}' is {info.st_size:,} bytes; a file a spec reads may be at most "
                           f"{MAX_SPEC_FILE_BYTES:,}")
    return None


def read_spec_file(spec_path: str | Path, name: str) -> bytes | FileProblem:
    """The bytes of the file a spec names (see `spec_relative_file`), read so that a file swapped for a FIFO or a
    device after the check still cannot block or flood: opened without blocking and without following a symlink,
    checked again on the open descriptor, and read no further than the size limit."""
    found = spec_relative_file(spec_path, name)
    if isinstance(found, FileProblem):
        return found
    return read_regular_file(found, name)


def read_regular_file(path: Path, shown: str) -> bytes | FileProblem:
    """A regular file's bytes, at most MAX_SPEC_FILE_BYTES, never blocking on a FIFO or a device."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return FileProblem(f"'{shown}' does not exist", missing=True)
    except OSError as exc:
        return FileProblem(f"'{shown}' cannot be opened: {exc.strerror or exc}")
    with os.fdopen(descriptor, "rb") as handle:
        problem = _regular_problem(shown, os.fstat(descriptor))
        if problem is not None:
            return problem
        try:
            data = handle.read(MAX_SPEC_FILE_BYTES + 1)
        except OSError as exc:
            return FileProblem(f"'{shown}' cannot be read: {exc.strerror or exc}")
    if len(data) > MAX_SPEC_FILE_BYTES:
        return FileProblem(f"'{shown}' grew past {MAX_SPEC_FILE_BYTES:,} bytes while it was read")
    return data
