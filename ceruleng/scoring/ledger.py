"""Evaluate: the accounting of one period — entries of credit → repeats, tiers, limits, totals, minimums, requirement.

Input: a period's context and its entries of credit (each awarded activity gives one, or one per part when its
category splits it; each entry has an amount, the day it counts on, its category and tags), entries of earlier
periods that a window reaching back may count, and credit carried in. Output: the period's totals in a
`CredentialResult`: repeats and tiers applied in date order, then every limit (category caps and the spec's limits
together, in date order then id: the entry that crosses one is cut to fit and later ones count nothing, its reason
naming the limit that bound), category sums, `earned`, the requirement over its window, each minimum over what it
selects (in its window, or in each part of it), each limit's use, and the alternative that met the requirement.

Every number a member sees comes from the entries, so `earned`, `remaining`, each minimum and each limit agree by
construction. An entry counts in a window when the day it counts on is inside it — its date, or for credit taken
in from a grace or a look-back, the period's last or first day; carried-in credit counts on the period's first day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ceruleng.compiled import CompiledCategory, CompiledSpec
from ceruleng.model import Duration
from ceruleng.runtime import NotInForce
from ceruleng.scoring.carry import carry
from ceruleng.scoring.entries import (
    ORDER,
    Entry,
    behind,
    by_activity,
    key_of,
    parts,
    window_of,
    with_totals,
)
from ceruleng.scoring.limits import Limits, reads_nothing
from ceruleng.scoring.periods import after
from ceruleng.scoring.results import (
    CategoryTitles,
    ConditionResult,
    CredentialResult,
    MinimumPart,
    MinimumResult,
    Sentence,
    TraceLine,
)
from ceruleng.units import unit_for
from ceruleng.values import ZERO, ValueProblem, at_precision, format_credits, format_number


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class Ledger:
    """One spec's accounting, shared by every credential of a batch."""

    def __init__(self, spec: CompiledSpec, titles: CategoryTitles) -> None:
        self.spec = spec
        self.model = spec.model
        self.places = spec.model.places
        self.unit = spec.model.unit_name
        self.titles = titles
        self.limits = Limits(spec, titles)
        self.crossing = [category for category in spec.categories.values() if category.repeats or category.tiers]
        self.bounded = bool(self.limits.plans)
        carry = spec.carry
        self.windowed = spec.requirement_window is not None or any(
            version.window is not None for minimum in spec.minimums for version in minimum.versions) or any(
            condition.window is not None for condition in spec.conditions) or any(
            category.repeats is not None and category.repeats.within != "cycle" for category in self.crossing) or (
            carry is not None and carry.keep_tags)
        """Whether a rule reads credit outside the period's own entries (then earlier periods are accounted)."""
        written = spec.model.requirement
        rules = written.carry if written is not None else None
        self.carry_reads_nothing = written is not None and reads_nothing(spec, written.carry_over) and all(
            reads_nothing(spec, limit.at_most) for limit in (rules.limits if rules is not None else ()))
        """Whether the most that carries and the carry-over's limits read nothing (then no period's totals are
        made for them)."""

    # ---- repeats and tiers ---------------------------------------------------------------------------------------

    def cross(self, entries: list[Entry], history: Sequence[Entry], context: dict[str, Any]) -> None:
        """Repeats and tiers, in date order (then id), on this period's entries."""
        for category in self.crossing:
            own = sorted((e for e in entries if e.category == category.id), key=ORDER)
            if category.repeats is not None:
                self.repeats(category, own, [e for e in history if e.category == category.id])
            if category.tiers:
                self.tiers(category, own, context)

    def repeats(self, category: CompiledCategory, own: list[Entry], earlier: Sequence[Entry]) -> None:
        """The n-th time an activity of the same key is claimed earns the n-th share. A time is an activity (the
        parts of a split one are one time, all at its share), and counts only when it earned something, and (with
        `within: {years: N}`) only when it was at most N years before."""
        rule = category.repeats
        assert rule is not None
        seen: dict[str, list[date]] = {}
        if rule.within != "cycle":
            for activity_entries in by_activity(sorted(earlier, key=ORDER)):
                key = key_of(activity_entries[0])
                if key is not None and sum((e.credits for e in activity_entries), ZERO) > ZERO:
                    seen.setdefault(key, []).append(activity_entries[0].counts_on)
        for activity_entries in by_activity(own):
            first = activity_entries[0]
            key = key_of(first)
            if key is None:
                continue
            dates = seen.setdefault(key, [])
            if isinstance(rule.within, Duration):
                since = after(first.counts_on, rule.within, -1)
                count = sum(1 for day in dates if day > since)
            else:
                count = len(dates)
            share = rule.shares[min(count, len(rule.shares) - 1)]
            if share != 1:
                activity = first.activity
                before = activity.credits
                for entry in activity_entries:
                    self.reset(entry, entry.credits * share)
                activity.status = "capped"
                activity.raw_reasons = [*activity.raw_reasons, Sentence(("repeat-share", str, (
                    f"The {_ordinal(count + 1)} time '{key}' is claimed, it earns {format_number(share * 100)}% of "
                    f"its credit: {format_credits(activity.credits, self.places)} "
                    f"{unit_for(activity.credits, self.unit)} instead of {format_credits(before, self.places)}.")))]
                if activity.trace is not None:
                    activity.trace.append(TraceLine("repeats", rule.span, format_number(share)))
            if sum((e.credits for e in activity_entries), ZERO) > ZERO:
                dates.append(first.counts_on)

    @staticmethod
    def reset(entry: Entry, credits: Decimal) -> None:
        """Give an entry another amount; its activity's credits follow (an activity is the sum of its entries)."""
        entry.activity.credits += credits - entry.credits
        entry.credits = credits

    def tiers(self, category: CompiledCategory, own: list[Entry], context: dict[str, Any]) -> None:
        bounds = [(tier.up_to(context) if tier.up_to is not None else None, tier.factor(context))
                  for tier in category.tiers]
        base = ZERO
        for entry in own:
            earned = entry.credits
            total = ZERO
            left = earned
            start = base
            for up_to, factor in bounds:
                room = left if up_to is None else max(ZERO, min(left, up_to - start))
                total += room * factor
                left -= room
                start += room
                if left <= ZERO:
                    break
            total += left  # beyond the last tier with a bound and no open tier: as it is
            base += earned
            if total != earned:
                self.reset(entry, total)
                activity = entry.activity
                activity.raw_reasons = [*activity.raw_reasons, Sentence(("tier", str, (
                    f"In tiers of {self.titles[category.id]}: {format_credits(earned, self.places)} "
                    f"{unit_for(earned, self.unit)} count as {format_credits(total, self.places)}.")))]

    # ---- totals --------------------------------------------------------------------------------------------------

    def totals(self, result: CredentialResult, context: dict[str, Any], entries: list[Entry],
               history: Sequence[Entry] = (), carried: Sequence[Entry] = (), judged: bool = True) -> None:
        """The period's totals over `entries` (this period's), with `carried` (credit carried in, when it keeps its
        tags) and `history` (entries of earlier periods, already counted there) for windows reaching back. A period
        accounted only on the way to the reported one (`judged` false) needs its cuts, earned and required — what
        carries on from it — but not its category sums, limits, minimums nor the entries behind its limits (no
        report reads them)."""
        spec = self.spec
        if self.crossing:
            self.cross(entries, history, context)
        required = spec.requirement(context) if spec.requirement is not None else None
        if required is not None and required < ZERO:
            written = self.model.requirement
            where = f" ({written.credits.span})" if written is not None else ""
            raise ValueProblem(f"the requirement{where} is {format_number(required)} for this credential, below "
                               f"zero")
        limits = self.limits
        bounds = limits.bounds(context, required) if self.bounded else []
        if bounds:
            limits.apply(entries, bounds, context, judged)
        window = window_of(spec.requirement_window, context) if spec.requirement_window is not None else None
        counted = entries if window is None else [e for e in (*history, *entries) if window[0] <= e.counts_on
                                                   <= window[1]]
        earned = ZERO
        if not judged:
            for entry in counted:
                earned += entry.credits
            result.earned = earned
            result.window = window
            result.required = required
            return
        sums: dict[str, Decimal] = {}
        for entry in counted:
            category = entry.category
            if category is not None:
                sums[category] = sums.get(category, ZERO) + entry.credits
            earned += entry.credits
        result.category_titles = self.titles
        result.category_sums = sums
        result.category_caps = limits.category_caps(bounds)
        result.limits = limits.results(bounds)
        result.earned = earned
        result.window = window
        if required is None:
            return
        result.required = required
        held = earned + result.carried_in
        totals = context
        if spec.minimums or spec.alternatives:  # both read the period's totals and entries (`check` lets them)
            totals = with_totals(context, (*counted, *carried), requirement=required, earned=earned,
                                 carried_in=result.carried_in)
        if spec.minimums:
            pool = [*history, *entries] if self.windowed else entries
            result.minimums = self.minimums(totals, [*pool, *carried], sums)
        if spec.conditions:
            result.conditions = self.conditions(result, context, [*history, *entries, *carried] if self.windowed
                                                else [*entries, *carried], required, earned)
        result.met_by = self.alternative(result, totals)
        held_as_reported = at_precision(held, self.places)  # totals are judged as they are reported
        enough = (held_as_reported >= required and all(m.met for m in result.minimums)
                  and all(c.met for c in result.conditions))
        result.met = enough or result.met_by is not None
        result.remaining = ZERO if result.met_by else max(ZERO, required - held_as_reported)

    def minimums(self, context: dict[str, Any], entries: Sequence[Entry],
                 sums: dict[str, Decimal]) -> list[MinimumResult]:
        results = []
        judged = context["cycle_end"]
        carried_in = any(entry.carried for entry in entries)
        for minimum in self.spec.minimums:
            version = minimum.version_on(judged)
            if version is None:
                raise NotInForce(f"minimum '{minimum.id}'", judged)
            needed = version.at_least(context)
            plain = (version.window is None and version.select is None and version.counts and not carried_in
                     and all(c.select is None and c.category is not None for c in version.counts))
            if plain:  # categories over the period: the sums already made
                counted = ZERO
                for counted_category in version.counts:
                    earned = sums.get(counted_category.category or "", ZERO)
                    up_to = counted_category.up_to
                    counted += min(earned, up_to(context)) if up_to else earned
                counted = at_precision(counted, self.places)
                wanted = {counted_category.category for counted_category in version.counts}
                first_day, last_day = context["cycle_start"], context["cycle_end"]
                listed = [behind(e) for e in sorted(entries, key=ORDER)
                          if e.category in wanted and e.credits and first_day <= e.counts_on <= last_day]
                results.append(MinimumResult(minimum.id, minimum.title, needed, counted, counted >= needed,
                                             entries=listed))
                continue
            start, end = window_of(version.window, context)
            every = version.window.every if version.window is not None else None
            pieces, listed = [], []
            for first, last in parts(start, end, every):
                total_of_part, chosen = self.counted(version, [e for e in entries if first <= e.counts_on <= last],
                                                     context)
                pieces.append(MinimumPart(first, last, needed, at_precision(total_of_part, self.places)))
                listed.extend(behind(e) for e in sorted(chosen, key=ORDER) if e.credits)
            total = sum((piece.counted for piece in pieces), ZERO)
            met = all(piece.met for piece in pieces)
            results.append(MinimumResult(minimum.id, minimum.title, needed if every is None else needed * len(pieces),
                                         total, met, (start, end) if version.window is not None else None,
                                         pieces if every is not None else [], listed))
        return results

    def counted(self, version: Any, entries: Iterable[Entry], context: dict[str, Any]) -> tuple[Decimal, list[Entry]]:
        """What `entries` give a minimum — those of its categories (each limited by `up_to`), or those it selects —
        and the entries that gave it."""
        select = version.select
        chosen = [e for e in entries if select is None or select(e.fields(), context)]
        if not version.counts:
            return sum((e.credits for e in chosen), ZERO), chosen
        total = ZERO
        taken: list[Entry] = []
        for counted_category in version.counts:
            wanted, test = counted_category.category, counted_category.select
            mine = [e for e in chosen if (wanted is None or e.category == wanted)
                    and (test is None or test(e.fields(), context))]
            taken.extend(mine)
            earned = sum((e.credits for e in mine), ZERO)
            up_to = counted_category.up_to
            total += min(earned, up_to(context)) if up_to else earned
        return total, list(dict.fromkeys(taken))

    def conditions(self, result: CredentialResult, context: dict[str, Any], pool: Sequence[Entry],
                   required: Decimal, earned: Decimal) -> list[ConditionResult]:
        """Each condition over its window: `entries` counted in it (earlier periods' too, for a window reaching
        back), and the period's scored activities dated in it."""
        scored = [a for a in _activities_seen(result) if a["date"] is not None]
        period = (context["cycle_start"], context["cycle_end"])
        found = []
        for condition in self.spec.conditions:
            start, end = window_of(condition.window, context)
            inside = [e for e in pool if start <= e.counts_on <= end]
            totals = with_totals(context, inside, requirement=required, earned=earned, carried_in=result.carried_in)
            acts = [a for a in scored if max(start, period[0]) <= a["date"] <= min(end, period[1])]
            found.append(ConditionResult(condition.id, condition.title, bool(condition.met(totals, acts)),
                                         (start, end) if condition.window is not None else None))
        return found

    def alternative(self, result: CredentialResult, context: dict[str, Any]) -> str | None:
        if not self.spec.alternatives:
            return None
        scored = _activities_seen(result)
        for alternative in self.spec.alternatives:
            if alternative.met(context, scored):
                return alternative.id
        return None

    # ---- carry-over ------------------------------------------------------------------------------------------------

    def carry(self, book: CredentialResult, context: dict[str, Any], entries: list[Entry], carried_in: Decimal,
              next_start: date, trace: list[TraceLine] | None = None) -> tuple[Decimal, list[Entry]]:
        """What of the period's surplus carries into the next period (see `scoring.carry`)."""
        return carry(self.spec, book, context, entries, carried_in, next_start, trace, self.carry_reads_nothing)


def _activities_seen(result: CredentialResult) -> list[dict[str, Any]]:
    """The period's scored activities as cycle rules read them (`activities`): malformed records left out."""
    return [{"id": a.id, "type": a.type, "category": a.category, "status": a.status, "credits": a.credits,
             "date": a.date} for a in result.activities if not a.malformed]
