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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ceruleng.compiled import CompiledCategory, CompiledSpec, CompiledWindow, EntryTest
from ceruleng.model import Duration
from ceruleng.runtime import NotInForce
from ceruleng.scoring.periods import after
from ceruleng.scoring.results import (
    ActivityResult,
    Behind,
    CategoryTitles,
    CredentialResult,
    LimitResult,
    MinimumPart,
    MinimumResult,
    Sentence,
    TraceLine,
)
from ceruleng.units import unit_for
from ceruleng.values import ZERO, at_precision, format_credits, format_number


@dataclass(slots=True, eq=False)
class Entry:
    """Credit counted toward a period: how much (after repeats, tiers and limits), on which day, of what."""

    activity: ActivityResult
    counts_on: date
    period: int
    credits: Decimal
    tags: dict[str, Any] = field(default_factory=dict)
    """Its tags. `entries_of` makes the usual entry with one dict for its tags and its `fields()`: the fields come
    after the tags, so they win, as in `fields()`, wherever the dict is read as tags (a copy for carried credit)."""
    carried: bool = False
    known_fields: dict[str, Any] | None = None

    @property
    def category(self) -> str | None:
        return self.activity.category

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


_NO_TAGS: dict[str, Any] = {}
"""The tags of every entry of a spec that declares none: shared, so read only (`fields()` and carry-over copy)."""


def entries_of(activity: ActivityResult, counts_on: date, period: int, tag_names: Sequence[str]) -> list[Entry]:
    """The entries an awarded activity gives: one, or one per part of a split (what the parts do not take stays
    with the category's own tags); every declared tag present, None when nothing gives it."""
    outcome = activity.outcome
    own = outcome.tags if outcome is not None else None
    parts = outcome.parts if outcome is not None else None
    if not (own or parts or tag_names):  # a spec without tags: one entry, sharing one empty mapping of tags
        return [Entry(activity, counts_on, period, activity.credits, _NO_TAGS)]
    tags = dict.fromkeys(tag_names)
    if own:
        tags.update(own)
    if not parts:  # the usual entry: its tags and its `fields()` in one dict, the fields last (see `Entry.tags`)
        tags.update(category=activity.category, type=activity.type, date=activity.date, credits=activity.credits,
                    carried=False)
        return [Entry(activity, counts_on, period, activity.credits, tags, False, tags)]
    found = []
    left = activity.credits
    for amount, part_tags in parts:
        share = max(ZERO, min(amount, left))
        left -= share
        found.append(Entry(activity, counts_on, period, share, {**tags, **part_tags}))
    if left > ZERO:
        found.append(Entry(activity, counts_on, period, left, tags))
    return found


def _behind(entry: Entry, cut: Decimal = ZERO) -> Behind:
    activity = entry.activity
    return Behind.of(activity.id or "", entry.counts_on, entry.credits, cut, entry.carried)


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


def _part_of(day: date, pieces: list[tuple[date, date]]) -> int | None:
    if len(pieces) == 1:  # the common case, a limit over the whole period: no search
        return 0 if pieces[0][0] <= day <= pieces[0][1] else None
    for number, (first, last) in enumerate(pieces):
        if first <= day <= last:
            return number
    return None


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class _Bound:
    """One cap in force for a period: what it limits, its amount, its parts, and what each part has used. One is
    made for every cap of every period accounted, so it is a plain record with slots."""

    __slots__ = ("at_most", "behind", "category", "context", "cut", "everywhere", "exact", "id", "note", "pieces",
                 "shown", "span", "test", "title", "used", "whole")

    def __init__(self, id: str, title: str, category: str | None, test: EntryTest | None, context: dict[str, Any],
                 at_most: Decimal, pieces: list[tuple[date, date]], exact: bool,
                 note: Callable[[Decimal, Decimal, Decimal], str] | None, span: Any, shown: bool) -> None:
        self.id = id
        self.title = title
        self.category = category
        """A category cap: the category it limits (then `test` is not asked)."""
        self.test = test
        """A limit's `select`: whether an entry (its fields, with `context`) falls under it (None: every entry)."""
        self.context = context
        self.at_most = at_most
        self.pieces = pieces
        self.used = [ZERO] * len(pieces)
        self.exact = exact
        """Whether `at_most` is already at the spec's precision (then a total at or below it fits as it is)."""
        self.whole = pieces[0] if len(pieces) == 1 else None
        """The window's first and last day, when it is not cut in parts (the common case: no search)."""
        self.everywhere = self.whole is not None and self.whole == (context["cycle_start"], context["cycle_end"])
        """Whether its window is the period's own days, which every entry the period accounts counts on."""
        self.cut = ZERO
        self.note = note
        """How a cut is explained (a category cap keeps its own sentence; None: the limit's)."""
        self.span = span
        self.shown = shown
        """Whether it is reported under `limits` (category caps show as their category's cap instead)."""
        self.behind: list[Behind] = []
        """The entries it applied to, as they came out of it (reported only for a shown limit)."""


