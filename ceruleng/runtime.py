"""The runtime: what generated scoring code calls and raises, and the only globals it sees.

Imported by the back end (which names these helpers in the code it writes) and by the scorer (which catches the
errors); imports neither. Nothing here knows a spec: helpers are small, exact and total over their inputs, and the
errors carry what a member-facing reason needs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from ceruleng import fields, patterns, values

Reason = str | tuple[int, tuple[Any, ...]]
"""A reason: a finished sentence, or (template number, captured values) rendered only when a report shows it."""


class Outcome(NamedTuple):
    """What scoring one activity decided: the category (by number; None when none took it), status, credit and
    reasons. Generated scoring functions return one; the scorer turns it into an `ActivityResult`."""

    category: int | None
    status: str
    credits: Decimal
    reasons: tuple[Reason, ...]
    tags: dict[str, Any] | None = None
    """The tags its credit carries (for specs that declare tags)."""
    parts: tuple[tuple[Decimal, dict[str, Any]], ...] | None = None
    """The credit split into parts, each with its amount and tags (a category with `split`)."""
    key: str | None = None
    """What makes it the same activity as another (a category with `repeats`)."""


COMPUTE_ERRORS = (ArithmeticError, values.ValueProblem, OverflowError)
"""What computing a rule may raise for one activity's values (division by zero, overflow, a bad increment, a date
out of range): that activity is rejected with a reason naming the rule, and the run goes on."""


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
    if len(text) > patterns.MAX_MATCH_INPUT:
        raise values.ValueProblem(f"text of {len(text)} characters is too long to match "
                                  f"(limit {patterns.MAX_MATCH_INPUT})")
    try:
        return pattern.fullmatch(text) is not None
    except UnicodeEncodeError:  # field readers refuse such text; kept for callers of the Python API
        raise values.ValueProblem("the text holds a lone surrogate, so it cannot be matched") from None


def _plural(count: Decimal, word: str, plural: str | None = None) -> str:
    return f"{values.format_number(count)} {word if count == 1 else plural or word + 's'}"


def _make_date(year: Decimal, month: Decimal, day: Decimal) -> date:
    parts = [values.as_whole(value, what) for value, what in ((year, "a year"), (month, "a month"), (day, "a day"))]
    try:
        return date(*parts)
    except ValueError:
        raise values.ValueProblem(f"there is no date {parts[0]:04d}-{parts[1]:02d}-{parts[2]:02d}") from None


def _start_of_month(day: date) -> date:
    return day.replace(day=1)


def _end_of_month(day: date) -> date:
    return values.add_days(values.add_months(day.replace(day=1), 1), -1)


def _mod(value: Decimal, divisor: Decimal) -> Decimal:
    if divisor <= 0:
        raise values.ValueProblem(f"mod() needs a divisor above zero, got {values.format_number(divisor)}")
    return value - divisor * values.floor(value / divisor)


_ROUNDINGS = values.ROUNDING_MODES
_snap = values._SNAP.plus  # the snap `values.round_to` makes before rounding in a direction


def _round_to(value: Decimal, increment: Decimal, mode: str) -> Decimal:
    """`values.round_to`, with its checks answered first for the usual case (an increment above zero, a mode it
    knows), so every scored activity does not pay for them: the same steps, the same result. Anything else goes
    to `values.round_to`, which says what is wrong."""
    rounding = _ROUNDINGS.get(mode) if mode.__class__ is str else None
    if rounding is None or not increment > values.ZERO:
        return values.round_to(value, increment, mode)
    return _snap(value / increment).to_integral_value(rounding) * increment


def _whole(value: Decimal) -> int:
    return values.as_whole(value, "a count of days, months or years")


SAFE_BUILTINS = {"min": min, "max": max, "abs": abs, "len": len, "any": any, "all": all, "sum": sum, "bool": bool,
                 "tuple": tuple}
"""The only built-ins generated code may call."""

RUNTIME: dict[str, Any] = {
    "__builtins__": SAFE_BUILTINS,
    "_Outcome": partial(tuple.__new__, Outcome),  # an `Outcome` from a tuple of all seven of its fields, at C speed
    "_NotInForce": NotInForce,
    "_Decimal": Decimal,
    "_date": date,
    "_SIXTY": values.SIXTY,
    "_ZERO": values.ZERO,
    "_missing": _missing,
    "_Missing": Missing,
    "_lookup": _lookup,
    "_lookup_or": _lookup_or,
    "_round_to": _round_to,
    "_snap": _snap,
    "_reportable": values.reportable,
    "_MAX_REPORTED": values.MAX_REPORTED,
    "_floor": values.floor,
    "_ceil": values.ceil,
    "_clamp": values.clamp,
    "_total": values.total,
    "_longest_run": values.longest_run,
    "_matches": _matches,
    "_plural": _plural,
    "_fixed": values.fixed_places,
    "_re_compile": patterns.compiled,
    "_lower": str.lower,
    "_upper": str.upper,
    "_trim": str.strip,
    "_length": lambda text: Decimal(len(text)),
    "_make_date": _make_date,
    "_start_of_month": _start_of_month,
    "_end_of_month": _end_of_month,
    "_mod": _mod,
    "_add_days": lambda day, n: values.add_days(day, _whole(n)),
    "_add_whole_days": values.add_days,  # a count written as a whole literal (`backend.expressions._shift`)
    "_add_whole_months": values.add_months,
    "_add_months": lambda day, n: values.add_months(day, _whole(n)),
    "_add_years": lambda day, n: values.add_months(day, 12 * _whole(n)),
    "_days_between": lambda start, end: Decimal((end - start).days),
    "_months_between": lambda start, end: Decimal(values.months_between(start, end)),
}
"""The only globals generated scoring code sees: its helpers, and a few safe built-ins. No `__import__`, no `open`."""


def _is_unreadable(record: Any) -> bool:
    return isinstance(record, fields.Unreadable)


def _is_mapping(record: Any) -> bool:
    return isinstance(record, dict)


RECORDS: dict[str, Any] = {
    "__builtins__": SAFE_BUILTINS,
    "_shown": fields.shown,
    "_Decimal": Decimal,
    "_number": fields.number_field,
    "_text": fields.text_field,
    "_date": fields.date_field,
    "_boolean": fields.boolean_field,
    "_text_list": fields.text_list_field,
    "_segments": fields.segments_field,
    "_reconcile": fields.reconcile_minutes,
    "_is_unreadable": _is_unreadable,
    "_is_mapping": _is_mapping,
    "_problems_of": lambda record: [*record.problems],
    "_fromiso": date.fromisoformat,
    "_dict": dict,
    "_str": str,
    "_int": int,
}
"""The only globals a generated record checker sees: the field readers of `ceruleng.fields` and safe built-ins."""
