"""Activity and credential fields: raw input values → typed values, with a sentence for each problem.

Input: one raw value and the declaration of the attribute it is for. Output: the typed value (numbers → Decimal,
dates → date, text checked against scales and choices) or None and a problem that names the field and says what is
wrong, in words a member understands. The generated record checker (`ceruleng.backend.records`) calls these for
every value that is not on its fast path; the standard attributes every activity may carry are declared here.

The checks mirror `schemas/activities.schema.json` for the standard fields; a test keeps the two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ceruleng.model import Attribute
from ceruleng.surrogates import UnencodableText
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

MAX_SEGMENTS = 1_000
"""Most segments one activity may list: a week-long conference has a few hundred parts; more is generated or an
attack, and every spec that reads segments walks them once per credential."""

Coercer = Callable[[Any], tuple[dict[str, Any] | None, list[str]]]


class Unreadable(dict[str, Any]):
    """A record an input reader could only partly read (a CSV row with extra fields): malformed, with reasons."""

    def __init__(self, values: dict[str, Any], problems: list[str]) -> None:
        super().__init__(values)
        self.problems = problems


def _shown(value: Any) -> str:
    """A value as a reason quotes it: text cut at 40 characters, numbers of absurd length by their size only."""
    if isinstance(value, str):
        return f"'{value[:40]}{'…' if len(value) > 40 else ''}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, UnencodableText):
        return f"'{value.shown[:60]}{'…' if len(value.shown) > 60 else ''}'"
    if isinstance(value, Decimal | int):
        digits = len((value if isinstance(value, Decimal) else Decimal(value)).as_tuple().digits)
        if digits > 40:
            return f"a number of {digits:,} digits"
    return str(value)


_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
"""A number written as text: digits with an optional sign and decimal point (no exponent, separators or other
scripts' digits)."""


def number_field(value: Any, attribute: Attribute, problems: list[str]) -> Decimal | None:
    """A number from an int, a Decimal or numeric text; None (and a problem) when it is not one."""
    name = attribute.name
    if isinstance(value, float):
        # only a caller in Python can hand over a float (JSON and CSV numbers arrive as exact text)
        problems.append(f"{name}: must be a number, got the binary float {value!r} (pass a Decimal or the number "
                        f"as text, so credit stays exact)")
        return None
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
    if isinstance(value, UnencodableText):
        problems.append(f"{name}: {_shown(value)} holds a lone surrogate (an escape such as \\udc41 that is not a "
                        "character), so it is not text")
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
    if len(value) > MAX_SEGMENTS:
        problems.append(f"segments: {len(value)} segments are too many for one activity (limit {MAX_SEGMENTS})")
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
    total = sum((segment["minutes"] for segment in segments), ZERO)  # each < 10**12, at most 1,000: exact
    if total >= MAX_MINUTES:
        problems.append(f"segments: add up to {format_number(total)} minutes, out of range "
                        f"(largest accepted: {MAX_MINUTES - 1})")
        return
    if typed.get("minutes") is None:
        typed["minutes"] = total
    elif typed["minutes"] != total:
        problems.append(
            f"minutes: {format_number(typed['minutes'])} does not match the segments, "
            f"which add up to {format_number(total)}"
        )


shown = _shown
"""How a raw value is quoted in a problem sentence (the generated record checker uses it too)."""
