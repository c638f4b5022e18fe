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
import re
import sys
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec
from msgspec import Struct

from ceruleng.errors import Diagnostic, InputError
from ceruleng.fields import Unreadable
from ceruleng.files import decode
from ceruleng.surrogates import LONE_SURROGATE, UnencodableText, escape_surrogates
from ceruleng.values import int_or_decimal, parse_number_text
from ceruleng.yamlsrc import LoadedDocument, load_yaml

FORMATS = ("yaml", "json", "jsonl", "csv")
SUFFIX_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".csv": "csv"}  # fmt: skip
CSV_REQUIRED = ("member", "credentials", "id", "type", "date")


class MemberInput(Struct, frozen=True):
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


_DECODER = json.JSONDecoder(parse_float=parse_number_text, parse_constant=_no_constants, object_pairs_hook=_pairs)
_LENIENT = json.JSONDecoder(parse_float=parse_number_text, parse_constant=_no_constants)
_DECODER_LONG_INTS = json.JSONDecoder(parse_float=parse_number_text, parse_int=int_or_decimal,
                                      parse_constant=_no_constants, object_pairs_hook=_pairs)
_LENIENT_LONG_INTS = json.JSONDecoder(parse_float=parse_number_text, parse_int=int_or_decimal,
                                      parse_constant=_no_constants)
