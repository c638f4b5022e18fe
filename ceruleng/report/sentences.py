"""The sentences a member reads about one credential: what is still needed, the next step, what carries over.

Input: a `CredentialResult`, the as-of day and the spec's `SpecFacts` (when known). Output: plain sentences (no
markup, no colour), shared by the table and the HTML report so both say the same thing. Nothing here decides
policy: every number comes from the result; the carry-over sentence restates the spec's carry-over limit with the
cycle's surplus (the scorer's own rule: at most the limit, and never more than the cycle itself earned).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ceruleng.report.facts import SpecFacts
from ceruleng.scoring.results import CredentialResult
from ceruleng.units import unit_for
from ceruleng.values import ZERO, format_credits, format_number


def amount(value: Decimal, credential: CredentialResult) -> str:
    """An amount with its unit, at the spec's precision: '4.9 credits', '1.00 credit'."""
    return f"{format_credits(value, credential.places)} {unit_for(value, credential.unit)}".rstrip()


def more(value: Decimal, credential: CredentialResult) -> str:
    """'2.4 more credits'."""
    return f"{format_credits(value, credential.places)} more {unit_for(value, credential.unit)}".rstrip()


def days_left(deadline: date, as_of: date) -> int:
    return (deadline - as_of).days


def when_due(deadline: date, as_of: date) -> str:
    """'14 days left', '1 day left', 'due today', 'passed 3 days ago'."""
    days = days_left(deadline, as_of)
    if days == 0:
        return "due today"
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} left"
    return f"passed {-days} day{'s' if days != -1 else ''} ago"


def short_minimums(credential: CredentialResult) -> list[tuple[str, Decimal]]:
    """(title, how much more) for every minimum not met yet."""
    return [(m.title, m.short_by) for m in credential.minimums if not m.met and m.short_by > ZERO]


def still_needed(credential: CredentialResult, as_of: date, facts: SpecFacts | None = None) -> str | None:
    """One sentence: met, or what is missing and by when. None for a credential that was not scored."""
    if credential.error or not credential.spec:
        return None
    if credential.required is None:
        return f"No requirement applies: {amount(credential.earned, credential)} earned."
    if credential.met_by:
        title = (facts.alternatives.get(credential.met_by) if facts else None) or credential.met_by
        return f"Requirement met: {title.rstrip('.')}."
    held = credential.earned + credential.carried_in
    if credential.met:
        carried = f", {format_credits(credential.carried_in, credential.places)} of them carried in" \
            if credential.carried_in else ""
        return f"Requirement met: {amount(held, credential)} of {amount(credential.required, credential)} " \
               f"required{carried}."
    parts = []
    remaining = credential.remaining or ZERO
    if remaining > ZERO:
        parts.append(more(remaining, credential) + (" in total" if credential.minimums else ""))
    for title, missing in short_minimums(credential):
        parts.append(f"{more(missing, credential)} in {title}")
    parts.extend(f"to meet the condition '{c.title}'" for c in credential.conditions if not c.met)
    needed = " and ".join(parts) if parts else "nothing more"
    when = ""
    if credential.deadline:
        when = f" by {credential.deadline.isoformat()} ({when_due(credential.deadline, as_of)})"
    return f"You still need {needed}{when}."


def next_step(credential: CredentialResult, as_of: date, facts: SpecFacts | None = None) -> str | None:
    """What to do now: submit by the deadline and pay the fee, or earn what is missing first; audit and pending.

    A clause to follow "next step:" (lower case, no closing full stop)."""
    if credential.error or not credential.spec:
        return None
    pieces = []
    fee = ""
    if credential.fee:
        fee = f"pay the {format_credits(credential.fee[0], 2)} {credential.fee[1]} fee per {credential.fee[2]}"
    deadline = credential.deadline
    if deadline is not None and credential.required is not None:
        due = f"{deadline.isoformat()} ({when_due(deadline, as_of)})"
        if credential.met:
            pieces.append(f"submit by {due}" + (f" and {fee}" if fee else ""))
        elif days_left(deadline, as_of) >= 0:
            remaining = credential.remaining or ZERO
            missing = f"earn {more(remaining, credential)}" if remaining > ZERO else (
                "meet the minimums" if any(not m.met for m in credential.minimums) else "meet the conditions")
            pieces.append(f"{missing} by {due}, then submit" + (f" and {fee}" if fee else ""))
        else:
            who = facts.body if facts and facts.body else "the certifying body"
            pieces.append(f"the deadline {due} has passed; contact {who}")
    elif fee:
        pieces.append(fee)
    if credential.audit:
        rate = format_number(credential.audit[0] * 100)
        chosen = "selected" if credential.audit[1] else "not selected"
        pieces.append(f"audit: {chosen} ({rate}% of submissions are audited)")
    pending = sum(1 for activity in credential.activities if activity.status == "pending")
    if pending:
        who = facts.body if facts and facts.body else "the certifying body"
        pieces.append(f"{pending} pending activit{'ies await' if pending != 1 else 'y awaits'} a decision by {who}")
    return "; ".join(pieces) if pieces else None


def carry_over(credential: CredentialResult, facts: SpecFacts | None) -> str | None:
    """What carries into the next cycle and what does not. None without a cycle requirement or known spec."""
    if facts is None or credential.error or credential.required is None or credential.cycle is None:
        return None
    surplus = credential.earned + credential.carried_in - credential.required
    required = amount(credential.required, credential)
    if facts.carry_over == "none":
        if surplus > ZERO:
            return f"Nothing carries over: the {amount(surplus, credential)} above the {required} required will " \
                   "not count toward the next cycle."
        return "Nothing carries over to the next cycle."
    if facts.carry_over == "rule" or facts.carry_max is None:
        return "Credits above the requirement carry over to the next cycle up to the limit the spec sets; the " \
               "rest does not."
    limit = format_credits(facts.carry_max, credential.places)
    if surplus <= ZERO:
        return f"Up to {amount(facts.carry_max, credential)} above the requirement carry over to the next cycle."
    carries = max(ZERO, min(surplus, facts.carry_max, credential.earned))
    if carries == surplus:
        return f"The {amount(surplus, credential)} above the requirement carry over to the next cycle (up to " \
               f"{limit} may)."
    show = format_credits
    return f"{show(carries, credential.places)} of the {amount(surplus, credential)} above the requirement carry " \
           f"over to the next cycle; the other {show(surplus - carries, credential.places)} do not (at most " \
           f"{limit} may)."
