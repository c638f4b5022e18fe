"""What the HTML templates show of a result: view records of display-ready text, built before any markup exists.

Input: a `MemberResult`, its member document (for activity titles), the as-of day and the report options. Output:
`MemberView` → `CredentialView` → `Section`s and `ActivityView`s whose every text field is already `shown` (control
and bidirectional characters escaped, absurd lengths cut): the templates only lay them out, with autoescaping on,
so nothing a member wrote can become markup, script or a reordered line.

Per-result sections (requirement, minimums, category limits; sub-periods next) are a registry: a section is a
function `(credential, context) → Section | None` in `SECTIONS` and a template `sections/<name>.html.j2`. Adding one
needs no change to the page templates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ceruleng.report import sentences
from ceruleng.report.cells import encodable, shortened, shown
from ceruleng.report.facts import SpecFacts
from ceruleng.report.titles import activity_titles, title_at
from ceruleng.scoring.results import ActivityResult, CredentialResult, MemberResult
from ceruleng.units import plural, unit_for
from ceruleng.values import ZERO, format_credits

LIMITS = {"id": 100, "title": 300, "reason": 1000, "trace": 400, "heading": 200}
"""The most display columns a text from member data keeps in the page (the rest is cut with an ellipsis)."""
_PERCENT = Decimal("0.1")


def text(value: str | None, limit: str = "title") -> str:
    """Member or spec text made safe to lay out (see `report.cells`)."""
    return shortened(shown(encodable(value)), LIMITS[limit]) if value else ""


@dataclass(frozen=True)
class Bar:
    """A progress bar: `value` of `maximum` as exact decimal text, and the filled percentage (0–100)."""

    label: str
    value: str
    maximum: str
    percent: str
    caption: str
    state: str
    """'met', 'short' or 'limit' (a cap: full is not a goal but an end)."""


@dataclass(frozen=True)
class Section:
    """One per-result block of a credential's card: which template draws it, and what it shows."""

    name: str
    title: str
    bars: tuple[Bar, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TraceView:
    rule: str
    value: str
    at: str


@dataclass(frozen=True)
class ActivityView:
    id: str
    title: str
    date: str
    category: str
    category_id: str
    status: str
    credits: str
    reasons: tuple[str, ...]
    malformed: bool
    trace: tuple[TraceView, ...] | None


@dataclass(frozen=True)
class CredentialView:
    heading: str
    spec: str
    name: str
    state: str
    """'met', 'not-met', 'open' (no requirement) or 'unscored'."""
    verdict: str
    unit: str
    cycle: tuple[str, str] | None
    deadline: str | None
    due: str | None
    days_left: int | None
    needed: str | None
    next_step: str | None
    carry_over: str | None
    error: str | None
    sections: tuple[Section, ...]
    activities: tuple[ActivityView, ...]


@dataclass(frozen=True)
class MemberView:
    member: str
    anchor: str
    source: str
    error: str | None
    credentials: tuple[CredentialView, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Context:
    as_of: date
    facts: SpecFacts | None
    explain: bool


def percent(value: Decimal, maximum: Decimal) -> str:
    """How full a bar is, 0 to 100 with one decimal, computed in decimals."""
    if maximum <= ZERO:
        return "100.0" if value > ZERO or maximum == ZERO else "0.0"
    share = min(Decimal(100), max(ZERO, value * 100 / maximum))
    return str(share.quantize(_PERCENT))


def _bar(label: str, value: Decimal, maximum: Decimal, credential: CredentialResult, state: str) -> Bar:
    show = format_credits(value, credential.places)
    top = format_credits(maximum, credential.places)
    caption = f"{show} of {top} {unit_for(maximum, credential.unit)}"
    return Bar(text(label, "heading"), show, top, percent(value, maximum), caption, state)


# ---- sections ----------------------------------------------------------------------------------------------------


def requirement_section(credential: CredentialResult, context: Context) -> Section | None:
    if credential.required is None:
        return None
    held = credential.earned + credential.carried_in
    notes = []
    if credential.carried_in:
        notes.append(f"Includes {sentences.amount(credential.carried_in, credential)} carried in from the last "
                     "cycle.")
    state = "met" if credential.met else "short"
    bar = _bar("Toward the requirement", held, credential.required, credential, state)
    return Section("requirement", "Requirement", (bar,), tuple(notes))


def minimums_section(credential: CredentialResult, context: Context) -> Section | None:
    if not credential.minimums:
        return None
    bars = tuple(_bar(m.title, m.counted, m.at_least, credential, "met" if m.met else "short")
                 for m in credential.minimums)
    return Section("minimums", "Minimums", bars)


def limits_section(credential: CredentialResult, context: Context) -> Section | None:
    """Per-category caps and the spec's limits: how much of each this cycle has used, and what each cut."""
    bars = tuple(_bar(total.title or key, total.earned, total.cap, credential, "limit")
                 for key, total in credential.categories.items() if total.cap is not None)
    bars += tuple(_bar(limit.title, limit.counted, limit.at_most, credential, "limit") for limit in credential.limits)
    if not bars:
        return None
    notes = tuple(f"{limit.title}: {sentences.amount(limit.cut, credential)} cut, from "
                  f"{', '.join(entry.activity for entry in limit.entries if entry.cut)}."
                  for limit in credential.limits if limit.cut)
    return Section("limits", "Limits per cycle", bars, tuple(text(note, "reason") for note in notes))


SECTIONS: list[Callable[[CredentialResult, Context], Section | None]] = [
    requirement_section,
    minimums_section,
    limits_section,
]
"""The per-result sections of a credential's card, in order; each has a template sections/<name>.html.j2."""


# ---- views -------------------------------------------------------------------------------------------------------


def member_view(result: MemberResult, document: Any, as_of: date, explain: bool,
                facts: dict[str, SpecFacts] | Any, number: int) -> MemberView:
    titles = activity_titles(document)
    where = result.file or ""
    if result.line:
        where += f" line {result.line}"
    credentials = tuple(credential_view(result, c, titles, Context(as_of, facts.get(c.spec) if c.spec else None,
                                                                      explain))
                        for c in result.credentials)
    return MemberView(text(result.member, "id") or "(no member id)", f"member-{number}", text(where, "heading"),
                      text(result.error, "reason") or None, credentials)


def credential_view(member: MemberResult, credential: CredentialResult, titles: Sequence[str | None],
                    context: Context) -> CredentialView:
    spec = credential.spec
    if credential.error or not spec:
        state, verdict = "unscored", "not scored"
    elif credential.required is None:
        state, verdict = "open", "no requirement"
    elif credential.met:
        state, verdict = "met", "met"
    else:
        state, verdict = "not-met", "not met"
    heading = credential.title or "Not scored"
    deadline = credential.deadline
    sections = tuple(section for build in SECTIONS if (section := build(credential, context)) is not None)
    activities = tuple(activity_view(credential, activity, titles, context.explain)
                       for activity in credential.activities)
    return CredentialView(
        heading=text(heading, "heading"), spec=text(spec, "id"), name=text(credential.name, "id"), state=state,
        verdict=verdict, unit=text(plural(credential.unit or "credit"), "id"),
        cycle=(credential.cycle[0].isoformat(), credential.cycle[1].isoformat()) if credential.cycle else None,
        deadline=deadline.isoformat() if deadline else None,
        due=sentences.when_due(deadline, context.as_of) if deadline else None,
        days_left=sentences.days_left(deadline, context.as_of) if deadline else None,
        needed=text(sentences.still_needed(credential, context.as_of, context.facts), "reason") or None,
        next_step=_capitalised(text(sentences.next_step(credential, context.as_of, context.facts), "reason")),
        carry_over=text(sentences.carry_over(credential, context.facts), "reason") or None,
        error=text(credential.error, "reason") or None,
        sections=sections, activities=activities)


def _capitalised(sentence: str) -> str | None:
    return sentence[0].upper() + sentence[1:] + "." if sentence else None


def activity_view(credential: CredentialResult, activity: ActivityResult, titles: Sequence[str | None],
                  explain: bool) -> ActivityView:
    category = activity.category
    trace = None
    if explain and activity.trace is not None:
        trace = tuple(TraceView(text(line.rule, "trace"), text(line.value, "trace"),
                                text(str(line.span) if line.span else "", "trace")) for line in activity.trace)
    return ActivityView(
        id=text(activity.id, "id") or f"#{activity.index + 1}",
        title=text(title_at(titles, activity.index)),
        date=activity.date.isoformat() if activity.date else "",
        category=text(credential.category_titles.get(category, category) if category else None),
        category_id=text(category, "id"),
        status=activity.status,
        credits=format_credits(activity.credits, credential.places),
        reasons=tuple(text(reason, "reason") for reason in activity.reasons),
        malformed=activity.malformed,
        trace=trace,
    )
