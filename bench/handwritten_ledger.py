"""A hand-written scorer for bench/specs/ledger-heavy.yaml: the speed limit of the ledger (bench/run.py).

It implements the same policy directly in Python, as a careful developer would for production: yearly periods from
certification, credit in quarter hours rounded down, tags from the category (ethics, self-study), three limits cut
in date order (self-study at most 8; service and mentoring at most 10, of which mentoring at most 4), an ethics
minimum of 3, and a carry-over of at most 10 hours from the last 6 months of a period, never service or mentoring,
at most 2 of them ethics, the latest first, keeping their tags (carried ethics counts toward the next period's
minimum). It checks every record against the same contract as the spec (an id, a known type, an ISO date, bounded
minutes) and keeps reasons as deferred (kind, values) pairs, as ceruleng does, rendering none. It uses no ceruleng
code. It reports the period containing the scoring day, accounting every period from the member's first activity.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
QUARTER = Decimal("0.25")
REQUIRED = Decimal(20)
ETHICS_MINIMUM = Decimal(3)
CARRY_MAX = Decimal(10)
CARRY_ETHICS = Decimal(2)
CATEGORY = {"course": "course", "ethics-course": "ethics", "self-study": "self-study",
            "self-study-ethics": "self-study-ethics", "service": "service", "mentoring": "mentoring"}
ETHICS = frozenset({"ethics", "self-study-ethics"})
SELF_STUDY = frozenset({"self-study", "self-study-ethics"})
SERVICE = frozenset({"service", "mentoring"})
LIMITS = (("self-study", Decimal(8), SELF_STUDY), ("service", Decimal(10), SERVICE),
          ("mentoring", Decimal(4), frozenset({"mentoring"})))


def _years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30,
            31, 30, 31][month]
    return date(year, month + 1, min(day.day, last))


def _minutes(value: Any) -> Decimal | None:
    if type(value) is int:
        return Decimal(value) if 0 <= value < 10**12 else None
    if type(value) is Decimal:
        return value if value.is_finite() and 0 <= value < 10**12 else None
    return None


class Entry:
    """Credit counted toward a period (an activity's, cut by limits; or carried in)."""

    __slots__ = ("activity", "carried", "category", "credits", "day")

    def __init__(self, activity: dict[str, Any], category: str, day: date, credits: Decimal,
                 carried: bool = False) -> None:
        self.activity, self.category, self.day, self.credits, self.carried = activity, category, day, credits, carried


def _typed(record: Any, seen: set[str]) -> tuple[str, date, Decimal] | str:
    """(category, date, credits) of a well-formed record, or why it is malformed."""
    if not isinstance(record, dict):
        return "not a mapping"
    identifier = record.get("id")
    if not isinstance(identifier, str) or not identifier:
        return "id: missing"
    if identifier in seen:
        return f"id: '{identifier}' is used twice"
    seen.add(identifier)
    category = CATEGORY.get(record.get("type"))  # type: ignore[arg-type]
    if category is None:
        return "type: unknown"
    text = record.get("date")
    try:
        day = date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return "date: not a date"
    minutes = _minutes(record.get("minutes"))
    if minutes is None:
        return "minutes: missing or not a number"
    return category, day, (minutes / 60 // QUARTER) * QUARTER


def score_member(document: dict[str, Any], as_of: date) -> dict[str, Any]:  # noqa: PLR0912, PLR0915 - one pass, by hand
    """The member's result for the period containing `as_of`: each activity's (category, status, credits), the
    period's earned, carried in, minimum and whether it is met."""
    certified = date.fromisoformat(str(document["credentials"][0]["certified_on"]))
    seen: set[str] = set()
    typed = []
    for record in document["activities"]:
        found = _typed(record, seen)
        typed.append((record, found))
    number = 0
    while _years(certified, number + 1) <= as_of:
        number += 1
    reported = number
    homes: dict[int, list[tuple[dict[str, Any], str, date, Decimal]]] = {}
    for record, found in typed:
        if isinstance(found, tuple):
            category, day, credits = found
            if day >= certified:
                home = 0
                while _years(certified, home + 1) <= day:
                    home += 1
                homes.setdefault(home, []).append((record, category, day, credits))
    first = min((home for home in homes if home <= reported), default=reported)
    carried_in = ZERO
    carried: list[Entry] = []
    outcome: dict[int, tuple[str, str, Decimal, tuple[Any, ...]]] = {}
    earned = ZERO
    ethics = ZERO
    for period in range(first, reported + 1):
        start, end = _years(certified, period), _years(certified, period + 1) - timedelta(days=1)
        own = [Entry(record, category, day, credits) for record, category, day, credits in homes.get(period, ())]
        own.sort(key=lambda entry: (entry.day, entry.activity["id"]))
        used = [ZERO, ZERO, ZERO]
        for entry in own:
            allowed = entry.credits
            binding = None
            for index, (name, at_most, categories) in enumerate(LIMITS):
                if entry.category in categories and used[index] + allowed > at_most:
                    room = max(ZERO, at_most - used[index])
                    if room < allowed:
                        allowed, binding = room, name
            if binding is not None:
                entry.credits = allowed
            for index, (_name, _at_most, categories) in enumerate(LIMITS):
                if entry.category in categories:
                    used[index] += entry.credits
            if period == reported:
                status = "awarded" if binding is None else "capped"
                outcome[id(entry.activity)] = (entry.category, status, entry.credits,
                                               ("credit", entry.category, entry.credits, binding))
        earned = sum((entry.credits for entry in own), ZERO)
        ethics = sum((entry.credits for entry in (*own, *carried) if entry.category in ETHICS), ZERO)
        if period == reported:
            break
        surplus = earned + carried_in - REQUIRED
        amount = max(ZERO, min(surplus, CARRY_MAX, earned))
        window_start = _months(end + timedelta(days=1), -6)
        left = amount
        ethics_used = ZERO
        next_carried: list[Entry] = []
        eligible = [e for e in own if e.category not in SERVICE and window_start <= e.day <= end]
        for entry in sorted(eligible, key=lambda e: (e.day, e.activity["id"]), reverse=True):
            if left <= ZERO:
                break
            take = min(left, entry.credits)
            if entry.category in ETHICS:
                take = min(take, max(ZERO, CARRY_ETHICS - ethics_used))
            if take <= ZERO:
                continue
            if entry.category in ETHICS:
                ethics_used += take
            left -= take
            next_carried.append(Entry(entry.activity, entry.category, end + timedelta(days=1), take, carried=True))
        carried_in, carried = amount - left, next_carried
        del start
    results = []
    start = _years(certified, reported)
    for record, found in typed:
        if not isinstance(found, tuple):
            results.append((None, "rejected", ZERO, ("malformed", found)))
        elif id(record) in outcome:
            results.append(outcome[id(record)])
        else:
            results.append((found[0], "rejected", ZERO, ("outside", found[1], start)))
    held = earned + carried_in
    return {"activities": results, "earned": earned, "carried_in": carried_in, "ethics": ethics,
            "met": held >= REQUIRED and ethics >= ETHICS_MINIMUM}
