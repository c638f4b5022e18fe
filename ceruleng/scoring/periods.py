"""Evaluate: how one credential's periods are laid out, which period a day falls in, and which period is reported.

Input: a spec's `CompiledLayout` (generated functions and lengths) and one credential's context (certified_on and
its attributes). Output: `Period`s — number, first and last day, deadline, the end of its grace, the start of its
look-back — computed on demand and remembered, and the period a result is about as of a day.

How periods follow one another (docs/language.md, "Windows"):
- The first starts on `first.start`, else `cycle.start`, else `certified_on`; it ends on `first.end`, or after
  `first.length`, or as every period does.
- A layout with an `end` rule chains: each period starts the day after the previous one ends and ends where the
  rule says. A layout by `length` is anchored: period k starts `k × length` after the anchor (the first period's
  start, or the day after a first period of its own), so a 29 February anniversary never drifts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from msgspec import Struct

from ceruleng.compiled import CompiledLayout
from ceruleng.model import Duration
from ceruleng.values import ValueProblem, add_days, add_months

_ONE_DAY = timedelta(days=1)
MAX_PERIODS = 20_000
"""More periods than any credential can live through (a century of monthly periods is 1,200)."""


class LayoutError(ValueError):
    """A credential's periods cannot be laid out (an end before its start, a date past the calendar)."""


class Period(Struct, frozen=True):
    number: int
    """1 for the first period."""
    start: date
    end: date
    deadline: date
    grace_end: date | None
    """The last day an activity dated after `end` may count toward this period (None: no grace)."""
    look_back_start: date | None
    """For the first period with a look-back: the first day an activity dated before `start` counts toward it."""

    def context(self, base: dict[str, Any]) -> dict[str, Any]:
        """The credential context for rules judging this period."""
        return {**base, "cycle_start": self.start, "cycle_end": self.end, "cycle_number": self.number}

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def status(self, day: date) -> str:
        """Where `day` stands for this period: not started, open, in grace (after its end, while activities may still
        count toward it) or closed."""
        if day < self.start:
            return "not started"
        if day <= self.end:
            return "open"
        if self.grace_end is not None and day <= self.grace_end:
            return "in grace"
        return "closed"

    @property
    def closes(self) -> date:
        """The last day this period is still the one due: its deadline or the end of its grace, the later."""
        return max(self.deadline, self.grace_end or self.end)


def after(day: date, length: Duration, times: int = 1) -> date:
    """`day` plus `times` × `length`."""
    months = length.months
    if months is not None:
        return add_months(day, months * times)
    return add_days(day, length.amount * times)


