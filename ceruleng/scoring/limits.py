"""Evaluate: the limits of a period — category caps and the spec's limits, cut in date order.

Input: a compiled spec (its categories' caps and its `limits`), once; then, per period, its context, its
requirement and its entries of credit. Output: the entries cut to fit (the one that crosses a cap is cut to what is
left, later ones count nothing; the activity's credit follows, its reason names the cap that bound and, explained,
its trace says where the cap is written), and per cap what it let count, what it cut and the entries it applied to,
as `LimitResult`s (category caps as their category's cap).

What does not change from one member to the next is worked out once per spec (`LimitPlan`): what a cap limits,
how its cut is explained, and its amount when that reads nothing of the credential or the period. A period makes
only what it counts into (`Bound`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from ceruleng.compiled import Amount, CompiledCategory, CompiledSpec, CompiledWindow
from ceruleng.model import Duration, Effective, ExprText
from ceruleng.scoring.entries import ORDER, Entry, behind, part_of, parts, window_of
from ceruleng.scoring.results import CategoryTitles, LimitResult, Sentence, TraceLine
from ceruleng.units import unit_for
from ceruleng.values import ZERO, ValueProblem, at_precision, format_credits, format_number, half_place


class LimitPlan:
    """One cap of the spec as every period applies it: what it limits, how its amount is found, its window."""

    __slots__ = ("amount", "bit", "ceiling", "constant", "effective", "every", "fixed", "id", "note", "plain",
                 "shown", "span", "title", "window")

    def __init__(self, id: str, title: str, bit: int, amount: Amount, constant: bool, window: CompiledWindow | None,
                 every: Duration | None, effective: Effective | None,
                 note: Callable[[Decimal, Decimal, Decimal], str] | None, span: Any, shown: bool) -> None:
        self.id = id
        self.title = title
        self.bit = bit
        """Its bit in what the spec's `limits_under` answers (which caps an entry falls under: its category, for a
        category cap; its `select`, for a limit)."""
        self.amount = amount
        self.constant = constant
        """Whether its amount reads nothing (no name of the credential, the period or its totals): then it is
        computed once, by the first period that asks (`fixed`), not once per period."""
        self.fixed: Decimal | None = None
        self.ceiling: Decimal | None = None
        """With `fixed`: its ceiling (`Bound.ceiling`)."""
        self.window = window
        self.every = every
        self.effective = effective
        """When a limit is in force (None: a category cap, always)."""
        self.plain = window is None and every is None
        """Whether it counts the period's own days in one piece (the common case: no window to work out)."""
        self.note = note
        """How a cut is explained (a category cap keeps its own sentence; None: the limit's)."""
        self.span = span
        self.shown = shown
        """Whether it is reported under `limits` (category caps show as their category's cap instead)."""


class Bound:
    """One cap in force for a period: its plan, its amount, its parts, and what each part has used. One is made for
    every cap of every period accounted, so it is a plain record with slots."""

    __slots__ = ("at_most", "behind", "ceiling", "cut", "everywhere", "pieces", "plan", "used", "whole")

    def __init__(self, plan: LimitPlan, at_most: Decimal, ceiling: Decimal | None, pieces: list[tuple[date, date]],
                 everywhere: bool) -> None:
        self.plan = plan
        self.at_most = at_most
        self.ceiling = ceiling
        """When `at_most` is already at the spec's precision: it plus half the last place. A total below it is at
        or below `at_most` as reported (rounding to the spec's places keeps order and leaves `at_most` as it is),
        so the usual test of a limit is one comparison, no rounding; a total equal to it is a tie, rounded."""
        self.pieces = pieces
        self.used = [ZERO] * len(pieces)
        self.whole = pieces[0] if len(pieces) == 1 else None
        """The window's first and last day, when it is not cut in parts (the common case: no search)."""
        self.everywhere = everywhere
        """Whether its window is the period's own days, which every entry the period accounts counts on."""
        self.cut = ZERO
        self.behind: list[Any] = []
        """The entries it applied to, as they came out of it (reported only for a shown limit)."""


def reads_nothing(spec: CompiledSpec, text: ExprText | None) -> bool:
    """Whether a rule's expression reads no name at all (of the credential, the period or its totals): its value
    is the same for every period of every member."""
    return text is not None and spec.reads.get(text.path) == frozenset()


