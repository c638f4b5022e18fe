"""Runtime values: exact decimals, calendar dates, rounding to an increment, and how values print.

Input: numbers, dates and text from activity records and specs. Output: `Decimal` and `date` values computed in one
explicit decimal context, and their text. Imports nothing from ceruleng, so generated scoring code and every stage
can use it without pulling in the pipeline.

Why these choices:
- Every number is a `Decimal` made from text or an int, never from a float; one context (28 significant digits,
  traps on division by zero, overflow and invalid operations) is used for all arithmetic.
- Rounding in a direction ("down", "up") first rounds the value to 26 significant digits, so that the last-place
  error of a division (100/60*60 = 100.00000000000000000000000002) cannot push a value across an increment.
- Dates are plain calendar dates; months and years are added with the day clamped to the month's end
  (2024-02-29 plus one year is 2025-02-28), always from the anchor, so cycles never drift.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

CONTEXT = Context(
    prec=28, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999, traps=[DivisionByZero, InvalidOperation, Overflow]
)
_SNAP = Context(prec=26, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)

ZERO = Decimal(0)
SIXTY = Decimal(60)

ROUNDING_MODES = {
    "down": ROUND_FLOOR,
    "up": ROUND_CEILING,
    "half-up": ROUND_HALF_UP,
    "half-down": ROUND_HALF_DOWN,
    "half-even": ROUND_HALF_EVEN,
}
"""Rounding modes a spec may name. 'down' and 'up' are toward minus and plus infinity; the 'half-' modes round to
the nearest increment and say how an exact tie goes (half-up: away from zero; half-even: to the even multiple)."""

MAX_MAGNITUDE = Decimal(10) ** 12
"""Largest absolute value accepted from input data; beyond it a value is a typo or an attack, never a policy fact."""
MAX_PLACES = 12
"""Most decimal places accepted from input data."""


class ValueProblem(ArithmeticError):
    """A run-time problem computing one activity's value (a bad increment, a date out of range)."""


class PastTheCalendar(ValueProblem):
    """Date arithmetic that would leave the calendar (past 9999-12-31 or before year 1): periods laid out near the
    calendar's end say so in words of their own."""


MAX_REPORTED = Decimal(10) ** 15
"""Every credit a rule computes (an activity's, a part's, a requirement, a cap, a minimum) stays below this in size:
printed at any spec's precision (at most 6 places) and summed over millions of activities it still fits the
28-digit context, so no total can fail to print."""


def reportable(value: Decimal) -> Decimal:
    """A computed credit that can be reported, or ValueProblem: input numbers are bounded, but a rule may multiply
    them (`minutes * minutes * minutes`) past what any report can print."""
    if abs(value) >= MAX_REPORTED:
        digits = value.adjusted() + 1
        raise ValueProblem(f"it is {format_number(value) if digits <= 20 else f'a number of {digits} digits'}, too "
                           "large to report (a credit must be below 10^15)")
    return value


def round_to(value: Decimal, increment: Decimal, mode: str) -> Decimal:
    """Round `value` to a multiple of `increment` in the named mode (see ROUNDING_MODES)."""
    if increment <= 0:
        raise ValueProblem(f"rounding increment must be above zero, got {format_number(increment)}")
    rounding = ROUNDING_MODES.get(mode) if isinstance(mode, str) else None
    if rounding is None:  # a mode computed from data that `check` could not see
        raise ValueProblem(f"'{format_value(mode)[:40]}' is not a rounding mode (modes: {', '.join(ROUNDING_MODES)})")
    steps = _SNAP.plus(value / increment).to_integral_value(rounding=rounding)
    return steps * increment


def floor(value: Decimal) -> Decimal:
    return _SNAP.plus(value).to_integral_value(rounding=ROUND_FLOOR)


def ceil(value: Decimal) -> Decimal:
    return _SNAP.plus(value).to_integral_value(rounding=ROUND_CEILING)


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    if low > high:
        raise ValueProblem(f"clamp bounds are reversed: {format_number(low)} is above {format_number(high)}")
    return min(max(value, low), high)


def total(values: Iterable[Decimal]) -> Decimal:
    """Sum of decimals, starting from an exact zero (the built-in `sum` starts from int 0, which is fine but slower)."""
    result = ZERO
    for value in values:
        result += value
    return result


def longest_run(items: Sequence[Any], value: Callable[[Any], Decimal], breaks: Callable[[Any], bool]) -> Decimal:
    """The largest sum of `value` over consecutive items, a run ending at every item for which `breaks` holds."""
    best = current = ZERO
    for item in items:
        if breaks(item):
            current = ZERO
            continue
        current += value(item)
        best = max(best, current)
    return best


