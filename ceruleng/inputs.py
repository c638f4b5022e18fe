"""Reading member activity files: YAML, JSON, JSON Lines, CSV, or standard input → member documents.

Input: a path (or `-` for stdin) and an optional format. Output: an iterator of `MemberInput` — one member document
(plain data; numbers as Decimal, never float) with the file and line it came from, or the problem that kept it from
being read. JSON Lines are read one line at a time, so a batch of any size streams in constant memory. A line or row
that cannot be read is yielded as a problem (and reported as a rejected member), never skipped.

CSV layout (one row per activity): columns `member`, `credentials` (`spec@YYYY-MM-DD`, several separated by `;`),
then `id`, `type`, `date`, and any attribute (`minutes`, `topic`, `grade`, ...). `segments` are written
`kind:minutes;kind:minutes`, list attributes `a;b`. Empty cells are absent attributes. Rows of one member need not be
adjacent; members keep the order of their first row.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ceruleng.errors import InputError
from ceruleng.fields import Unreadable
from ceruleng.files import decode
from ceruleng.yamlsrc import load_yaml

FORMATS = ("yaml", "json", "jsonl", "csv")
SUFFIX_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".csv": "csv"}  # fmt: skip
CSV_REQUIRED = ("member", "credentials", "id", "type", "date")


@dataclass(frozen=True, slots=True)
class MemberInput:
    """One member document as read, or why it could not be read (then `document` is whatever was recoverable)."""

    document: Any
    file: str
    line: int | None
    problem: str | None = None


class DuplicateKey(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"duplicate key '{key}'")
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants, object_pairs_hook=_pairs)
_LENIENT = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)


def parse_json(text: str) -> Any:
    """JSON with numbers as Decimal, NaN/Infinity refused and duplicate keys reported (DuplicateKey)."""
    return _DECODER.decode(text)


def detect_format(path: str, given: str | None, sample: str = "") -> str:
    if given:
        return given
    suffix = Path(path).suffix.lower()
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    if path == "-":
        first = sample.lstrip()[:1]
        return "jsonl" if first == "{" and "\n" in sample.strip() else "yaml"
    raise InputError(f"{path}: cannot tell the format from the name; use --input-format ({', '.join(FORMATS)})")


def require_input(path: str) -> None:
    """InputError for an activity file that is missing or a folder ('-' is standard input, always there)."""
    if path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{path}: is a folder, not an activity file")
    if not target.exists():
        raise InputError(f"{path}: no such file")


def read_members(path: str, given_format: str | None = None) -> Iterator[MemberInput]:
    """Member documents from one input; InputError when the input cannot be opened at all."""
    if path == "-":
        yield from read_stream(sys.stdin.buffer, "<stdin>", given_format)
        return
    fmt = detect_format(path, given_format)
    require_input(path)
    target = Path(path)
    try:
        handle = target.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        with handle:
            if fmt == "jsonl":
                yield from _jsonl(handle, path)
                return
            raw = handle.read()
    except OSError as exc:  # opened, but reading failed (a device, a vanished network file)
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    text, problem = decode(raw, path)
    if text is None:
        assert problem is not None
        yield MemberInput(None, path, problem.span.line, problem.message)
        return
    yield from _whole(text, path, fmt)


def read_stream(stream: IO[bytes], label: str = "<stdin>", given_format: str | None = None) -> Iterator[MemberInput]:
    """Member documents from a byte stream, read as standard input is (`eval -`): the format sniffed from the
    first bytes unless given. The HTTP service reads request bodies through here, so they read as `eval -` does."""
    peek = getattr(stream, "peek", None)
    sample = peek(4096)[:4096].decode("utf-8", "replace") if peek is not None else ""
    fmt = detect_format("-", given_format, sample)
    try:
        if fmt == "jsonl":
            yield from _jsonl(stream, label)
            return
        raw = stream.read()
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    text, problem = decode(raw, label)
    if text is None:
        assert problem is not None
        yield MemberInput(None, label, problem.span.line, problem.message)
        return
    yield from _whole(text, label, fmt)


def _whole(text: str, path: str, fmt: str) -> Iterator[MemberInput]:
    if fmt == "csv":
        yield from _csv(text, path)
        return
    if fmt == "json":
        try:
            data = parse_json(text)
        except DuplicateKey as exc:
            yield MemberInput(_lenient(text), path, None, f"{exc} (every key may appear once)")
            return
        except ValueError as exc:
            yield MemberInput(None, path, getattr(exc, "lineno", None), f"not valid JSON: {_json_problem(exc)}")
            return
        except RecursionError:
            yield MemberInput(None, path, None, "nested too deeply to be an activity file")
            return
    else:
        document, diagnostics = load_yaml(text, path)
        errors = [d for d in diagnostics if d.is_error]
        if errors:
            first = errors[0]
            data = document.data if document else None
            yield MemberInput(data, path, first.span.line, f"line {first.span.line}: {first.message}")
            return
        data = document.data if document else None
    documents = data if isinstance(data, list) else [data]
    for document in documents:
        yield MemberInput(document, path, None)


def lenient_json(text: str) -> Any:
    """The document as well as it can be read without the duplicate-key check (to list its activities)."""
    return _lenient(text)


def _lenient(text: str) -> Any:
    try:
        return _LENIENT.decode(text)
    except (ValueError, RecursionError):
        return None


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def parse_line(path: str, number: int, raw: bytes) -> MemberInput | None:
    """One JSON Lines line → a member document, or a problem naming the line; None for a blank line."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return MemberInput(None, path, number, f"line {number}: not UTF-8 (byte 0x{raw[exc.start]:02x})")
    if number == 1:
        line = line.removeprefix("\ufeff")
    if not line.strip():
        return None
    try:
        return MemberInput(_DECODER.decode(line), path, number)
    except DuplicateKey as exc:
        return MemberInput(lenient_json(line), path, number, f"line {number}: {exc}")
    except ValueError as exc:
        return MemberInput(None, path, number, f"line {number}: not valid JSON: {_json_problem(exc)}")
    except RecursionError:
        return MemberInput(None, path, number, f"line {number}: nested too deeply")


