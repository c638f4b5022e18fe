"""Writing a report that is a folder of files (HTML pages, Parquet tables) all at once, or not at all.

Input: the folder `-o` names. Output: a context manager yielding a fresh temporary folder beside it; when the block
finishes, the temporary folder takes the target's place (the previous report, if any, is removed only then), so a
failed or interrupted run leaves the previous report untouched and no half-written one. A folder that exists must be
empty or one ceruleng wrote (it holds the marker file `.ceruleng-report`): ceruleng never deletes anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ceruleng.errors import InputError
from ceruleng.outputs import umask

MARKER = ".ceruleng-report"
"""The file that marks a folder as a ceruleng report, safe to replace by the next run."""


def _replaceable(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir() or target.is_symlink():
        raise InputError(f"{target}: exists and is not a folder; give a new folder name for -o")
    try:
        entries = list(target.iterdir())
    except OSError as exc:
        raise InputError(f"{target}: cannot read: {exc.strerror or exc}") from None
    if entries and not (target / MARKER).is_file():
        raise InputError(f"{target}: is a folder with other files in it; give a new or empty folder for -o "
                         f"(ceruleng replaces only folders it wrote, which hold {MARKER})")


@contextmanager
def output_folder(path: str, note: str) -> Iterator[Path]:
    """A temporary folder to write the report into; it replaces `path` when the block ends without an error.

    `note` is written into the marker file (what wrote the folder, for a person who finds it).
    """
    target = Path(path)
    _replaceable(target)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        working = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    retired: Path | None = None
    try:
        (working / MARKER).write_text(note + "\n", encoding="utf-8")
        yield working
        os.chmod(working, 0o777 & ~umask())
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.replace(target, retired / target.name)
        os.replace(working, target)
    except BaseException:
        if working.exists():  # the new report is not in place: put the previous one back if it was moved aside
            shutil.rmtree(working, ignore_errors=True)
            if retired is not None and (retired / target.name).exists() and not target.exists():
                os.replace(retired / target.name, target)
        raise
    finally:  # decided by what is on disk, not by how far the code got: a signal can land between any two steps
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
