"""Evaluate: entries of credit — what the ledger counts, the day each counts on, and the windows it is counted in.

Input: an awarded `ActivityResult` (its credit, and the tags, parts and key its rules gave in its `Outcome`), the
day it counts on and its period's number; a period's context and a rule's `CompiledWindow`. Output: `Entry`s (one,
or one per part when its category splits it; each with its amount, day, category, tags and the fields `select`
conditions read), the first and last day a window counts and its parts, and the context with a period's totals
that cycle rules read (`entries` among them, made only when a rule reads it).

Every limit, minimum and carry-over reads entries, never activities, so they all see the same credit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

from ceruleng.compiled import CompiledWindow
from ceruleng.model import Duration
from ceruleng.scoring.periods import after
from ceruleng.scoring.results import ActivityResult, Behind
from ceruleng.values import ZERO


class Entry:
    """Credit counted toward a period: how much (after repeats, tiers and limits), on which day, of what. One is
    made for every activity of every period accounted, so it is a plain record with slots."""

    __slots__ = ("activity", "carried", "category", "counts_on", "credits", "known_fields", "order", "period",
                 "tags")

    def __init__(self, activity: ActivityResult, counts_on: date, period: int, credits: Decimal,
                 tags: dict[str, Any], carried: bool = False, known_fields: dict[str, Any] | None = None) -> None:
        self.activity = activity
        self.counts_on = counts_on
        self.period = period
        self.credits = credits
        self.tags = tags
        """Its tags. `entries_of` makes the usual entry with one dict for its tags and its `fields()`: the fields
        come after the tags, so they win, as in `fields()`, wherever the dict is read as tags (a copy for carried
        credit)."""
        self.carried = carried
        self.known_fields = known_fields
        self.category: str | None = activity.category
        self.order = (counts_on, activity.id or "")
        """Where it stands in date order (then id), the order limits cut in and reports list: made once, as the
        sort key every sort of entries uses (`ORDER`)."""

    def fields(self) -> dict[str, Any]:
        """The entry as `select` conditions and `entries` read it: its own fields, then its tags. Built once (every
        limit and minimum asks); only its credits change, as limits cut it."""
        found = self.known_fields
        if found is None:
            activity = self.activity
            found = self.known_fields = {**self.tags, "category": activity.category, "type": activity.type,
                                         "date": activity.date, "credits": self.credits, "carried": self.carried}
        else:
            found["credits"] = self.credits
        return found


ORDER = attrgetter("order")
"""The sort key of entries: date order, then id (`Entry.order`)."""

_NO_TAGS: dict[str, Any] = {}
"""The tags of every entry of a spec that declares none: shared, so read only (`fields()` and carry-over copy)."""


def entries_of(activity: ActivityResult, counts_on: date, period: int) -> list[Entry]:
    """The entries an awarded activity gives: one, or one per part of a split (what the parts do not take stays
    with the category's own tags). Its rules give every declared tag (None when nothing gives it), with the fields
    `select` conditions read, in one mapping (`backend.functions._ledger_fields`)."""
    outcome = activity.outcome
    own = outcome.tags if outcome is not None else None
    parts = outcome.parts if outcome is not None else None
    credits = activity.credits
    if not parts:
        if own is None:  # a spec without tags: one entry, sharing one empty mapping of tags
            return [Entry(activity, counts_on, period, credits, _NO_TAGS)]
        # the usual entry: its tags and its `fields()` in the one dict its rules made (see `Entry.tags`)
        own["credits"] = credits
        return [Entry(activity, counts_on, period, credits, own, False, own)]
    assert own is not None, "a split category's rules give its tags"
    found: list[Entry] = []
    left = credits
    for amount, part_tags in parts:  # each part's tags are the category's, with its own over them
        share = max(ZERO, min(amount, left))
        left -= share
        found.append(Entry(activity, counts_on, period, share, part_tags))
    if left > ZERO:
        found.append(Entry(activity, counts_on, period, left, dict(own)))
    return found


def behind(entry: Entry, cut: Decimal = ZERO) -> Behind:
    """The entry as a report lists it under a minimum or a limit (with what that limit cut from it)."""
    activity = entry.activity
    return Behind(activity.id or "", entry.counts_on, entry.credits, cut, entry.carried)


def by_activity(entries: Iterable[Entry]) -> list[list[Entry]]:
    """Entries grouped by the activity they came from (the parts of a split one together), in first-seen order."""
    groups: dict[int, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(id(entry.activity), []).append(entry)
    return list(groups.values())


def key_of(entry: Entry) -> str | None:
    """What makes the entry's activity the same as another (`repeats`), or None."""
    outcome = entry.activity.outcome
    return outcome.key if outcome is not None else None


# ---- windows ---------------------------------------------------------------------------------------------------


def parts(start: date, end: date, every: Duration | None) -> list[tuple[date, date]]:
    """[start, end], or its consecutive parts of length `every` (the last may be shorter)."""
    if every is None:
        return [(start, end)]
    found: list[tuple[date, date]] = []
    number = 0
    while True:
        first = after(start, every, number)
        if first > end:
            return found
        found.append((first, min(end, after(start, every, number + 1) - timedelta(days=1))))
        number += 1


def window_of(window: CompiledWindow | None, context: dict[str, Any]) -> tuple[date, date]:
    """The first and last day a rule counts, for the period in `context`."""
    start: date = context["cycle_start"]
    end: date = context["cycle_end"]
    if window is None:
        return start, end
    if window.end is not None:
        end = window.end(context)
    if window.start is not None:
        start = window.start(context)
    elif window.length is not None:
        start = after(end, window.length, -1) + timedelta(days=1)
    return start, end


def part_of(day: date, pieces: list[tuple[date, date]]) -> int | None:
    """The number of the part holding `day`, or None when no part does."""
    if len(pieces) == 1:  # the common case, a window in one piece: no search
        return 0 if pieces[0][0] <= day <= pieces[0][1] else None
    for number, (first, last) in enumerate(pieces):
        if first <= day <= last:
            return number
    return None


# ---- the context of cycle rules --------------------------------------------------------------------------------


class _Totals(dict[str, Any]):
    """A period's context with its totals, for the cycle rules that read them (`entries` among them). Most rules
    never read `entries`: the list of every entry's fields is made when one does."""

    __slots__ = ("counted",)
    counted: Sequence[Entry]

    def __missing__(self, key: str) -> Any:
        if key != "entries":
            raise KeyError(key)
        found = self["entries"] = [entry.fields() for entry in self.counted]
        return found


def with_totals(context: dict[str, Any], counted: Sequence[Entry], **totals: Any) -> dict[str, Any]:
    """`context` with the period's totals and the fields of the entries `counted` as `entries`."""
    found = _Totals(context)
    found.update(totals)
    found.counted = counted
    if "entries" in found:  # a credential attribute of that name: the entries still win, as they always have
        found["entries"] = [entry.fields() for entry in counted]
    return found
