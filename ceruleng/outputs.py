"""Output files written whole or not at all: `-o` of every command and `fmt`'s rewrite in place.

A report is written to a temporary file beside its target and renamed over it only once complete, so a failure, a
Ctrl-C or a SIGTERM never leaves a half-written report or a stray temporary file. The file keeps what a user set on
the one it replaces: its mode (a new file gets 0666 minus the umask, as a shell's `>` would give it), and a symlink
stays a symlink, the file it points to being replaced (as `>` writes through one).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ceruleng.errors import InputError


def umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def replaced_file(path: Path) -> Iterator[IO[str]]:
    """A text stream whose content replaces the regular file at `path` (or its symlink's target) when the block ends
    without an error. Text that cannot be encoded is escaped. A file that cannot be written is an InputError naming
    `path` (an error of the block itself passes through unchanged)."""
    try:
        target = path.resolve() if path.is_symlink() else path
    except RuntimeError:  # Python 3.11 raises this, not OSError, for a loop of links
        raise InputError(f"{path}: cannot write: a loop of symbolic links") from None
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~umask()
    except OSError as exc:
        raise _unwritable(path, exc) from None
    parent = target.parent if str(target.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed and renamed below
            "w", encoding="utf-8", errors="backslashreplace", dir=parent, prefix=f".{target.name}.", suffix=".tmp",
            delete=False, newline="")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        with handle:
            yield handle.file  # the file itself: the wrapper would add a lookup to every write
        try:
            os.chmod(handle.name, mode)
            os.replace(handle.name, target)
        except OSError as exc:
            raise _unwritable(path, exc) from None
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _unwritable(path: Path, exc: OSError) -> InputError:
    return InputError(f"{path}: cannot write: {exc.strerror or exc}")