_LONG_INTS = {_DECODER: _DECODER_LONG_INTS, _LENIENT: _LENIENT_LONG_INTS}

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a surrogate (\\ud800-\\udfff); paired ones decode to one character, lone ones do not."""


def _decode(decoder: json.JSONDecoder, text: str) -> Any:
    """JSON text → data, whatever its numbers and escapes hold.

    The fast decoder (`fast_decode`) reads almost every document; what it cannot vouch for is read here by the
    standard library's, which has always decided every odd case (and words every error). Integers go through the C
    scanner's own int() (fast); only a document with an integer over Python's 4,300-digit conversion limit is
    decoded again with long integers read as Decimal (then refused by the range checks like any out-of-range
    number). Strings holding a lone surrogate become `UnencodableText`.
    """
    if decoder is _DECODER:
        data = fast_decode(text)
        if data is not NOT_FAST:
            return data
    return standard_decode(decoder, text)


def standard_decode(decoder: json.JSONDecoder, text: str) -> Any:
    """`_decode` through the standard library's decoder alone (the reference `fast_decode` is held to)."""
    try:
        data = decoder.decode(text)
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        data = _LONG_INTS[decoder].decode(text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        data = mark_unencodable(data)
    return data


_FAST = msgspec.json.Decoder(float_hook=parse_number_text)
"""msgspec's C decoder, handing every number with a fraction or an exponent to `parse_number_text` as its text (an
exact Decimal, never a float); integers it reads as int, like the standard library."""

NOT_FAST = object()
"""What `fast_decode` returns when the standard library's decoder must decide."""

FAST_MAX_DEPTH = 64
"""Deepest document the fast decoder's result is kept for. Both decoders refuse a document nested past the
interpreter's recursion limit, at slightly different depths; anything this deep goes to the standard library so
that where the refusal falls never changes (a member document is five levels deep)."""


def fast_decode(text: str) -> Any:
    """JSON text → exactly what the standard library's strict decoder gives, at C speed; or `NOT_FAST` when this
    cannot be vouched for, and the standard library's decoder must read it.

    msgspec refuses everything the standard library refuses here (bad JSON, NaN and Infinity, lone surrogate
    escapes, integers past 4,300 digits) and reads the rest to the same values, but it keeps the last of two
    equal keys where ceruleng must report them. So a duplicate is ruled out by counting: in valid JSON every colon
    outside a string ends a key, so the document has duplicate keys exactly when its objects hold fewer keys than
    it has such colons. Colons inside strings are counted from the decoded strings; when an escape could spell
    one (`\\u003a`), or the document is deep, the standard library decides.
    """
    try:
        data = _FAST.decode(text)
    except (msgspec.MsgspecError, RecursionError, UnicodeError, ValueError):
        return NOT_FAST
    keys = _keys_within_depth(data)
    if keys < 0:
        return NOT_FAST
    colons = text.count(":")
    if keys == colons:
        return data
    if "\\u" in text:
        return NOT_FAST
    return data if keys == colons - _colons_in_strings(data) else NOT_FAST


def _keys_within_depth(data: Any) -> int:
    """How many keys the objects of decoded JSON hold, or -1 when it is nested deeper than `FAST_MAX_DEPTH`.
    Level by level, objects and arrays apart, with plain loops: the cheapest walk measured (a few µs a member)."""
    keys = 0
    objects: list[dict[str, Any]] = [data] if type(data) is dict else []
    arrays: list[list[Any]] = [data] if type(data) is list else []
    for _ in range(FAST_MAX_DEPTH):
        inner_objects: list[dict[str, Any]] = []
        inner_arrays: list[list[Any]] = []
        for container in objects:
            keys += len(container)
            for item in container.values():
                kind = type(item)
                if kind is dict:
                    inner_objects.append(item)
                elif kind is list:
                    inner_arrays.append(item)
        for array in arrays:
            for item in array:
                kind = type(item)
                if kind is dict:
                    inner_objects.append(item)
                elif kind is list:
                    inner_arrays.append(item)
        if not inner_objects and not inner_arrays:
            return keys
        objects, arrays = inner_objects, inner_arrays
    return -1


def _colons_in_strings(data: Any) -> int:
    """How many colons the strings (keys and values) of decoded JSON hold."""
    count = 0
    stack = [data]
    while stack:
        value = stack.pop()
        if type(value) is str:
            count += value.count(":")
        elif type(value) is dict:
            count += sum(key.count(":") for key in value)
            stack.extend(value.values())
        elif type(value) is list:
            stack.extend(value)
    return count


def mark_unencodable(data: Any) -> Any:
    """`data` with every string that holds a lone surrogate replaced by `UnencodableText` (a key: escaped, since
    no attribute is named so). Iterative, so a document as deep as the decoder allows cannot overflow the stack."""
    def fix(value: Any) -> Any:
        if isinstance(value, str) and LONE_SURROGATE.search(value):
            return UnencodableText(value)
        return value

    root = [data]
    stack: list[list[Any] | dict[str, Any]] = [root]
    while stack:
        container = stack.pop()
        if isinstance(container, list):
            for index, item in enumerate(container):
                container[index] = fix(item)
                if isinstance(item, dict | list):
                    stack.append(item)
            continue
        for key in [key for key in container if LONE_SURROGATE.search(key)]:
            container[escape_surrogates(key)] = container.pop(key)
        for key, item in container.items():
            container[key] = fix(item)
            if isinstance(item, dict | list):
                stack.append(item)
    return root[0]


def parse_json(text: str) -> Any:
    """JSON with numbers as Decimal (of any size), NaN/Infinity refused, duplicate keys reported (DuplicateKey),
    and text that cannot be encoded marked (`UnencodableText`)."""
    return _decode(_DECODER, text)


def detect_format(path: str, given: str | None, sample: str = "") -> str:
    if given:
        return given
    suffix = Path(path).suffix.lower()
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    if path == "-":
        return _sniff(sample)
    raise InputError(f"{path}: cannot tell the format from the name; use --input-format ({', '.join(FORMATS)})")


def _sniff(sample: str) -> str:
    """The format of standard input from its first bytes.

    JSON Lines when the first line is a whole JSON object (or the first line is longer than the sample: one object
    on one line reads the same either way); JSON when the text starts like JSON but its first line is not a whole
    object (pretty-printed JSON: `{` alone on the first line, or a list); YAML otherwise, a YAML flow collection
    (`{member: M-1, ...}`) included.
    """
    text = sample.lstrip("\ufeff \t\r\n")
    if text[:1] not in ("{", "["):
        return "yaml"
    after = text[1:].lstrip(" \t\r\n")[:1]
    if after and after not in '"{}[]-0123456789tfn':
        return "yaml"
    first, newline, _ = text.partition("\n")
    if not newline:
        return "jsonl" if text[0] == "{" else "json"
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        return "json"
    return "jsonl" if isinstance(value, dict) else "json"


SNIFF_BYTES = 4096
"""How much of standard input is looked at to tell its format."""


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
    with handle:
        yield from _opened(handle, path, fmt)


def read_stream(stream: IO[bytes], label: str = "<stdin>", given_format: str | None = None) -> Iterator[MemberInput]:
    """Member documents from a byte stream, read as standard input is (`eval -`): the format sniffed from the
    first bytes unless given. The HTTP service reads request bodies through here, so they read as `eval -` does."""
    peek = getattr(stream, "peek", None)
    sample = peek(SNIFF_BYTES)[:SNIFF_BYTES].decode("utf-8", "replace") if peek is not None else ""
    yield from _opened(stream, label, detect_format("-", given_format, sample))


def _opened(stream: IO[bytes], label: str, fmt: str) -> Iterator[MemberInput]:
    """Member documents from an open input: JSON Lines streamed line by line, any other format read whole."""
    try:
        if fmt == "jsonl":
            yield from _jsonl(stream, label)
            return
        raw = stream.read()
    except OSError as exc:  # opened, but reading failed (a device, a vanished network file)
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
            members = _json_list_members(text, path)
            yield from members if members is not None else [
                MemberInput(_lenient(text), path, None, f"{exc} (every key may appear once)")]
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
            members = _yaml_list_members(document, errors, path) if document is not None else None
            first = errors[0]
            data = document.data if document else None
            yield from members if members is not None else [
                MemberInput(data, path, first.span.line, f"line {first.span.line}: {first.message}")]
            return
        data = document.data if document else None
    documents = data if isinstance(data, list) else [data]
    for document in documents:
        yield MemberInput(document, path, None)


def _yaml_list_members(document: LoadedDocument, errors: list[Diagnostic], path: str) -> list[MemberInput] | None:
    """A YAML list of members with errors inside some of them (a tag, a repeated key): each error costs only the
    member it stands in, and the others are read as they are. None when an error is outside every member (the list
    itself), so the whole file is unreadable."""
    data = document.data
    if not isinstance(data, list) or not data:
        return None
    starts = [(span.line, span.column) for span in (document.span((index,)) for index in range(len(data)))]
    problems: dict[int, Diagnostic] = {}
    for error in errors:
        index = bisect_right(starts, (error.span.line, error.span.column)) - 1
        if index < 0:
            return None
        problems.setdefault(index, error)
    return [MemberInput(member, path, None) if index not in problems else
            MemberInput(member, path, problems[index].span.line,
                        f"line {problems[index].span.line}: {problems[index].message}")
            for index, member in enumerate(data)]


def _json_list_members(text: str, path: str) -> list[MemberInput] | None:
    """A JSON list of members where some member repeats a key: read one member at a time, so the repeat costs only
    the member it stands in (named by the line it starts on). None when the text is not such a list (the caller
    then reports the whole document)."""
    skip = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]
    index = skip(text, 0).end()
    if not text.startswith("[", index):
        return None
    members: list[MemberInput] = []
    index = skip(text, index + 1).end()
    closed = text.startswith("]", index)
    while not closed:
        line = text.count("\n", 0, index) + 1
        try:
            try:
                member, end = _DECODER.raw_decode(text, index)
                members.append(MemberInput(member, path, None))
            except DuplicateKey as exc:
                member, end = _LENIENT.raw_decode(text, index)
                members.append(MemberInput(member, path, line, f"line {line}: {exc} (every key may appear once)"))
        except (ValueError, RecursionError):
            return None  # e.g. an integer past Python's conversion limit: the whole-document path decides
        index = skip(text, end).end()
        if not text.startswith((",", "]"), index):
            return None
        closed = text.startswith("]", index)
        index = skip(text, index + 1).end()
    if index != len(text):
        return None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        members = [MemberInput(mark_unencodable(m.document), m.file, m.line, m.problem) for m in members]
    return members