class Ledger:
    """One spec's accounting, shared by every credential of a batch."""

    def __init__(self, spec: CompiledSpec, titles: CategoryTitles) -> None:
        self.spec = spec
        self.model = spec.model
        self.places = spec.model.places
        self.unit = spec.model.unit_name
        self.titles = titles
        self.tag_names = tuple(spec.model.tags)
        self.caps = [category for category in spec.categories.values() if category.cap]
        self.cap_notes = {category.id: self._cap_note(category) for category in self.caps}
        self.crossing = [category for category in spec.categories.values() if category.repeats or category.tiers]
        self.bounded = bool(self.caps or spec.limits)
        carry = spec.carry
        self.windowed = spec.requirement_window is not None or any(
            version.window is not None for minimum in spec.minimums for version in minimum.versions) or any(
            category.repeats is not None and category.repeats.within != "cycle" for category in self.crossing) or (
            carry is not None and carry.keep_tags)
        """Whether a rule reads credit outside the period's own entries (then earlier periods are accounted)."""

    # ---- repeats and tiers ---------------------------------------------------------------------------------------

    def cross(self, entries: list[Entry], history: Sequence[Entry], context: dict[str, Any]) -> None:
        """Repeats and tiers, in date order (then id), on this period's entries."""
        for category in self.crossing:
            own = sorted((e for e in entries if e.category == category.id), key=_order)
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
            for activity_entries in _by_activity(sorted(earlier, key=_order)):
                key = _key_of(activity_entries[0])
                if key is not None and sum((e.credits for e in activity_entries), ZERO) > ZERO:
                    seen.setdefault(key, []).append(activity_entries[0].counts_on)
        for activity_entries in _by_activity(own):
            first = activity_entries[0]
            key = _key_of(first)
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

    # ---- limits --------------------------------------------------------------------------------------------------

    def bounds(self, context: dict[str, Any], requirement: Decimal | None) -> list[_Bound]:
        """Every cap in force for the period: category caps, then the spec's limits (in force on its end)."""
        found = []
        start, end = context["cycle_start"], context["cycle_end"]
        amounts = {**context, "requirement": requirement if requirement is not None else ZERO}
        for category in self.caps:
            assert category.cap is not None
            pieces = parts(start, end, category.cap_every)
            at_most = category.cap(amounts)
            found.append(_Bound(category.id, category.title, category.id, None, context, at_most, pieces,
                                self.exact(at_most), self.cap_notes[category.id], category.cap_span, False))
        for limit in self.spec.limits:
            if not limit.effective.covers(end):
                continue
            if limit.window is None:  # the period's own days, in one piece
                pieces = [(start, end)]
            else:
                first, last = window_of(limit.window, context)
                pieces = parts(first, last, limit.window.every)
            at_most = limit.at_most(amounts)
            found.append(_Bound(limit.id, limit.title, None, limit.select, context, at_most, pieces,
                                self.exact(at_most), None, limit.span, True))
        return found

    def exact(self, amount: Decimal) -> bool:
        """Whether an amount is already at the spec's precision (a total at or below it is then at or below it as
        reported too: rounding to the spec's places keeps order and leaves such an amount as it is)."""
        return at_precision(amount, self.places) == amount

    def apply(self, entries: list[Entry], bounds: list[_Bound], behind: bool = True) -> None:  # noqa: PLR0912 - hot
        """Cut entries to the caps, in date order (then id): each entry counts at most what every cap it falls under
        has left; the one that binds says so. With `behind`, each shown limit lists the entries it applied to."""
        places = self.places
        for entry in sorted(entries, key=_order):
            # the caps it falls under, each with the part of its window it is in: a category cap compares the
            # category; a limit's `select` is asked only when the entry is in its window
            applying = []
            fields = None
            day = entry.counts_on
            for bound in bounds:
                whole = bound.whole
                if bound.everywhere:  # a period's entries count on its own days (those of a grace or a look-back
                    part = 0          # on its last or first day)
                elif whole is not None:
                    if day < whole[0] or day > whole[1]:
                        continue
                    part = 0
                else:
                    found = _part_of(day, bound.pieces)
                    if found is None:
                        continue
                    part = found
                if bound.category is not None:
                    if entry.activity.category != bound.category:
                        continue
                elif bound.test is not None:
                    if fields is None:
                        fields = entry.known_fields  # `entry.fields()`, without the call for an entry made with them
                        if fields is None:
                            fields = entry.fields()
                        else:
                            fields["credits"] = entry.credits
                    if not bound.test(fields, bound.context):
                        continue
                applying.append((bound, part))
            if not applying:
                continue
            allowed = entry.credits
            binding: tuple[_Bound, int] | None = None
            for bound, part in applying:
                used = bound.used[part]
                total = used + allowed
                if (total <= bound.at_most and bound.exact) or at_precision(total, places) <= bound.at_most:
                    continue  # fits as the total is reported: three thirds fill a limit of one, no more
                room = bound.at_most - used
                if at_precision(room, places) <= ZERO:
                    room = ZERO  # what is left would not show
                if room < allowed:
                    allowed, binding = room, (bound, part)
            before = entry.credits
            if binding is not None:
                self.cut(entry, allowed, *binding)
            for bound, part in applying:
                bound.used[part] += entry.credits
                if behind and bound.shown:
                    cut = before - allowed if binding is not None and binding[0] is bound else ZERO
                    bound.behind.append(_behind(entry, cut))

    def cut(self, entry: Entry, allowed: Decimal, bound: _Bound, part: int) -> None:
        activity = entry.activity
        before = entry.credits
        taken = before - allowed
        bound.cut += taken
        entry.credits = allowed
        activity.credits -= taken
        activity.status = "capped"
        full = allowed == ZERO
        note = (Sentence(("cap-reached" if full else "cap-cut", bound.note, before, allowed, bound.at_most))
                if bound.note is not None
                else Sentence(("limit-reached" if full else "limit-cut", self._limit_note, bound, part, before,
                               allowed)))
        activity.raw_reasons = [*activity.raw_reasons, note]
        if activity.trace is not None:
            activity.trace.append(TraceLine(f"limit {bound.id}", bound.span, format_number(allowed)))

    def _limit_note(self, bound: _Bound, part: int, before: Decimal, allowed: Decimal) -> str:
        """Why a limit cut an entry (written when a report reads it)."""
        cap_text = format_credits(bound.at_most, self.places)
        whole = len(bound.pieces) == 1
        where = "" if whole else (f" from {bound.pieces[part][0].isoformat()} to "
                                  f"{bound.pieces[part][1].isoformat()}")
        if allowed == ZERO:
            return (f"{bound.title}: at most {cap_text} {unit_for(bound.at_most, self.unit)}{where}, already "
                    "reached, so this adds "
                    "nothing.")
        return (f"Cut from {format_credits(before, self.places)} to {format_credits(allowed, self.places)} "
                f"{unit_for(allowed, self.unit)} by the limit '{bound.title}' (at most {cap_text}{where}).")

    def _cap_note(self, category: CompiledCategory) -> Callable[[Decimal, Decimal, Decimal], str]:
        """A category cap's own sentence (the words results have always used)."""
        per = f"per {category.cap_every.describe()}" if category.cap_every is not None else "per cycle"
        title = self.titles[category.id]

        def note(before: Decimal, allowed: Decimal, cap: Decimal) -> str:
            cap_text = format_credits(cap, self.places)
            if allowed == ZERO:
                return (f"The cap of {cap_text} {self.unit} {per} for {title} was already reached, so this "
                        "activity adds nothing.")
            return (f"Cut from {format_credits(before, self.places)} to {format_credits(allowed, self.places)} "
                    f"{self.unit}: {title} counts at most {cap_text} {per}.")

        return note

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
        bounds = self.bounds(context, required) if self.bounded else []
        if bounds:
            self.apply(entries, bounds, judged)
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
        result.category_caps = {bound.id: bound.at_most for bound in bounds if not bound.shown}
        result.limits = [LimitResult(b.id, b.title, b.at_most, sum(b.used, ZERO), b.cut,
                                     (b.pieces[0][0], b.pieces[-1][1]) if b.pieces else None,
                                     [(first, last, used) for (first, last), used in zip(b.pieces, b.used, strict=True)]
                                     if len(b.pieces) > 1 else [], b.behind)
                         for b in bounds if b.shown]
        result.earned = earned
        result.window = window
        if required is None:
            return
        result.required = required
        held = earned + result.carried_in
        if spec.minimums:
            totals = _totals(context, (*counted, *carried), requirement=required, earned=earned,
                             carried_in=result.carried_in)
            pool = [*history, *entries] if self.windowed else entries
            result.minimums = self.minimums(totals, [*pool, *carried], sums)
        result.met_by = self.alternative(result, context)
        held_as_reported = at_precision(held, self.places)  # totals are judged as they are reported
        enough = held_as_reported >= required and all(m.met for m in result.minimums)
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
                behind = [_behind(e) for e in sorted(entries, key=_order)
                          if e.category in wanted and e.credits and first_day <= e.counts_on <= last_day]
                results.append(MinimumResult(minimum.id, minimum.title, needed, counted, counted >= needed,
                                             entries=behind))
                continue
            start, end = window_of(version.window, context)
            every = version.window.every if version.window is not None else None
            pieces, behind = [], []
            for first, last in parts(start, end, every):
                total_of_part, chosen = self.counted(version, [e for e in entries if first <= e.counts_on <= last],
                                                     context)
                pieces.append(MinimumPart(first, last, needed, at_precision(total_of_part, self.places)))
                behind.extend(_behind(e) for e in sorted(chosen, key=_order) if e.credits)
            total = sum((piece.counted for piece in pieces), ZERO)
            met = all(piece.met for piece in pieces)
            results.append(MinimumResult(minimum.id, minimum.title, needed if every is None else needed * len(pieces),
                                         total, met, (start, end) if version.window is not None else None,
                                         pieces if every is not None else [], behind))
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

    def alternative(self, result: CredentialResult, context: dict[str, Any]) -> str | None:
        if not self.spec.alternatives:
            return None
        scored = [{"id": a.id, "type": a.type, "category": a.category, "status": a.status, "credits": a.credits,
                   "date": a.date} for a in result.activities if not a.malformed]
        for alternative in self.spec.alternatives:
            if alternative.met(context, scored):
                return alternative.id
        return None

    # ---- carry-over ------------------------------------------------------------------------------------------------

    def carry(self, book: CredentialResult, context: dict[str, Any], entries: list[Entry], carried_in: Decimal,
              next_start: date) -> tuple[Decimal, list[Entry]]:
        """What of the period's surplus carries into the next period: how much (at most `carry_over.max`, never more
        than the period earned itself), and — when the spec selects what carries or keeps its tags — which entries,
        the latest first, cut to fit the carry-over's own limits. Carried credit never carries again."""
        spec = self.spec
        assert spec.carry_max is not None
        required = book.required or ZERO
        totals = _totals(context, entries, requirement=required, earned=book.earned, carried_in=carried_in)
        surplus = book.earned + carried_in - required
        amount = max(ZERO, min(surplus, spec.carry_max(totals), book.earned))
        rules = spec.carry
        if rules is None or amount == ZERO:
            return amount, []
        start, end = window_of(rules.window, context)
        eligible = [e for e in entries if not e.carried and start <= e.counts_on <= end
                    and (rules.select is None or rules.select(e.fields(), context))]
        limits = [(limit.select, limit.at_most(totals)) for limit in rules.limits]
        used = [ZERO] * len(limits)
        carried: list[Entry] = []
        left = amount
        prefer = rules.prefer
        latest_first = sorted(eligible, key=_order, reverse=True)
        if prefer is not None:  # preferred credit first, each part still latest first (sorting is stable)
            latest_first.sort(key=lambda e: not prefer(e.fields(), context))
        for entry in latest_first:
            if left <= ZERO:
                break
            take = min(left, entry.credits)
            under: list[int] = []
            if limits:  # the carry-over's limits the entry falls under: each asked once
                fields = entry.fields()
                for number, (select, at_most) in enumerate(limits):
                    if select is None or select(fields, context):
                        under.append(number)
                        take = min(take, max(ZERO, at_most - used[number]))
            if take <= ZERO:
                continue
            for number in under:
                used[number] += take
            left -= take
            carried.append(Entry(entry.activity, next_start, entry.period + 1, take, dict(entry.tags), carried=True))
        return amount - left, carried if rules.keep_tags else []


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


def _totals(context: dict[str, Any], counted: Sequence[Entry], **totals: Any) -> dict[str, Any]:
    """`context` with the period's totals and the fields of the entries `counted` as `entries`."""
    found = _Totals(context)
    found.update(totals)
    found.counted = counted
    if "entries" in found:  # a credential attribute of that name: the entries still win, as they always have
        found["entries"] = [entry.fields() for entry in counted]
    return found


def _by_activity(entries: Iterable[Entry]) -> list[list[Entry]]:
    """Entries grouped by the activity they came from (the parts of a split one together), in first-seen order."""
    groups: dict[int, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(id(entry.activity), []).append(entry)
    return list(groups.values())


def _key_of(entry: Entry) -> str | None:
    outcome = entry.activity.outcome
    return outcome.key if outcome is not None else None


def _order(entry: Entry) -> tuple[date, str]:
    return (entry.counts_on, entry.activity.id or "")