class Periods:
    """One credential's periods, computed as they are asked for. A scorer remembers only the period each result is
    about (`Scorer.reported`), so a member whose result reaches into other periods gets Periods of its own; made
    per member, it has slots, not a dict of attributes."""

    __slots__ = ("_anchor", "_anchored_periods", "_known", "_months", "base", "layout")

    def __init__(self, layout: CompiledLayout, base: dict[str, Any]) -> None:
        self.layout = layout
        self.base = base
        self._known: list[Period] = []
        self._anchor: tuple[date, int] | None = None
        """For a layout by length: the day period `number` starts, and that number."""
        self._anchored_periods: dict[int, Period] = {}
        """Periods of a layout by length already laid out (a member's activities ask for the same few often)."""
        self._months = layout.length.months if layout.length is not None else None
        """A layout by length in months or years: that many months (None: by days, or chained by `end`)."""

    def _end_of(self, start: date, number: int, first: bool) -> date:
        layout = self.layout
        context = {**self.base, "cycle_start": start, "cycle_number": number}
        if first and layout.first_end is not None:
            end: date = layout.first_end(context)
        elif first and layout.first_length is not None:
            end = after(start, layout.first_length) - timedelta(days=1)
        elif layout.end is not None:
            end = layout.end(context)
        elif layout.length is not None:
            end = after(start, layout.length) - timedelta(days=1)
        else:  # pragma: no cover - check refuses a cycle with neither
            raise LayoutError("the cycle says neither how long a period lasts nor when it ends")
        if end < start:
            raise LayoutError(f"period {number} would start on {start.isoformat()} and end on {end.isoformat()}, "
                              "before it starts")
        return end

    def _period(self, number: int, start: date, end: date) -> Period:
        layout = self.layout
        if layout.deadline is not None:
            deadline: date = layout.deadline({**self.base, "cycle_start": start, "cycle_end": end,
                                              "cycle_number": number})
        else:
            deadline = add_days(end, 1)
        grace_end = after(end, layout.grace) if layout.grace is not None else None
        look_back = (after(start, layout.look_back, -1) if number == 1 and layout.look_back is not None else None)
        return Period(number, start, end, deadline, grace_end, look_back)

    def first(self) -> Period:
        if not self._known:
            layout = self.layout
            rule = layout.first_start or layout.start
            start: date = rule(self.base) if rule is not None else self.base["certified_on"]
            first_special = layout.first_start is not None or layout.first_end is not None \
                or layout.first_length is not None
            end = self._end_of(start, 1, first=True)
            self._known.append(self._period(1, start, end))
            if layout.end is None and layout.length is not None:
                self._anchor = (add_days(end, 1), 2) if first_special else (start, 1)
        return self._known[0]

    def at(self, number: int) -> Period:
        """Period `number` (from 1)."""
        if number < 1:
            raise LayoutError("there is no period before the first")
        if number > MAX_PERIODS:
            raise LayoutError(f"more than {MAX_PERIODS} periods after the first")
        first = self.first()
        if number == 1:
            return first
        if self._anchor is not None:
            return self._anchored(number)
        while len(self._known) < number:
            previous = self._known[-1]
            start = add_days(previous.end, 1)
            self._known.append(self._period(previous.number + 1, start, self._end_of(start, previous.number + 1,
                                                                                     first=False)))
        return self._known[number - 1]

    def _anchored(self, number: int) -> Period:
        found = self._anchored_periods.get(number)
        if found is None:
            found = self._anchored_periods[number] = self._lay_anchored(number)
        return found

    def _lay_anchored(self, number: int) -> Period:
        assert self._anchor is not None and self.layout.length is not None
        anchor, anchor_number = self._anchor
        steps = number - anchor_number
        months = self._months
        if months is not None:  # `after`, for a length in months or years
            start = add_months(anchor, months * steps)
            end = add_months(anchor, months * (steps + 1)) - _ONE_DAY
        else:
            start = after(anchor, self.layout.length, steps)
            end = after(anchor, self.layout.length, steps + 1) - _ONE_DAY
        return self._period(number, start, end)

    def containing(self, day: date) -> Period:
        """The period whose first and last day surround `day` (the first period for a day before it)."""
        first = self._known[0] if self._known else self.first()
        if day <= first.end:
            return first
        months = self._months
        if self._anchor is not None and months is not None:
            anchor, anchor_number = self._anchor
            steps = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
            number = anchor_number + max(0, min(steps, MAX_PERIODS))
            laid = self._anchored_periods  # every member's activities ask this: the periods already laid, first
            period = laid.get(number) or self.at(number)
            while number > anchor_number and period.start > day:
                number -= 1
                period = laid.get(number) or self.at(number)
            while period.end < day:
                number += 1
                period = laid.get(number) or self.at(number)
            return period
        number = 1
        while True:
            period = self.at(number)
            if day <= period.end:
                return period
            number += 1


PERIOD_CHOICES = ("due", "previous", "current", "next")
"""Which period a result is about: the one due (default), or the one before, containing or after the scoring day;
a date picks the period containing it."""


def reported(periods: Periods, day: date, choice: str | date = "due") -> Period:
    """The period a result is about as of `day`.

    "due" (the default) is the period still open on `day`, or, while the one before it is still in its grace or
    before its deadline, that one: on the deadline day a member sees the period that is due, not the next, empty one.
    """
    if isinstance(choice, date):
        return periods.containing(choice)
    current = periods.containing(day)
    if choice == "current":
        return current
    if choice == "next":
        return periods.at(current.number + 1)
    if choice == "previous":
        return periods.at(current.number - 1)
    if current.number > 1:
        before = periods.at(current.number - 1)
        if day <= before.closes:
            return before
    return current


__all__ = ["PERIOD_CHOICES", "LayoutError", "Period", "Periods", "ValueProblem", "after", "reported"]