class Limits:
    """One spec's caps and limits, shared by every credential of a batch."""

    def __init__(self, spec: CompiledSpec, titles: CategoryTitles) -> None:
        self.places = spec.model.places
        self.half = half_place(self.places)
        self.unit = spec.model.unit_name
        self.titles = titles
        model = spec.model
        caps_written: dict[str, ExprText | None] = {}
        for written_category in model.categories:  # the first version's cap is the category's (as compiled)
            caps_written.setdefault(written_category.id, written_category.cap)
        plans: list[LimitPlan] = []
        for category in spec.categories.values():
            if category.cap:
                text = caps_written.get(category.id)
                plans.append(LimitPlan(category.id, category.title, 1 << len(plans), category.cap,
                                       reads_nothing(spec, text), None, category.cap_every, None,
                                       self._cap_note(category), category.cap_span, False))
        for limit, written in zip(spec.limits, model.limits, strict=True):
            plans.append(LimitPlan(limit.id, limit.title, 1 << len(plans), limit.at_most,
                                   reads_nothing(spec, written.at_most), limit.window,
                                   None, limit.effective if limit.effective.dated else None, None, limit.span, True))
        self.plans = plans
        self.under = spec.limits_under
        self._bits: dict[int, tuple[int, ...]] = {}
        """Each answer of `under` seen, as the numbers of the plans it names (a spec has a few such answers)."""

    def bounds(self, context: dict[str, Any], requirement: Decimal | None) -> list[Bound]:
        """Every cap in force for the period: category caps, then the spec's limits (in force on its end)."""
        found = []
        start, end = context["cycle_start"], context["cycle_end"]
        own_days = [(start, end)]
        amounts = None
        for plan in self.plans:
            effective = plan.effective
            if effective is not None and not effective.covers(end):
                continue
            if plan.plain:  # the period's own days, in one piece
                pieces, everywhere = own_days, True
            else:
                window = plan.window
                if window is None:
                    pieces = parts(start, end, plan.every)
                else:
                    first, last = window_of(window, context)
                    pieces = parts(first, last, window.every)
                everywhere = len(pieces) == 1 and pieces[0] == (start, end)
            at_most = plan.fixed
            if at_most is not None:
                ceiling = plan.ceiling
            else:
                if amounts is None:
                    amounts = {**context, "requirement": requirement if requirement is not None else ZERO}
                at_most = plan.amount(amounts)
                if at_most < ZERO:
                    what = f"limit {plan.id}" if plan.shown else f"the cap of {plan.title}"
                    raise ValueProblem(f"{what} ({plan.span}) is {format_number(at_most)} for this credential, "
                                       f"below zero")
                ceiling = self.ceiling(at_most)
                if plan.constant:
                    plan.ceiling, plan.fixed = ceiling, at_most
            found.append(Bound(plan, at_most, ceiling, pieces, everywhere))
        return found

    def ceiling(self, amount: Decimal) -> Decimal | None:
        """For an amount already at the spec's precision, it plus half the last place: a total below that is at or
        below the amount as reported (rounding to the spec's places keeps order and leaves such an amount as it
        is). None for an amount finer than the spec reports (then each total is rounded to be judged)."""
        return amount + self.half if at_precision(amount, self.places) == amount else None

    def apply(self, entries: list[Entry], bounds: list[Bound], context: dict[str, Any],  # noqa: PLR0912, PLR0915 - hot
              listed: bool = True) -> None:
        """Cut entries to the caps, in date order (then id): each entry counts at most what every cap it falls under
        has left; the one that binds says so. With `listed`, each shown limit lists the entries it applied to."""
        under_of = self.under
        assert under_of is not None
        places = self.places
        half = self.half
        by_number: dict[int, Bound] = {}
        everywhere = 0
        windowed = []
        for bound in bounds:
            bit = bound.plan.bit
            by_number[bit.bit_length() - 1] = bound
            if bound.everywhere:  # a period's entries count on its own days (those of a grace or a look-back on its
                everywhere |= bit  # last or first day)
            else:
                windowed.append(bound)
        bits = self._bits
        seen: dict[int, list[tuple[Bound, int]]] = {}
        """The caps an answer of `under` names, each in its first part, as this period's bounds."""
        for entry in sorted(entries, key=ORDER):
            # the caps it may fall under: those in force whose window holds its day (each in the part holding it)
            live = everywhere
            part_at: dict[int, int] | None = None
            if windowed:
                day = entry.counts_on
                for bound in windowed:
                    whole = bound.whole
                    part = (0 if whole[0] <= day <= whole[1] else None) if whole is not None \
                        else part_of(day, bound.pieces)
                    if part is not None:
                        live |= bound.plan.bit
                        if part:
                            part_at = part_at or {}
                            part_at[bound.plan.bit] = part
            if not live:
                continue
            fields = entry.known_fields  # `entry.fields()`, without the call for an entry made with them
            if fields is None:
                fields = entry.fields()
            else:
                fields["credits"] = entry.credits
            under = under_of(fields, context, live)
            if not under:
                continue
            applying = None if part_at else seen.get(under)  # the period's entries fall under a few sets of caps
            if applying is None:
                numbers = bits.get(under)
                if numbers is None:
                    numbers = bits[under] = tuple(n for n in range(under.bit_length()) if under >> n & 1)
                applying = [(by_number[n], part_at.get(1 << n, 0) if part_at else 0) for n in numbers]
                if not part_at:
                    seen[under] = applying
            allowed = entry.credits
            binding: tuple[Bound, int] | None = None
            for bound, part in applying:
                used = bound.used[part]
                total = used + allowed
                ceiling = bound.ceiling
                if ceiling is not None:
                    if total < ceiling or (total == ceiling and at_precision(total, places) <= bound.at_most):
                        continue  # fits as the total is reported: three thirds fill a limit of one, no more
                elif at_precision(total, places) <= bound.at_most:
                    continue
                room = bound.at_most - used
                if room <= half:
                    room = ZERO  # what is left would not show (half the last place rounds to the even zero)
                if room < allowed:
                    allowed, binding = room, (bound, part)
            before = entry.credits
            if binding is not None:
                self.cut(entry, allowed, *binding)
            credits = entry.credits
            for bound, part in applying:
                bound.used[part] += credits
                if listed and bound.plan.shown:
                    cut = before - allowed if binding is not None and binding[0] is bound else ZERO
                    bound.behind.append(behind(entry, cut))

    def cut(self, entry: Entry, allowed: Decimal, bound: Bound, part: int) -> None:
        activity = entry.activity
        before = entry.credits
        taken = before - allowed
        bound.cut += taken
        entry.credits = allowed
        activity.credits -= taken
        activity.status = "capped"
        plan = bound.plan
        full = allowed == ZERO
        note = (Sentence(("cap-reached" if full else "cap-cut", plan.note, before, allowed, bound.at_most))
                if plan.note is not None
                else Sentence(("limit-reached" if full else "limit-cut", self._limit_note, bound, part, before,
                               allowed)))
        activity.raw_reasons = [*activity.raw_reasons, note]
        if activity.trace is not None:
            activity.trace.append(TraceLine(f"limit {plan.id}", plan.span, format_number(allowed)))

    def _limit_note(self, bound: Bound, part: int, before: Decimal, allowed: Decimal) -> str:
        """Why a limit cut an entry (written when a report reads it)."""
        cap_text = format_credits(bound.at_most, self.places)
        whole = len(bound.pieces) == 1
        where = "" if whole else (f" from {bound.pieces[part][0].isoformat()} to "
                                  f"{bound.pieces[part][1].isoformat()}")
        title = bound.plan.title
        if allowed == ZERO:
            return (f"{title}: at most {cap_text} {unit_for(bound.at_most, self.unit)}{where}, already "
                    "reached, so this adds "
                    "nothing.")
        return (f"Cut from {format_credits(before, self.places)} to {format_credits(allowed, self.places)} "
                f"{unit_for(allowed, self.unit)} by the limit '{title}' (at most {cap_text}{where}).")

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

    @staticmethod
    def category_caps(bounds: list[Bound]) -> dict[str, Decimal]:
        """Each category cap's amount, by category."""
        return {bound.plan.id: bound.at_most for bound in bounds if not bound.plan.shown}

    @staticmethod
    def results(bounds: list[Bound]) -> list[LimitResult]:
        """Each shown limit as the period's result reports it."""
        return [LimitResult(b.plan.id, b.plan.title, b.at_most, sum(b.used, ZERO), b.cut,
                            (b.pieces[0][0], b.pieces[-1][1]) if b.pieces else None,
                            [(first, last, used) for (first, last), used in zip(b.pieces, b.used, strict=True)]
                            if len(b.pieces) > 1 else [], b.behind)
                for b in bounds if b.plan.shown]