# ---- dates -------------------------------------------------------------------------------------------------------

DATE_FORMATS: dict[str, str] = {
    "YYYY-MM-DD": r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})",
    "MM/DD/YYYY": r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})",
    "DD/MM/YYYY": r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})",
    "DD.MM.YYYY": r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})",
}
"""Date formats a spec may accept for activity dates, by the name it writes in `dates.formats`."""

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class DateReader:
    """Reads a date written in any of a spec's accepted formats; made once per spec."""

    __slots__ = ("_iso_only", "_patterns", "formats")

    def __init__(self, formats: Sequence[str]) -> None:
        self.formats = tuple(formats)
        self._iso_only = self.formats == ("YYYY-MM-DD",)
        self._patterns = [re.compile(DATE_FORMATS[name], re.ASCII) for name in self.formats]

    def __call__(self, text: str) -> date:
        """The date, or ValueError with a sentence naming the accepted formats."""
        if self._iso_only and len(text) == 10 and _ISO.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"'{text}' is not a real calendar date") from None
        for pattern in self._patterns:
            match = pattern.fullmatch(text)
            if match:
                try:
                    return date(int(match["y"]), int(match["m"]), int(match["d"]))
                except ValueError:
                    raise ValueError(f"'{text}' is not a real calendar date") from None
        return self._explain_failure(text)

    def _explain_failure(self, text: str) -> date:
        accepted = " or ".join(self.formats)
        if "T" in text and _ISO.match(text):
            raise ValueError(f"'{text}' is a timestamp; write the calendar date alone ({accepted})")
        raise ValueError(f"'{text}' is not a date written {accepted}")


def parse_iso_date(text: str) -> date:
    """A YYYY-MM-DD date (spec literals, --as-of, certification dates)."""
    if not _ISO.fullmatch(text):
        raise ValueError(f"'{text}' is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a real calendar date") from None


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(start: date, months: int) -> date:
    """`start` plus whole months, the day clamped to the end of a shorter month."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise PastTheCalendar(f"date out of range adding {months} months to {start.isoformat()}")
    day = start.day
    if day > 28:
        last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
        day = min(day, last)
    return date(year, month + 1, day)


def add_days(start: date, days: int) -> date:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise PastTheCalendar(f"date out of range adding {days} days to {start.isoformat()}") from None


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (negative when `end` is earlier); a month counts once its day is reached."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


def as_whole(value: Decimal, what: str) -> int:
    """A decimal that must be a whole number (a count of days or months)."""
    if value != value.to_integral_value():
        raise ValueProblem(f"{what} must be a whole number, got {format_number(value)}")
    return int(value)


# ---- printing ----------------------------------------------------------------------------------------------------


def format_number(value: Decimal) -> str:
    """A decimal as a person writes it: no exponent, no trailing zeros after the point (1.50 → 1.5, 2.0 → 2).

    Shown to 26 significant digits, so the last-place error of a division (1/3*3) does not show as 0.999….
    """
    if not value.is_finite():
        return str(value)  # only reachable through the Python API; input readers refuse NaN and infinities
    if value and not -40 < value.adjusted() < 40:
        return str(value)  # absurd magnitudes (1e999999 in a hostile file) in exponent form, never a million digits
    if value != value.to_integral_value():
        value = _SNAP.plus(value)
        if value != value.to_integral_value():
            return format(value.normalize(CONTEXT), "f")
    return format(value.to_integral_value(), "f") if value else "0"  # whole: every digit, however many


_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(13))


_FORMATTED: dict[tuple[Decimal, int], str] = {}


def format_credits(value: Decimal, places: int) -> str:
    """Credits at a spec's precision, always with that many places (0.1, 2.40, 3); an exact tie goes to the even digit.

    Reports print the same few amounts millions of times, so recent ones are remembered.
    """
    key = (value, places)
    found = _FORMATTED.get(key)
    if found is None:
        if len(_FORMATTED) > 4096:
            _FORMATTED.clear()
        text = str(value.quantize(_QUANTA[places], context=CONTEXT))
        found = _FORMATTED[key] = text[1:] if text.startswith("-") and not value else text
    return found


def fixed_places(value: Decimal, places: Decimal) -> str:
    """`fixed(value, places)`: the number with exactly `places` decimal places (an exact tie to the even digit, as
    credits and totals print), never in exponent form; ValueProblem for places outside 0 to 12, or a number too
    large to show with them."""
    count = as_whole(places, "the number of places")
    if not 0 <= count < len(_QUANTA):
        raise ValueProblem(f"fixed() shows 0 to {len(_QUANTA) - 1} places, not {count}")
    try:
        shown = value.quantize(_QUANTA[count], context=CONTEXT)
    except InvalidOperation:  # more digits than the context holds
        raise ValueProblem(f"{format_number(value)} is too large to show with {count} places") from None
    return format(shown.copy_abs() if shown.is_zero() else shown, "f")  # -0.001 shows as 0.00, not -0.00


def at_precision(value: Decimal, places: int) -> Decimal:
    """A total as the spec reports it (its places, an exact tie to the even digit): what requirements, minimums and
    limits judge, so three credits of 20/60 meet a requirement of 1 exactly as the report shows."""
    return value.quantize(_QUANTA[places], context=CONTEXT)


def half_place(places: int) -> Decimal:
    """Half the last place a spec reports (0.005 for two places): a value at or below it reports as zero, and the
    totals that report at or below an amount already at that precision are those below it plus half of it."""
    return _QUANTA[places] / 2


def format_value(value: object) -> str:
    """Any runtime value as text for a reason sentence."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    if isinstance(value, dict):  # a row of a table with columns
        return ", ".join(f"{key}: {format_value(item)}" for key, item in value.items())
    return str(value)


