"""Evaluate: carry-over — what of a period's surplus carries into the next period, and which credit it is.

Input: a compiled spec's `carry_over` (its most, and the rules of what carries: select, window, prefer, limits,
keep_tags), a period's book (earned, required), its context, its entries and the credit carried into it. Output:
how much carries (at most `carry_over.max`, never more than the period earned itself) and — when the spec selects
what carries or keeps its tags — the entries that carry, the latest first, each cut to fit the carry-over's own
limits, counting on the next period's first day. Carried credit never carries again.

A carry-over limit that holds an entry back records it the way a period's limit records a cut: explained, a trace
line naming the limit, the entry's activity and where the limit is written, with what the limit let carry of it
(each limit that holds it back, when several do; `ceruleng check --coverage` reads them).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ceruleng.compiled import CompiledSpec
from ceruleng.scoring.entries import ORDER, Entry, window_of, with_totals
from ceruleng.scoring.results import CredentialResult, TraceLine
from ceruleng.values import ZERO, format_number


def carry(spec: CompiledSpec, book: CredentialResult, context: dict[str, Any], entries: list[Entry],
          carried_in: Decimal, next_start: date, trace: list[TraceLine] | None = None,
          reads_nothing: bool = False) -> tuple[Decimal, list[Entry]]:
    """What of the period's surplus carries into the next period: the amount, and the entries that carry (only
    when the spec keeps their tags). With `trace`, each carry-over limit that held an entry back adds a line.
    `reads_nothing`: the most that carries and the limits read no name, so the period's totals are not made."""
    assert spec.carry_max is not None
    required = book.required or ZERO
    totals = context if reads_nothing else with_totals(context, entries, requirement=required, earned=book.earned,
                                                       carried_in=carried_in)
    surplus = book.earned + carried_in - required
    amount = max(ZERO, min(surplus, spec.carry_max(totals), book.earned))
    rules = spec.carry
    if rules is None or amount == ZERO:
        return amount, []
    start, end = window_of(rules.window, context)
    select = rules.select
    eligible = [e for e in entries if not e.carried and start <= e.counts_on <= end]
    if select is not None:
        eligible = [e for e in eligible if select(e.fields(), context)]
    limits = [(limit, limit.select, limit.at_most(totals)) for limit in rules.limits]
    used = [ZERO] * len(limits)
    carried: list[Entry] = []
    left = amount
    prefer = rules.prefer
    latest_first = sorted(eligible, key=ORDER, reverse=True)
    if prefer is not None:  # preferred credit first, each part still latest first (sorting is stable)
        latest_first.sort(key=lambda e: not prefer(e.fields(), context))
    for entry in latest_first:
        if left <= ZERO:
            break
        take = min(left, entry.credits)
        under: list[int] = []
        if limits:  # the carry-over's limits the entry falls under: each asked once
            fields = entry.fields()
            wanted = take
            for number, (limit, test, at_most) in enumerate(limits):
                if test is None or test(fields, context):
                    under.append(number)
                    room = max(ZERO, at_most - used[number])
                    if room < wanted and trace is not None:  # it holds the entry back (with others, perhaps)
                        trace.append(TraceLine(f"carry-over limit {limit.id} on {entry.activity.id}", limit.span,
                                               format_number(room)))
                    take = min(take, room)
        if take <= ZERO:
            continue
        for number in under:
            used[number] += take
        left -= take
        carried.append(Entry(entry.activity, next_start, entry.period + 1, take, dict(entry.tags), carried=True))
    return amount - left, carried if rules.keep_tags else []
