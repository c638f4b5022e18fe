"""Activity and credential records: raw input values → typed values, compiled once per spec.

Input: the attributes a spec reads (the standard ones below plus its own declarations) and its date formats.
Output: a `coerce(raw) -> (typed, problems)` function generated as straight-line Python, so checking a record costs
a few attribute tests instead of a JSON Schema validation (which manages ~45,000 records/s). A record with problems
is rejected as malformed; each problem names the field and says what is wrong, in words a member understands.

The checks mirror `schemas/activities.schema.json` for the standard fields; a test keeps the two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from ceruleng.model import Attribute
from ceruleng.values import ZERO, DateReader, checked_decimal, format_number

STANDARD_ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("id", "text", "the activity's id, unique within the file", required=True),
        Attribute("type", "text", "the kind of activity (the spec maps types to categories)", required=True),
        Attribute("title", "text", "the activity's title"),
        Attribute("provider", "text", "who offered the activity"),
        Attribute("date", "date", "the date the activity was completed", required=True),
        Attribute("minutes", "number", "contact minutes", minimum=ZERO),
        Attribute("topic", "text", "the activity's subject"),
        Attribute("segments", "segments", "parts of one event, each with a kind and minutes"),
    )
}
"""Attributes every activity may carry, whatever the spec (DESIGN.md, 'Activity file')."""

MAX_MINUTES = 10**12
"""Largest number accepted in a record (see values.MAX_MAGNITUDE)."""

MAX_TEXT = 100_000
"""Longest text value accepted in a record (a 20 MB string is not an activity title)."""

Coercer = Callable[[Any], tuple[dict[str, Any] | None, list[str]]]


class Unreadable(dict[str, Any]):
    """A record an input reader could only partly read (a CSV row with extra fields): malformed, with reasons."""

    def __init__(self, values: dict[str, Any], problems: list[str]) -> None:
        super().__init__(values)
        self.problems = problems


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value[:40]}{'…' if len(value) > 40 else ''}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
"""A number written as text: digits with an optional sign and decimal point (no exponent, separators or other
scripts' digits)."""


def number_field(value: Any, attribute: Attribute, problems: list[str]) -> Decimal | None:
    """A number from an int, a Decimal or numeric text; None (and a problem) when it is not one."""
    name = attribute.name
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        problems.append(f"{name}: must be a number, got {_shown(value)}")
        return None
    if isinstance(value, str) and not _NUMERIC_TEXT.fullmatch(value.strip()):
        # Decimal() would also take '1_000', '٩٠' or 'Infinity'; numbers in text are written plainly
        problems.append(f"{name}: must be a number, got {_shown(value)}")
        return None
    try:
        number = checked_decimal(Decimal(value.strip() if isinstance(value, str) else value))
    except InvalidOperation:
        problems.append(f"{name}: must be a number, got {_shown(value)}")
        return None
    except ValueError as exc:
        problems.append(f"{name}: {_shown(value)} {exc}")
        return None
    if attribute.type == "integer" and number != number.to_integral_value():
        problems.append(f"{name}: must be a whole number, got {format_number(number)}")
        return None
    if attribute.minimum is not None and number < attribute.minimum:
        below = "must not be negative" if attribute.minimum == 0 else f"must be at least {attribute.minimum}"
        problems.append(f"{name}: {below}, got {format_number(number)}")
        return None
    if attribute.maximum is not None and number > attribute.maximum:
        problems.append(f"{name}: must be at most {attribute.maximum}, got {format_number(number)}")
        return None
    return number


def text_field(value: Any, attribute: Attribute, problems: list[str], scales: Mapping[str, Sequence[str]]) -> Any:
    """Text (numbers are accepted as their digits, e.g. a course number written 23456)."""
    name = attribute.name
    if isinstance(value, Decimal) and not value.is_finite():
        problems.append(f"{name}: must be text, got {value}")
        return None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = format_number(Decimal(value))
    if not isinstance(value, str):
        problems.append(f"{name}: must be text, got {_shown(value)}")
        return None
    if len(value) > MAX_TEXT:
        problems.append(f"{name}: text of {len(value)} characters is too long (limit {MAX_TEXT})")
        return None
    if attribute.required and not value.strip():
        problems.append(f"{name}: must not be empty")
        return None
    if attribute.one_of is not None and value not in attribute.one_of:
        problems.append(f"{name}: {_shown(value)} is not one of {', '.join(attribute.one_of)}")
        return None
    if attribute.scale is not None and value not in scales.get(attribute.scale, ()):
        allowed = ", ".join(scales.get(attribute.scale, ()))
        problems.append(f"{name}: {_shown(value)} is not on the {attribute.scale} scale ({allowed})")
        return None
    return value


def date_field(value: Any, attribute: Attribute, problems: list[str], reader: DateReader) -> date | None:
    if not isinstance(value, str):
        problems.append(f"{attribute.name}: must be a date written {' or '.join(reader.formats)}, got {_shown(value)}")
        return None
    try:
        return reader(value.strip())
    except ValueError as exc:
        problems.append(f"{attribute.name}: {exc}")
        return None


def boolean_field(value: Any, attribute: Attribute, problems: list[str]) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
        return value.strip().lower() in ("true", "yes")
    problems.append(f"{attribute.name}: must be true or false, got {_shown(value)}")
    return None


def text_list_field(value: Any, attribute: Attribute, problems: list[str]) -> list[str] | None:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(";") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{attribute.name}: must be a list of text, got {_shown(value)}")
        return None
    return value


_SEGMENT_MINUTES = Attribute("minutes", "number", "segment minutes", minimum=ZERO)


def segments_field(value: Any, problems: list[str]) -> list[dict[str, Any]]:
    """Segments: a list of {kind, minutes}; problems name the segment by its position (from 1)."""
    if not isinstance(value, list):
        problems.append(f"segments: must be a list of {{kind, minutes}}, got {_shown(value)}")
        return []
    segments = []
    for position, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            problems.append(f"segments: item {position} must be a mapping with kind and minutes, got {_shown(item)}")
            continue
        kind = item.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            problems.append(f"segments: item {position} needs a kind (text), got {_shown(kind)}")
            continue
        inner: list[str] = []
        raw = item.get("minutes")
        if raw.__class__ is int and 0 <= raw < MAX_MINUTES:
            segments.append({"kind": kind, "minutes": Decimal(raw)})
            continue
        minutes = number_field(raw, _SEGMENT_MINUTES, inner) if "minutes" in item else None
        if minutes is None:
            problems.extend(f"segments: item {position} {p}" for p in inner or ["needs minutes (a number)"])
            continue
        segments.append({"kind": kind, "minutes": minutes})
    return segments


def reconcile_minutes(typed: dict[str, Any], problems: list[str]) -> None:
    """Segments and minutes must agree; minutes default to the segments' total."""
    segments = typed["segments"]
    if not segments:
        return
    total = sum((segment["minutes"] for segment in segments), ZERO)
    if typed.get("minutes") is None:
        typed["minutes"] = total
    elif typed["minutes"] != total:
        problems.append(
            f"minutes: {format_number(typed['minutes'])} does not match the segments, "
            f"which add up to {format_number(total)}"
        )


def build_coercer(
    attributes: Mapping[str, Attribute], reader: DateReader, scales: Mapping[str, Sequence[str]], label: str,
    types: Collection[str] | None = None,
) -> Coercer:
    """Generate and compile the record checker for one spec (or for a spec's credential attributes).

    With `types` (the spec's activity types), a record of another type is checked for the standard attributes
    only: one log serves several specs, and an activity meant for another body must be rejected as an unknown
    type, not as malformed because it lacks an attribute this spec requires of its own activities.

    The typed record is a copy of the input with converted values (numbers → Decimal, dates → date); absent
    attributes stay absent and read as None. Each attribute gets a fast path for the common, valid case (plain
    text, an int within bounds, an ISO date), decided at generation time; anything else goes to the field
    functions above, which convert what they can and explain the rest.
    """
    lines = [
        "def coerce(r):",
        "    if r.__class__ is not dict:",
        "        if isinstance(r, _Unreadable):",
        "            return None, list(r.problems)",
        "        if not isinstance(r, dict):",
        f"            return None, ['{label} must be a mapping of attributes, got ' + _shown(r)]",
    ]
    own = {name: attribute for name, attribute in attributes.items() if name not in STANDARD_ATTRIBUTES}
    if types is not None and own:
        lines += ["    k = r.get('type')",
                  "    if k.__class__ is str and k not in _types:",
                  "        return _standard(r)"]
    lines += [
        "    p = []",
        "    t = r.copy()",
        "    get = r.get",
    ]
    namespace: dict[str, Any] = {
        "_shown": _shown, "_Decimal": Decimal, "_number": number_field, "_text": text_field, "_date": date_field,
        "_boolean": boolean_field, "_text_list": text_list_field, "_segments": segments_field,
        "_reconcile": reconcile_minutes, "_reader": reader, "_scales": scales, "_Unreadable": Unreadable,
        "_fromiso": date.fromisoformat, "_MAX_TEXT": MAX_TEXT,
    }  # fmt: skip
    if types is not None and own:
        namespace["_types"] = frozenset(types)
        standard = {name: attribute for name, attribute in attributes.items() if name in STANDARD_ATTRIBUTES}
        namespace["_standard"] = build_coercer(standard, reader, scales, label)
    for index, attribute in enumerate(attributes.values()):
        namespace[f"_a{index}"] = attribute
        lines.extend(_field_lines(attribute, index, namespace, reader, scales))
    if "segments" in attributes:
        lines.append("    if t.get('segments'):")
        lines.append("        _reconcile(t, p)")
    lines.append("    return t, p")
    exec(compile("\n".join(lines) + "\n", f"<records {label}>", "exec"), namespace)
    coerce: Coercer = namespace["coerce"]
    return coerce


def _field_lines(attribute: Attribute, index: int, namespace: dict[str, Any], reader: DateReader,
                 scales: Mapping[str, Sequence[str]]) -> list[str]:
    """Lines that check one attribute of `r` and store its typed value in `t` (None when malformed).

    The valid case costs one test: bounds and limits are written into the code as literals.
    """
    key = repr(attribute.name)
    slow = {
        "number": f"_number(v, _a{index}, p)", "integer": f"_number(v, _a{index}, p)",
        "text": f"_text(v, _a{index}, p, _scales)", "date": f"_date(v, _a{index}, p, _r{index})",
        "boolean": f"_boolean(v, _a{index}, p)", "text-list": f"_text_list(v, _a{index}, p)",
    }[attribute.type] if attribute.type != "segments" else ""  # fmt: skip
    lines = [f"    v = get({key})"]
    if attribute.required:
        lines += ["    if v is None:", f"        p.append({attribute.name + ': missing (required)'!r})",
                  f"        t[{key}] = None"]
        present = "    elif"
    else:
        present = "    elif"
        if attribute.type in ("number", "integer", "date", "segments"):
            lines += ["    if v is None:", "        pass"]
    if attribute.type == "segments":
        return [f"    v = get({key})", "    if v is not None:", f"        t[{key}] = _segments(v, p)"]
    if attribute.type in ("number", "integer"):
        # int bounds written as literals, so the common case compares int with int
        low, high = attribute.minimum, attribute.maximum
        lo = -(10**12) + 1 if low is None else int(low.to_integral_value(ROUND_CEILING))
        hi = 10**12 - 1 if high is None else int(high.to_integral_value(ROUND_FLOOR))
        return [*lines, f"{present} v.__class__ is int and {lo} <= v <= {hi}:", f"        t[{key}] = _Decimal(v)",
                "    else:", f"        t[{key}] = {slow}"]
    if attribute.type == "text":
        allowed = attribute.one_of or (tuple(scales.get(attribute.scale, ())) if attribute.scale else None)
        if allowed is not None:
            namespace[f"_in{index}"] = frozenset(allowed)
            bad = f"v.__class__ is not str or v not in _in{index}"
        else:
            bad = f"v.__class__ is not str or len(v) > {MAX_TEXT}" + (" or not v.strip()" if attribute.required else "")
        if attribute.required:
            return [*lines, f"    elif {bad}:", f"        t[{key}] = {slow}"]
        return [f"    v = get({key})", f"    if v is not None and ({bad}):", f"        t[{key}] = {slow}"]
    if attribute.type == "date":
        date_reader = DateReader(attribute.formats) if attribute.formats else reader
        namespace[f"_r{index}"] = date_reader
        fast: list[str] = []
        if "YYYY-MM-DD" in date_reader.formats:
            fast = [f"{present} v.__class__ is str and len(v) == 10 and v[4] == '-' and v[7] == '-' "
                    "and v[:4].isdigit():",
                    "        try:",
                    f"            t[{key}] = _fromiso(v)",
                    "        except ValueError:",
                    f"            t[{key}] = {slow}"]
            return [*lines, *fast, "    else:", f"        t[{key}] = {slow}"]
        return [*lines, "    else:", f"        t[{key}] = {slow}"]
    if attribute.required:
        return [*lines, "    else:", f"        t[{key}] = {slow}"]
    return [f"    v = get({key})", "    if v is not None:", f"        t[{key}] = {slow}"]