def checked_decimal(value: Decimal) -> Decimal:
    """An input number within the accepted range and precision, or ValueError saying why not.

    Decided from the number's digits and exponent alone (`adjusted()`, `as_tuple()`), never by arithmetic: `abs()`
    or a comparison would round in the current context and overflow on 7e2000000 before the check could refuse it.
    """
    if not value.is_finite():
        raise ValueError("is not a finite number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if value.is_zero():
        if exponent < -MAX_PLACES:
            raise ValueError(f"has more than {MAX_PLACES} decimal places")
        return value.copy_abs() if exponent <= 0 else ZERO  # -0 is 0; 0E+2000000 is plain 0
    if value.adjusted() >= MAX_DIGITS_BEFORE_POINT:
        raise ValueError("is out of range (largest accepted: 999999999999)")
    if exponent < -MAX_PLACES:
        raise ValueError(f"has more than {MAX_PLACES} decimal places")
    return value


MAX_DIGITS_BEFORE_POINT = 12
"""`adjusted()` of the smallest number refused: |x| >= 10**12 exactly when x.adjusted() >= 12 (see MAX_MAGNITUDE)."""

_MOST_EXPONENT = 10**15
"""An exponent past what `Decimal` can hold is clamped to this: still far outside every accepted range."""


def parse_number_text(text: str) -> Decimal:
    """A Decimal from number text of any size (JSON and YAML numbers), never an exception for well-formed text.

    `Decimal()` is linear in the number of digits and takes exponents up to about 10**18; beyond that it raises
    InvalidOperation. Such a number (1e99999999999999999999) is clamped to an exponent that is still astronomically
    out of range, so the field reader refuses it with the same sentence as any other out-of-range number.
    """
    try:
        return Decimal(text)
    except InvalidOperation:
        mantissa, _, exponent = text.lower().partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        return Decimal(f"{mantissa}e{sign}{_MOST_EXPONENT}")


def int_or_decimal(text: str) -> int | Decimal:
    """An integer's text as an int, or as a Decimal past `MAX_INT_DIGITS` digits.

    Python refuses to convert more than 4,300 digits to an int (a ValueError) and its conversion is quadratic
    below that limit; a Decimal of any length is built in linear time and then refused by the range check.
    """
    if len(text) <= MAX_INT_DIGITS:
        return int(text)
    return Decimal(text)


MAX_INT_DIGITS = 40
"""Longest integer text read as a Python int; longer ones (never a real count or id) become Decimal."""


PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
"""A number written as text: ASCII digits with an optional sign and decimal point. `Decimal()` would also take
'1_000', '٩٠', '1e5' and 'Infinity'; text that means a number is written plainly."""


def spec_number(value: object) -> Decimal:
    """A number a spec gives as data (a table row, a CSV table cell): an int or Decimal, or plain number text,
    within the range every number obeys; ValueError saying why not."""
    if isinstance(value, str):
        if not PLAIN_NUMBER.fullmatch(value.strip()):
            raise ValueError("is not a number written plainly (digits and an optional decimal point)")
        return checked_decimal(Decimal(value.strip()))
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return checked_decimal(Decimal(value))
    raise ValueError("is not a number")


__all__ = [
    "CONTEXT",
    "DATE_FORMATS",
    "ROUNDING_MODES",
    "DateReader",
    "DivisionByZero",
    "InvalidOperation",
    "Overflow",
    "ValueProblem",
]