def lenient_json(text: str) -> Any:
    """The document as well as it can be read without the duplicate-key check (to list its activities)."""
    return _lenient(text)


def _lenient(text: str) -> Any:
    try:
        return _decode(_LENIENT, text)
    except (ValueError, RecursionError):
        return None


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):  # some messages end in "at" ("Invalid control character at")
        return f"{exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def parse_line(path: str, number: int, raw: bytes) -> MemberInput | None:
    """One JSON Lines line (with its line end or without) → a member document, or a problem naming the line; None
    for a blank line. The result is the same however the line was cut from its file (a stream, a block, a Spark
    row without its CRLF)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return MemberInput(None, path, number, f"line {number}: not UTF-8 (byte 0x{raw[exc.start]:02x})")
    if number == 1:
        line = line.removeprefix("\ufeff")
    line = line.rstrip("\r\n")  # JSON whitespace, but it would move the position an error names, by framing
    if not line.strip():
        return None
    try:
        return MemberInput(_decode(_DECODER, line), path, number)
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
    """CSV rows → member documents. Quoting is read strictly: a quote that is never closed would swallow every later
    row into one cell (and hide the members on them), so it and any other broken quoting refuse the file, naming
    the line. Cells may be as long as the file (the csv module's own limit would refuse the whole file); the
    field readers then refuse an over-long value in the activity it belongs to."""
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(max(previous_limit, len(text) + 1))
    try:
        yield from _csv_members(text, path)
    finally:
        csv.field_size_limit(previous_limit)


def _csv_members(text: str, path: str) -> Iterator[MemberInput]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _csv_next(reader, path, 1) or []
    missing = [column for column in CSV_REQUIRED if column not in header]
    if missing:
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(a CSV needs {', '.join(CSV_REQUIRED)})")
    repeated = next((name for index, name in enumerate(header) if name and name in header[:index]), None)
    if repeated is not None:  # the later cell would silently replace the earlier one on every row
        first, second = [index + 1 for index, name in enumerate(header) if name == repeated][:2]
        raise InputError(f"{path}: line 1: column '{repeated[:80]}' is named twice (columns {first} and {second}); "
                         "give each attribute one column")
    members: dict[str, _CsvMember] = {}
    order: list[_CsvMember] = []
    while True:
        line = reader.line_num + 1
        row = _csv_next(reader, path, line)
        if row is None:
            break
        if not row:
            continue  # an empty line (a row of empty cells is a row, and needs its member)
        _csv_row(dict(zip(header, row, strict=False)), len(row) > len(header), line, members, order)
    for member in order:
        yield MemberInput(member.document, path, member.line, member.problem)


def _csv_next(reader: Any, path: str, line: int) -> list[str] | None:
    """The next row, None at the end, InputError naming the line for quoting that cannot be read."""
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(f"{path}: line {line}: a quoted cell opened on this row is never closed, so every "
                             "later row would be read as part of it; close the quote") from None
        raise InputError(f"{path}: line {line}: the row's quoting cannot be read ({exc}); a cell in quotes must "
                         "be quoted whole, with quotes inside it doubled (\"\")") from None
    return row


class _CsvMember(Struct):
    """One member's rows so far; `problem` makes it unreadable (its activities are listed, rejected)."""

    document: dict[str, Any]
    line: int
    credentials_line: int | None
    credentials_cell: str
    problem: str | None = None


def _csv_row(row: dict[str, str], extra: bool, line: int, members: dict[str, _CsvMember],
             order: list[_CsvMember]) -> None:
    """Add one activity row to its member. A member's credentials may be given on any of its rows (the others
    left empty) but must not differ between rows; a row without a member id is a member of its own, unreadable."""
    member_id = (row.get("member") or "").strip()
    cell = (row.get("credentials") or "").strip()
    activity: dict[str, Any] = {}
    for column, value in row.items():
        if column not in ("member", "credentials") and value != "":
            activity[column] = _segments(value) if column == "segments" else value
    if extra:
        activity = Unreadable(activity, [f"CSV line {line} has more fields than the header row"])
    document: dict[str, Any]
    if not member_id:
        document = {"member": None, "credentials": _credentials(cell), "activities": [activity]}
        order.append(_CsvMember(document, line, line, cell,
                                f"line {line}: the member cell is empty; every row must name its member"))
        return
    member = members.get(member_id)
    if member is None:
        document = {"member": member_id, "credentials": [], "activities": []}
        member = members[member_id] = _CsvMember(document, line, None, "")
        order.append(member)
    member.document["activities"].append(activity)
    if not cell:
        return
    if member.credentials_line is None:
        member.credentials_line, member.credentials_cell = line, cell
        member.document["credentials"] = _credentials(cell)
    elif _credentials(cell) != _credentials(member.credentials_cell) and member.problem is None:
        member.problem = (f"line {line}: credentials '{cell[:80]}' differ from '{member.credentials_cell[:80]}' "
                          f"on line {member.credentials_line}; give them once, or the same on every row")


def _credentials(cell: str) -> list[dict[str, str]]:
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
