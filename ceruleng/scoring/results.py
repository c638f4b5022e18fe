"""Results of scoring: plain records the scorer fills and reporters read.

Input: built by `scoring.scorer`. Output: `MemberResult` → `CredentialResult` → `ActivityResult`, and their JSON
matching `schemas/result.schema.json` (decimals as strings at the spec's precision, dates ISO): written in one
place, `json_text()`; `to_json()` is that text read back.
Reason sentences are rendered from templates only when read, so a batch that only needs totals never formats them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from ceruleng.runtime import Outcome, Reason
from ceruleng.source import Span
from ceruleng.templates import Template
from ceruleng.values import ZERO, format_credits, format_value


@dataclass(frozen=True)
class TraceLine:
    """One rule applied to an activity or a cycle: what, where in the spec, and the value it gave."""

    rule: str
    span: Span | None
    value: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "at": str(self.span) if self.span else None, "value": self.value}


class Sentence(tuple[Any, ...]):
    """A reason sentence the scorer writes only when a report reads it: `Sentence((write, value, ...))`, the
    function that writes it and what it needs. A member's long history gives many reasons (each activity outside
    the period, each cut by a limit in an earlier period) that no report shows; they cost a tuple, not a formatted
    sentence."""

    __slots__ = ()

    def __str__(self) -> str:
        write: Callable[..., str] = self[0]
        return write(*self[1:])


@dataclass(slots=True)
class ActivityResult:
    index: int
    id: str | None
    type: str | None
    date: date | None
    category: str | None
    status: str
    credits: Decimal
    raw_reasons: Sequence[Reason | Sentence]
    templates: Sequence[Template]
    places: int
    malformed: bool = False
    trace: list[TraceLine] | None = None
    outcome: Outcome | None = None
    """What the rules decided, with the tags, parts and key the ledger reads (None for an activity not scored)."""

    @property
    def reasons(self) -> list[str]:
        return [reason if isinstance(reason, str) else str(reason) if isinstance(reason, Sentence)
                else self.templates[reason[0]].render(reason[1]) for reason in self.raw_reasons]

    @property
    def counts(self) -> bool:
        return self.status in ("awarded", "capped")

    def to_json(self) -> dict[str, Any]:
        """The JSON structure, read back from the one JSON writer (`json_text`), so they cannot disagree."""
        value: dict[str, Any] = json.loads(self.json_text())
        return value

    def json_text(self) -> str:
        """The activity as JSON text — the one JSON writer of results — built directly: reports write millions of these.
        It is exactly what `json.dumps(..., ensure_ascii=False)` would write (a test holds it to that)."""
        text = (f'{{"id": {_text(self.id)}, "index": {self.index}, "type": {_text(self.type)}, '
                f'"date": {_DATE(self.date)}, "category": {_text(self.category)}, "status": "{self.status}", '
                f'"credits": "{format_credits(self.credits, self.places)}", '
                f'"reasons": [{", ".join(map(_encode, self.reasons))}], '
                f'"malformed": {"true" if self.malformed else "false"}')
        if self.trace is not None:
            text += ', "trace": ' + json.dumps([line.to_json() for line in self.trace], ensure_ascii=False)
        return text + "}"


_encode = encode_basestring


def _text(value: str | None) -> str:
    return "null" if value is None else _encode(value)


def _DATE(value: date | None) -> str:
    return "null" if value is None else f'"{value.isoformat()}"'


@dataclass(slots=True)
class CategoryTotal:
    id: str
    title: str
    earned: Decimal = ZERO
    cap: Decimal | None = None


_Day = date
"""`date`, where a field of that name hides it."""


@dataclass(frozen=True)
class Behind:
    """One entry of credit behind a minimum or a limit: whose it is, the day it counts on, how much it gave, and
    (for a limit) how much this limit cut from it; `carried` when it came from the previous period's surplus."""

    activity: str
    date: date
    credits: Decimal
    cut: Decimal = ZERO
    carried: bool = False

    @classmethod
    def of(cls, activity: str, day: _Day, credits: Decimal, cut: Decimal, carried: bool) -> Behind:
        """`Behind(activity, day, credits, cut, carried)`, made at the cost of a plain record: a frozen dataclass
        sets each field through `object.__setattr__`, and the ledger makes one for every entry it reports."""
        made = object.__new__(cls)
        made.__dict__.update(activity=activity, date=day, credits=credits, cut=cut, carried=carried)
        return made


@dataclass
class MinimumPart:
    """One part of a minimum judged `every` so long: its days, what it needs and what it counted."""

    start: date
    end: date
    at_least: Decimal
    counted: Decimal

    @property
    def met(self) -> bool:
        return self.counted >= self.at_least


