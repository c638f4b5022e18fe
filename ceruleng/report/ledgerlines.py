"""The table's lines for what the ledger decided: the period's days, each minimum and each limit.

Input: a `CredentialResult`. Output: lines of text for a person, indented under the credential's totals. A minimum
says what it counted of what it needs, over which days, in which parts, and from which activities; a limit says
what it let count of its amount, what it cut, and from which activities (those it cut marked). With `--explain`
every activity behind a minimum or limit is listed with its amount; without, the first few by id. Everything
shown from a member's file goes through `cells.shown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from ceruleng.report.cells import shown
from ceruleng.scoring.results import Behind, CredentialResult, LimitResult, MinimumResult
from ceruleng.values import ZERO, format_credits

BRIEF_ENTRIES = 6
"""Activities named behind a minimum or limit without --explain (then "and N more")."""


def period_lines(credential: CredentialResult) -> list[str]:
    """Where the reported period stands, and the days the requirement counts when they are not the period's."""
    lines = []
    period = credential.period
    if period is not None and period.status != "open":
        grace = f" until {period.grace_end.isoformat()}" if period.status == "in grace" and period.grace_end else ""
        lines.append(f"  period {period.number}: {period.status}{grace}")
    window = credential.window
    if window is not None and credential.cycle is not None and window != credential.cycle:
        lines.append(f"  the requirement counts {_days(window)}")
    return lines


def minimum_lines(credential: CredentialResult, explain: bool) -> list[str]:
    lines = []
    for minimum in credential.minimums:
        lines.append(_minimum(credential, minimum, explain))
        for part in minimum.parts:
            state = "met" if part.met else f"{_show(credential, part.at_least - part.counted)} more needed"
            lines.append(f"      {_days((part.start, part.end))}: {_show(credential, part.counted)} of "
                         f"{_show(credential, part.at_least)} ({state})")
    return lines


def condition_lines(credential: CredentialResult) -> list[str]:
    """Each condition that is not credit (pass an exam): met or not, over which days when not the period's."""
    return [f"  condition {shown(condition.title)}"
            f"{f' over {_days(condition.window)}' if condition.window else ''}: "
            f"{'met' if condition.met else 'not met'}" for condition in credential.conditions]


def limit_lines(credential: CredentialResult, explain: bool) -> list[str]:
    lines = []
    for limit in credential.limits:
        lines.append(_limit(credential, limit, explain))
        lines.extend(f"      {_days((first, last))}: {_show(credential, used)} counted"
                     for first, last, used in limit.parts)
    return lines


def _minimum(credential: CredentialResult, minimum: MinimumResult, explain: bool) -> str:
    state = "met" if minimum.met else f"{_show(credential, minimum.short_by)} more needed"
    if minimum.parts and not minimum.met:
        short = sum(1 for part in minimum.parts if not part.met)
        state += f" in {short} of its {len(minimum.parts)} parts"
    window = f" over {_days(minimum.window)}" if minimum.window else ""
    text = (f"  minimum {shown(minimum.title)}: {_show(credential, minimum.counted)} of "
            f"{_show(credential, minimum.at_least)}{window} ({state})")
    return text + _from(credential, minimum.entries, explain)


def _limit(credential: CredentialResult, limit: LimitResult, explain: bool) -> str:
    window = f" over {_days(limit.window)}" if limit.window and limit.window != credential.cycle else ""
    cut = f", {_show(credential, limit.cut)} cut" if limit.cut else ""
    text = (f"  limit {shown(limit.title)}: {_show(credential, limit.counted)} counted of at most "
            f"{_show(credential, limit.at_most)}{window}{cut}")
    return text + _from(credential, limit.entries, explain)


def _from(credential: CredentialResult, entries: Sequence[Behind], explain: bool) -> str:
    """` · from A1, A2 (cut 0.5), ...`: the activities behind a minimum or a limit."""
    if not entries:
        return ""
    merged: dict[tuple[str, bool], list[Decimal]] = {}  # an activity split across tags is named once, its parts summed
    for entry in entries:
        credits, cut = merged.setdefault((entry.activity, entry.carried), [ZERO, ZERO])
        merged[(entry.activity, entry.carried)] = [credits + entry.credits, cut + entry.cut]
    listed = list(merged.items())
    shown_entries = listed if explain else listed[:BRIEF_ENTRIES]
    names = []
    for (activity, carried), (credits, cut) in shown_entries:
        name = shown(activity) or "(no id)"
        notes = []
        if explain:
            notes.append(_show(credential, credits))
        if cut:
            notes.append(f"cut {_show(credential, cut)}")
        if carried:
            notes.append("carried in")
        names.append(f"{name} ({', '.join(notes)})" if notes else name)
    more = len(listed) - len(shown_entries)
    return " · from " + ", ".join(names) + (f" and {more} more" if more else "")


def _show(credential: CredentialResult, value: Decimal) -> str:
    return format_credits(value, credential.places)


def _days(days: tuple[date, date]) -> str:
    return f"{days[0].isoformat()} to {days[1].isoformat()}"