def _jsonl(stream: IO[bytes], path: str) -> Iterator[MemberInput]:
    """One member per line; blank lines are skipped; a bad line is a problem naming its line number."""
    for number, raw in enumerate(stream, start=1):
        item = parse_line(path, number, raw)
        if item is not None:
            yield item


def _csv(text: str, path: str) -> Iterator[MemberInput]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in CSV_REQUIRED if column not in header]
    if missing:
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(a CSV needs {', '.join(CSV_REQUIRED)})")
    members: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    try:
        for row in reader:
            _csv_row(row, reader.line_num, members, lines)
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    for key, document in members.items():
        yield MemberInput(document, path, lines[key])


def _csv_row(row: dict[str | None, Any], line: int, members: dict[str, dict[str, Any]], lines: dict[str, int]) -> None:
    member = (row.get("member") or "").strip()
    document = members.get(member)
    if document is None:
        credentials = _credentials(row.get("credentials") or "")
        document = members[member] = {"member": member or None, "credentials": credentials, "activities": []}
        lines[member] = line
    activity: dict[str, Any] = {}
    extra = False
    for column, value in row.items():
        if column is None:
            extra = True
        elif column not in ("member", "credentials") and value not in (None, ""):
            activity[column] = _segments(value) if column == "segments" else value
    if extra:
        activity = Unreadable(activity, [f"CSV line {line} has more fields than the header row"])
    document["activities"].append(activity)


def _credentials(cell: str) -> list[dict[str, str]] | str:
    entries = []
    for written in cell.split(";"):
        part = written.strip()
        if not part:
            continue
        spec, _, certified = part.partition("@")
        entries.append({"spec": spec.strip(), "certified_on": certified.strip()})
    return entries


def _segments(cell: str) -> list[dict[str, str]] | str:
    segments = []
    for part in cell.split(";"):
        if not part.strip():
            continue
        kind, separator, minutes = part.rpartition(":")
        if not separator:
            return cell
        segments.append({"kind": kind.strip(), "minutes": minutes.strip()})
    return segments
