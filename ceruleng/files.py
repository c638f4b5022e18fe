"""Finding and reading input files: spec folders, UTF-8 text, one clear error for anything unreadable.

Input: paths from the command line or the API. Output: text (BOM dropped) or `InputError` with one line that says
what is wrong; the spec files under folders. Kept apart from the YAML loader so that commands which only need file
contents (a cached `check`) do not import the parsers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

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
NOT_A_SPEC = "not a spec: no 'ceruleng:' key at the top level (member logs and other YAML beside specs are skipped)"


def looks_like_spec(raw: bytes) -> bool:
    """Whether a file's bytes start like a spec: a top-level `ceruleng:` key (every spec has one; the schema
    requires it) in its first 64 KiB."""
    return _SPEC_KEY.search(raw[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")) is not None


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