@dataclass
class MinimumResult:
    id: str
    title: str
    at_least: Decimal
    counted: Decimal
    met: bool
    window: tuple[date, date] | None = None
    """The days it counted, when it has a window of its own (None: the period)."""
    parts: list[MinimumPart] = field(default_factory=list)
    """Each part, when it is judged in parts (`every`)."""
    entries: list[Behind] = field(default_factory=list)
    """The entries it counted, in date order (before its categories' `up_to`, which `counted` applies)."""

    @property
    def short_by(self) -> Decimal:
        """How much more it needs: judged in parts, what each short part lacks (a surplus in one part does not
        make up for another); otherwise what the whole lacks."""
        if self.parts:
            return sum((max(ZERO, part.at_least - part.counted) for part in self.parts), ZERO)
        return max(ZERO, self.at_least - self.counted)


@dataclass
class LimitResult:
    """One limit as it stood for the period: its amount, what it let count, what it cut, and its parts."""

    id: str
    title: str
    at_most: Decimal
    counted: Decimal
    cut: Decimal
    window: tuple[date, date] | None
    parts: list[tuple[date, date, Decimal]] = field(default_factory=list)
    """Each part of its window (when it applies per part): first day, last day, what it let count."""
    entries: list[Behind] = field(default_factory=list)
    """Every entry it applied to, in date order: what it let count of each, and what it cut."""


@dataclass(frozen=True)
class PeriodInfo:
    """The period a result is about: its number, days, deadline, grace, and where the scoring day stands."""

    number: int
    start: date
    end: date
    deadline: date
    grace_end: date | None
    status: str
    """"open", "in grace", "closed" or "not started" (as of the day scored)."""


@dataclass
class CredentialResult:
    spec: str | None
    title: str
    unit: str
    places: int
    member: str | None
    name: str | None
    certified_on: date | None
    cycle: tuple[date, date] | None = None
    deadline: date | None = None
    period: PeriodInfo | None = None
    window: tuple[date, date] | None = None
    """The days the requirement counted, when it has a window of its own (a rolling one)."""
    required: Decimal | None = None
    earned: Decimal = ZERO
    carried_in: Decimal = ZERO
    remaining: Decimal | None = None
    met: bool | None = None
    met_by: str | None = None
    category_titles: dict[str, str] = field(default_factory=dict)
    category_sums: dict[str, Decimal] = field(default_factory=dict)
    category_caps: dict[str, Decimal] = field(default_factory=dict)
    minimums: list[MinimumResult] = field(default_factory=list)
    limits: list[LimitResult] = field(default_factory=list)
    fee: tuple[Decimal, str, str] | None = None
    audit: tuple[Decimal, bool] | None = None
    activities: list[ActivityResult] = field(default_factory=list)
    error: str | None = None
    trace: list[TraceLine] | None = None
    internal: bool = False
    """Scoring stopped on an error ceruleng did not foresee (a bug): `error` says where; the run exits 3."""

    @property
    def categories(self) -> dict[str, CategoryTotal]:
        """Every category of the spec, in spec order, with what it earned this cycle and its cap."""
        return {key: CategoryTotal(key, title, self.category_sums.get(key, ZERO), self.category_caps.get(key))
                for key, title in self.category_titles.items()}

    def credits(self, value: Decimal | None) -> str | None:
        return None if value is None else format_credits(value, self.places)

    def to_json(self) -> dict[str, Any]:
        """The JSON structure, read back from the one JSON writer (`json_text`), so they cannot disagree."""
        value: dict[str, Any] = json.loads(self.json_text())
        return value

    def behind_json(self, entries: list[Behind]) -> str:
        """`"entries": [...]` of a minimum or a limit."""
        show = self.credits
        return '"entries": [' + ", ".join(
            f'{{"activity": {_encode(entry.activity)}, "date": "{entry.date.isoformat()}", '
            f'"credits": "{show(entry.credits)}", "cut": "{show(entry.cut)}", "carried": {_flag(entry.carried)}}}'
            for entry in entries) + "]"

    def json_text(self) -> str:
        """The credential result as JSON text, built directly (as `json.dumps(..., ensure_ascii=False)` writes it)."""
        show = self.credits
        cycle = (f'{{"start": "{self.cycle[0].isoformat()}", "end": "{self.cycle[1].isoformat()}"}}'
                 if self.cycle else "null")
        sums, caps = self.category_sums, self.category_caps
        titles = self.category_titles
        shared = titles if isinstance(titles, CategoryTitles) else CategoryTitles(titles)
        prefixes = shared.json_prefixes()
        categories = ", ".join(
            f'{prefix}"earned": "{show(sums.get(key, ZERO))}", "cap": {_quoted(show(caps.get(key)))}}}'
            for key, prefix in prefixes
        )
        minimums = ", ".join(
            f'{{"id": {_encode(m.id)}, "title": {_encode(m.title)}, "at_least": "{show(m.at_least)}", '
            f'"counted": "{show(m.counted)}", "met": {_flag(m.met)}, "window": {_days(m.window)}, "parts": ['
            + ", ".join(f'{{"start": "{part.start.isoformat()}", "end": "{part.end.isoformat()}", '
                        f'"at_least": "{show(part.at_least)}", "counted": "{show(part.counted)}", '
                        f'"met": {_flag(part.met)}}}' for part in m.parts)
            + f"], {self.behind_json(m.entries)}}}" for m in self.minimums
        )
        limits = ", ".join(
            f'{{"id": {_encode(limit.id)}, "title": {_encode(limit.title)}, "at_most": "{show(limit.at_most)}", '
            f'"counted": "{show(limit.counted)}", "cut": "{show(limit.cut)}", "window": {_days(limit.window)}, '
            f'"parts": ['
            + ", ".join(f'{{"start": "{first.isoformat()}", "end": "{last.isoformat()}", "counted": "{show(used)}"}}'
                        for first, last, used in limit.parts)
            + f"], {self.behind_json(limit.entries)}}}" for limit in self.limits
        )
        period = self.period
        period_text = (f'{{"number": {period.number}, "start": "{period.start.isoformat()}", '
                       f'"end": "{period.end.isoformat()}", "deadline": "{period.deadline.isoformat()}", '
                       f'"grace_end": {_DATE(period.grace_end)}, "status": "{period.status}"}}'
                       if period is not None else "null")
        fee = (f'{{"amount": "{format_credits(self.fee[0], 2)}", "currency": {_encode(self.fee[1])}, '
               f'"per": {_encode(self.fee[2])}}}' if self.fee else "null")
        audit = (f'{{"rate": {_encode(format_value(self.audit[0]))}, "selected": {_flag(self.audit[1])}}}'
                 if self.audit else "null")
        activities = ", ".join(activity.json_text() for activity in self.activities)
        text = (f'{{"spec": {_text(self.spec)}, "title": {_encode(self.title)}, "member": {_text(self.member)}, '
                f'"credential": {_text(self.name)}, "certified_on": {_DATE(self.certified_on)}, '
                f'"unit": {_encode(self.unit)}, "cycle": {cycle}, "deadline": {_DATE(self.deadline)}, '
                f'"period": {period_text}, "requirement_window": {_days(self.window)}, '
                f'"required": {_quoted(show(self.required))}, "earned": "{show(self.earned)}", '
                f'"carried_in": "{show(self.carried_in)}", "remaining": {_quoted(show(self.remaining))}, '
                f'"met": {_flag(self.met)}, "met_by": {_text(self.met_by)}, "categories": {{{categories}}}, '
                f'"minimums": [{minimums}], "limits": [{limits}], "fee": {fee}, "audit": {audit}, '
                f'"error": {_text(self.error)}, '
                f'"activities": [{activities}]')
        if self.trace is not None:
            text += ', "trace": ' + json.dumps([line.to_json() for line in self.trace], ensure_ascii=False)
        return text + "}"


