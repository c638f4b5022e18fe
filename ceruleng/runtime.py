"""The runtime: what generated scoring code calls and raises, and the only globals it sees.

Imported by the back end (which names these helpers in the code it writes) and by the scorer (which catches the
errors); imports neither. Nothing here knows a spec: helpers are small, exact and total over their inputs, and the
errors carry what a member-facing reason needs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ceruleng import patterns, values
from ceruleng.expr.builtins import MAX_MATCH_INPUT


class Missing(LookupError):
    """An attribute a rule needs is not in the record, or a table has no row for a key."""

    def __init__(self, what: str, kind: str = "attribute") -> None:
        super().__init__(what)
        self.what = what
        self.kind = kind


class NotInForce(LookupError):
    """No version of a dated rule or parameter covers the day it is judged on: an error, never a guess."""

    def __init__(self, what: str, day: date) -> None:
        super().__init__(f"no version of {what} is in force on {day.isoformat()}")
        self.what = what
        self.day = day


def _missing(name: str) -> Any:
    raise Missing(name)


def _lookup(table: dict[Any, Any], key: Any, name: str) -> Any:
    try:
        return table[key]
    except KeyError:
        raise Missing(f"{name}[{values.format_value(key)}]", "table row") from None


def _lookup_or(table: dict[Any, Any], key: Any, fallback: Any) -> Any:
    return table.get(key, fallback)


def _matches(text: str, pattern: Any) -> bool:
    """Whether the whole text matches an RE2 pattern (patterns.compiled): linear time, bounded text."""
    if len(text) > MAX_MATCH_INPUT:
        raise values.ValueProblem(f"text of {len(text)} characters is too long to match (limit {MAX_MATCH_INPUT})")
    try:
        return pattern.fullmatch(text) is not None
    except UnicodeEncodeError:  # field readers refuse such text; kept for callers of the Python API
        raise values.ValueProblem("the text holds a lone surrogate, so it cannot be matched") from None


def _plural(count: Decimal, word: str, plural: str | None = None) -> str:
    return f"{values.format_number(count)} {word if count == 1 else plural or word + 's'}"


def _whole(value: Decimal) -> int:
    return values.as_whole(value, "a count of days, months or years")


RUNTIME: dict[str, Any] = {
    "__builtins__": {"min": min, "max": max, "abs": abs, "len": len, "any": any, "all": all, "sum": sum,
                     "bool": bool},
    "_Decimal": Decimal,
    "_date": date,
    "_SIXTY": values.SIXTY,
    "_ZERO": values.ZERO,
    "_missing": _missing,
    "_Missing": Missing,
    "_lookup": _lookup,
    "_lookup_or": _lookup_or,
    "_round_to": values.round_to,
    "_floor": values.floor,
    "_ceil": values.ceil,
    "_clamp": values.clamp,
    "_total": values.total,
    "_longest_run": values.longest_run,
    "_matches": _matches,
    "_plural": _plural,
    "_re_compile": patterns.compiled,
    "_lower": str.lower,
    "_upper": str.upper,
    "_trim": str.strip,
    "_length": lambda text: Decimal(len(text)),
    "_add_days": lambda day, n: values.add_days(day, _whole(n)),
    "_add_months": lambda day, n: values.add_months(day, _whole(n)),
    "_add_years": lambda day, n: values.add_months(day, 12 * _whole(n)),
    "_days_between": lambda start, end: Decimal((end - start).days),
    "_months_between": lambda start, end: Decimal(values.months_between(start, end)),
}
"""The only globals generated code sees: its helpers, and a few safe built-ins. No `__import__`, no `open`."""
