"""`ceruleng init BODY-ID`: a first spec for a new body, with the policy text it cites and one passing example.

Input: a spec id, a folder and the `$schema` reference for the editor modeline. Output: two new files,
`FOLDER/BODY-ID.yaml` and `FOLDER/sources/BODY-ID.txt`, from the skeleton shipped in `ceruleng/skeleton/`, which
`ceruleng check` and `ceruleng test` accept as they are. Nothing is overwritten: an existing file is an error.
The skeleton is data, not Python, so the package names no body's policy.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from ceruleng.errors import InputError

STABLE_SCHEMA_URL = "https://ceruleng.dev/schemas/spec.schema.json"
"""The published spec schema (its `$id`); `ceruleng schema spec -o PATH` writes the same schema to a file."""
IDENTIFIER = re.compile(r"[a-z][a-z0-9_-]{0,63}")
"""A spec id, as schemas/spec.schema.json (`$defs/identifier`) defines it."""
_SCHEMA_REFERENCE = re.compile(r"[^\s#]{1,500}")


def check_identifier(body_id: str) -> str | None:
    """Why `body_id` cannot name a spec, or None."""
    if IDENTIFIER.fullmatch(body_id):
        return None
    return (f"'{body_id[:80]}' is not a spec id: use lower case letters, digits, '-' and '_', starting with a "
            "letter (at most 64 characters)")


def check_schema_reference(reference: str) -> str | None:
    """Why `reference` cannot stand in the modeline comment (white space or '#' would end or split it), or None."""
    if _SCHEMA_REFERENCE.fullmatch(reference):
        return None
    return "the schema reference must be a URL or a path without spaces or '#'"


def scaffold(body_id: str, folder: str, schema: str = STABLE_SCHEMA_URL) -> list[str]:
    """Write the new spec and its source text; the paths written. InputError when one already exists."""
    problem = check_identifier(body_id) or check_schema_reference(schema)
    if problem is not None:
        raise InputError(problem)
    skeleton = resources.files("ceruleng").joinpath("skeleton")
    spec_text = skeleton.joinpath("spec.yaml").read_text(encoding="utf-8")
    source_text = skeleton.joinpath("source.txt").read_text(encoding="utf-8")
    title = " ".join(part.capitalize() for part in re.split(r"[-_]", body_id) if part)
    spec_text = spec_text.replace("@SCHEMA@", schema).replace("@TITLE@", title).replace("@ID@", body_id)
    target = Path(folder)
    spec_path, source_path = target / f"{body_id}.yaml", target / "sources" / f"{body_id}.txt"
    for path in (spec_path, source_path):
        if path.exists() or path.is_symlink():
            raise InputError(f"{path}: already exists; ceruleng init never overwrites a file")
    try:
        source_path.parent.mkdir(parents=True, exist_ok=True)
        _create(source_path, source_text)
        _create(spec_path, spec_text)
    except FileExistsError as exc:
        raise InputError(f"{exc.filename}: already exists; ceruleng init never overwrites a file") from None
    except OSError as exc:
        raise InputError(f"{exc.filename or folder}: cannot write: {exc.strerror or exc}") from None
    return [str(spec_path), str(source_path)]


def _create(path: Path, text: str) -> None:
    """Write a new file; fails if it appeared meanwhile (O_EXCL), so nothing is ever overwritten."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