class CategoryTitles(dict[str, str]):
    """A spec's category titles, shared by all its results, with their JSON text prepared once."""

    _prefixes: list[tuple[str, str]] | None = None

    def json_prefixes(self) -> list[tuple[str, str]]:
        if self._prefixes is None:
            self._prefixes = [(key, f'{_encode(key)}: {{"title": {_encode(title)}, ') for key, title in self.items()]
        return self._prefixes


def _days(days: tuple[date, date] | None) -> str:
    return "null" if days is None else f'{{"start": "{days[0].isoformat()}", "end": "{days[1].isoformat()}"}}'


def _quoted(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _flag(value: bool | None) -> str:
    return "null" if value is None else ("true" if value else "false")


@dataclass
class MemberResult:
    member: str | None
    file: str | None
    line: int | None
    credentials: list[CredentialResult] = field(default_factory=list)
    error: str | None = None
    activity_count: int = 0
    internal: bool = False
    """Reading or scoring this member stopped on an error ceruleng did not foresee (a bug)."""

    @property
    def internal_errors(self) -> int:
        """How many parts of this member's result a bug cut short (0 on every sound run)."""
        return int(self.internal) + sum(1 for credential in self.credentials if credential.internal)

    @property
    def malformed(self) -> bool:
        """Whether any part of the input was rejected as malformed (exit code 1)."""
        return self.error is not None or any(
            credential.error is not None or any(a.malformed for a in credential.activities)
            for credential in self.credentials
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON structure, read back from the one JSON writer (`json_text`), so they cannot disagree."""
        value: dict[str, Any] = json.loads(self.json_text())
        return value

    def json_text(self) -> str:
        """The member result as JSON text, built directly (as `json.dumps(..., ensure_ascii=False)` writes it)."""
        results = ", ".join(credential.json_text() for credential in self.credentials)
        return (f'{{"member": {_text(self.member)}, "input": {{"file": {_text(self.file)}, '
                f'"line": {"null" if self.line is None else self.line}}}, "error": {_text(self.error)}, '
                f'"results": [{results}]}}')
