"""Evaluate: the accounting of one period — scored activities → caps, totals, minimums, requirement, alternatives.

Input: a period's context, the activities counted toward it (each awarded one an entry of credit with the day it
counts on), and entries of earlier periods that a window reaching back may count. Output: the period's totals in a
`CredentialResult`: capped activities cut in date order (then id), category sums, `earned`, the requirement (judged
over its window), each minimum (over its categories or selection, in its window or in each part of it), and the
alternative that met the requirement, if one did.

Windows (docs/language.md, "Windows"): a rule's window defaults to the period; `start`/`end` move it, `length`
makes it a rolling window ending on its end, and `every` cuts it into consecutive parts, each judged alone. An
entry counts in a window when the day it counts on is inside it — its date, or for credit taken in from a grace or
a look-back, the period's last or first day — so one activity counts once per period, and in every window that
reaches its period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ceruleng.compiled import CompiledSpec, CompiledWindow
from ceruleng.model import Duration
from ceruleng.runtime import NotInForce
from ceruleng.scoring.periods import after
from ceruleng.scoring.results import (
    ActivityResult,
    CategoryTitles,
    CredentialResult,
    MinimumPart,
    MinimumResult,
    TraceLine,
)
from ceruleng.values import ZERO, format_credits, format_number


@dataclass(slots=True)
class Entry:
    """Credit an activity counts toward a period: how much (after caps), in which category, on which day."""

    activity: ActivityResult
    counts_on: date
    period: int

    @property
    def category(self) -> str | None:
        return self.activity.category

    @property
    def credits(self) -> Decimal:
        return self.activity.credits

    def fields(self) -> dict[str, Any]:
        """The entry as `select` conditions and `entries` read it."""
        activity = self.activity
        return {"category": activity.category, "type": activity.type, "date": activity.date,
                "credits": activity.credits, "carried": False}


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


class Ledger:
    """One spec's accounting, shared by every credential of a batch."""

    def __init__(self, spec: CompiledSpec, titles: CategoryTitles) -> None:
        self.spec = spec
        self.model = spec.model
        self.places = spec.model.places
        self.titles = titles
        self.caps = [(key, category.cap, category.cap_every) for key, category in spec.categories.items()
                     if category.cap]
        self.windowed = spec.requirement_window is not None or any(
            version.window is not None for minimum in spec.minimums for version in minimum.versions)
        """Whether any rule counts another window than the period (then entries are kept per day)."""

    # ---- caps --------------------------------------------------------------------------------------------------

    def apply_caps(self, entries: list[Entry], context: dict[str, Any]) -> dict[str, Decimal]:
        """Cut entries to the caps, in date order (then id); returns each capped category's cap."""
        caps = {key: cap(context) for key, cap, _ in self.caps}
        every = {key: step for key, _, step in self.caps if step is not None}
        used: dict[tuple[str, int], Decimal] = {}
        start: date = context["cycle_start"]
        for entry in sorted(entries, key=lambda e: (e.counts_on, e.activity.id or "")):
            category = entry.category
            cap = caps.get(category) if category is not None else None
            if cap is None or category is None:
                continue
            step = every.get(category)
            part = _part_index(start, entry.counts_on, step) if step is not None else 0
            so_far = used.get((category, part), ZERO)
            if so_far + entry.credits > cap:
                self.cut(entry.activity, category, so_far, cap, step)
            used[(category, part)] = so_far + entry.credits
        return caps

    def cut(self, activity: ActivityResult, category: str, so_far: Decimal, cap: Decimal,
            every: Duration | None) -> None:
        allowed = max(ZERO, cap - so_far)
        cap_text = format_credits(cap, self.places)
        title = self.titles[category]
        per = f"per {every.describe()}" if every is not None else "per cycle"
        unit = self.model.unit_name
        if allowed == ZERO:
            note = f"The cap of {cap_text} {unit} {per} for {title} was already reached, so this activity adds nothing."
        else:
            note = (f"Cut from {format_credits(activity.credits, self.places)} to "
                    f"{format_credits(allowed, self.places)} {unit}: {title} counts at most {cap_text} {per}.")
        activity.status = "capped"
        activity.credits = allowed
        activity.raw_reasons = [*activity.raw_reasons, note]
        if activity.trace is not None:
            activity.trace.append(TraceLine(f"cap {per}", self.spec.categories[category].cap_span,
                                            format_number(allowed)))

    # ---- totals --------------------------------------------------------------------------------------------------

    def totals(self, result: CredentialResult, context: dict[str, Any], entries: list[Entry],
               history: Sequence[Entry] = ()) -> None:
        """The period's totals: caps applied to `entries` (this period's), then the requirement and minimums over
        their windows (which may also count `history`: entries of earlier periods, already capped)."""
        spec = self.spec
        caps = self.apply_caps(entries, context) if self.caps else {}
        window = window_of(spec.requirement_window, context) if self.windowed else None
        counted = entries if window is None else [e for e in (*history, *entries) if window[0] <= e.counts_on
                                                   <= window[1]]
        sums: dict[str, Decimal] = {}
        earned = ZERO
        for entry in counted:
            category = entry.category
            if category is not None:
                sums[category] = sums.get(category, ZERO) + entry.credits
            earned += entry.credits
        result.category_titles = self.titles
        result.category_sums = sums
        result.category_caps = caps
        result.earned = earned
        result.window = window if spec.requirement_window is not None else None
        if spec.requirement is None:
            return
        result.required = spec.requirement(context)
        held = earned + result.carried_in
        if spec.minimums:
            totals = {**context, "requirement": result.required, "earned": earned, "carried_in": result.carried_in,
                      "entries": [entry.fields() for entry in counted]}
            result.minimums = self.minimums(totals, (*history, *entries) if self.windowed else entries, sums)
        result.met_by = self.alternative(result, context)
        enough = held >= result.required and all(m.met for m in result.minimums)
        result.met = enough or result.met_by is not None
        result.remaining = ZERO if result.met_by else max(ZERO, result.required - held)

    def minimums(self, context: dict[str, Any], entries: Sequence[Entry],
                 sums: dict[str, Decimal]) -> list[MinimumResult]:
        results = []
        judged = context["cycle_end"]
        for minimum in self.spec.minimums:
            version = minimum.version_on(judged)
            if version is None:
                raise NotInForce(f"minimum '{minimum.id}'", judged)
            needed = version.at_least(context)
            plain = version.window is None and version.select is None and version.counts
            if plain:  # categories over the period: the sums already made
                counted = ZERO
                for counted_category in version.counts:
                    earned = sums.get(counted_category.category, ZERO)
                    up_to = counted_category.up_to
                    counted += min(earned, up_to(context)) if up_to else earned
                results.append(MinimumResult(minimum.id, minimum.title, needed, counted, counted >= needed))
                continue
            start, end = window_of(version.window, context)
            every = version.window.every if version.window is not None else None
            pieces = [MinimumPart(first, last, needed,
                                  self.counted(version, [e for e in entries if first <= e.counts_on <= last], context))
                      for first, last in parts(start, end, every)]
            total = sum((piece.counted for piece in pieces), ZERO)
            met = all(piece.met for piece in pieces)
            results.append(MinimumResult(minimum.id, minimum.title, needed if every is None else needed * len(pieces),
                                         total, met, (start, end), pieces if every is not None else []))
        return results

    def counted(self, version: Any, entries: Iterable[Entry], context: dict[str, Any]) -> Decimal:
        """What `entries` give a minimum: those of its categories (each limited by `up_to`), or those it selects."""
        select = version.select
        chosen = [e for e in entries if select is None or select(e.fields(), context)]
        if not version.counts:
            return sum((e.credits for e in chosen), ZERO)
        total = ZERO
        for counted_category in version.counts:
            earned = sum((e.credits for e in chosen if e.category == counted_category.category), ZERO)
            up_to = counted_category.up_to
            total += min(earned, up_to(context)) if up_to else earned
        return total

    def alternative(self, result: CredentialResult, context: dict[str, Any]) -> str | None:
        if not self.spec.alternatives:
            return None
        scored = [{"id": a.id, "type": a.type, "category": a.category, "status": a.status, "credits": a.credits,
                   "date": a.date} for a in result.activities if not a.malformed]
        for alternative in self.spec.alternatives:
            if alternative.met(context, scored):
                return alternative.id
        return None


def _part_index(start: date, day: date, every: Duration) -> int:
    number = 0
    while after(start, every, number + 1) <= day:
        number += 1
    return number
