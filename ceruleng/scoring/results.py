"""Results of scoring: plain records the scorer fills and reporters read.

Input: built by `scoring.scorer`. Output: `MemberResult` → `CredentialResult` → `ActivityResult`, and their JSON
matching `schemas/result.schema.json` (decimals as strings at the spec's precision, dates ISO): written in one
place, `json_text()`; `to_json()` is that text read back.
Reason sentences are rendered from templates only when read, so a batch that only needs totals never formats them.
The records are msgspec Structs (see `ceruleng.model`): made in C at import, and an activity's result, made for
every activity scored, is built by C code rather than a generated `__init__`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from msgspec import Struct, field

from ceruleng.reasoncodes import UNCODED
from ceruleng.runtime import Outcome, Reason
from ceruleng.scoring import encode
from ceruleng.source import Span
from ceruleng.templates import Template
from ceruleng.values import ZERO, format_credits


class TraceLine(Struct, frozen=True):
    """One rule applied to an activity or a cycle: what, where in the spec, and the value it gave."""

    rule: str
    span: Span | None
    value: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "at": str(self.span) if self.span else None, "value": self.value}


class Sentence(tuple[Any, ...]):
    """A reason sentence the scorer writes only when a report reads it: `Sentence((code, write, value, ...))`, its
    code (`reasoncodes.ENGINE`), the function that writes it and what it needs. A member's long history gives many
    reasons (each activity outside the period, each cut by a limit in an earlier period) that no report shows;
    they cost a tuple, not a formatted sentence. A sentence already written is `Sentence((code, str, text))`."""

    __slots__ = ()

    def __str__(self) -> str:
        write: Callable[..., str] = self[1]
        return write(*self[2:])

    @property
    def code(self) -> str:
        code: str = self[0]
        return code


class AuditDraw(tuple[Any, ...]):
    """Whether a member is selected for audit, drawn when a report reads it: `AuditDraw((rate, threshold, seed,
    spec id, member, period start))`. The draw hashes its inputs (`audit_draw`); a batch that reports only totals
    never pays for the hash, and every report that reads it gets the same answer."""

    __slots__ = ()

    def selected(self) -> bool:
        _rate, threshold, seed, spec_id, member, start = self
        return audit_draw(seed, spec_id, member, start) < int(threshold)


def audit_draw(seed: int, spec_id: str, member: str | None, cycle_start: date) -> int:
    """The reproducible draw for one member and cycle: a number in [0, 2**64)."""
    text = f"{seed}|{spec_id}|{member}|{cycle_start.isoformat()}"
    digest = hashlib.sha256(text.encode(errors="surrogatepass")).digest()  # a Python caller's id may hold one
    return int.from_bytes(digest[:8], "big")


class ActivityResult(Struct):
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
    def reason_codes(self) -> list[str]:
        """The code of each reason, in the order of `reasons` (`ceruleng.reasoncodes`): what `eval --reasons codes`
        writes, and a batch stores to group activities by why."""
        templates = self.templates
        return [reason.code if isinstance(reason, Sentence) else UNCODED if isinstance(reason, str)
                else templates[reason[0]].code for reason in self.raw_reasons]

    @property
    def counts(self) -> bool:
        return self.status in ("awarded", "capped")

    def to_json(self) -> dict[str, Any]:
        """The JSON structure, read back from the one JSON writer (`json_text`), so they cannot disagree."""
        value: dict[str, Any] = json.loads(self.json_text())
        return value

    def json_text(self, reasons: str = "text") -> str:
        """The activity as JSON text, from the one JSON writer of results (`scoring.encode`)."""
        return encode.activity_text(self, reasons)


class CategoryTotal(Struct):
    id: str
    title: str
    earned: Decimal = ZERO
    cap: Decimal | None = None


class Behind(Struct, frozen=True):
    """One entry of credit behind a minimum or a limit: whose it is, the day it counts on, how much it gave, and
    (for a limit) how much this limit cut from it; `carried` when it came from the previous period's surplus."""

    activity: str
    date: date
    credits: Decimal
    cut: Decimal = ZERO
    carried: bool = False


class MinimumPart(Struct):
    """One part of a minimum judged `every` so long: its days, what it needs and what it counted."""

    start: date
    end: date
    at_least: Decimal
    counted: Decimal

    @property
    def met(self) -> bool:
        return self.counted >= self.at_least


class MinimumResult(Struct):
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


class ConditionResult(Struct):
    """A requirement that is not credit, as it stood for the period: met or not, over its window."""

    id: str
    title: str
    met: bool
    window: tuple[date, date] | None = None
    """The days it looked at, when it has a window of its own (None: the period)."""


class LimitResult(Struct):
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


class PeriodInfo(Struct, frozen=True):
    """The period a result is about: its number, days, deadline, grace, and where the scoring day stands."""

    number: int
    start: date
    end: date
    deadline: date
    grace_end: date | None
    status: str
    """"open", "in grace", "closed" or "not started" (as of the day scored)."""


class CredentialResult(Struct):
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
    conditions: list[ConditionResult] = field(default_factory=list)
    limits: list[LimitResult] = field(default_factory=list)
    fee: tuple[Decimal, str, str] | None = None
    audit_draw: AuditDraw | None = None
    """What decides whether the member is selected for audit (read as `audit`), when the spec audits."""
    activities: list[ActivityResult] = field(default_factory=list)
    error: str | None = None
    trace: list[TraceLine] | None = None
    internal: bool = False
    """Scoring stopped on an error ceruleng did not foresee (a bug): `error` says where; the run exits 3."""

    @property
    def audit(self) -> tuple[Decimal, bool] | None:
        """The spec's audit rate and whether this member's period is selected, or None when the spec audits none."""
        draw = self.audit_draw
        return None if draw is None else (draw[0], draw.selected())

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

    def json_text(self, reasons: str = "text", categories: str = "used") -> str:
        """The credential result as JSON text, from the one JSON writer of results (`scoring.encode`)."""
        return encode.credential_text(self, reasons, categories)


class CategoryTitles(dict[str, str]):
    """A spec's category titles, shared by all its results."""


class MemberResult(Struct):
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

    def json_text(self, reasons: str = "text", categories: str = "used") -> str:
        """The member result as JSON text (one line), from the one JSON writer of results (`scoring.encode`);
        `reasons` is `eval --reasons`: `text` (sentences), `codes` or `none` (`[]`); `categories` is `eval
        --categories`: `used` (the categories the credential used) or `all`."""
        return encode.member_text(self, reasons, categories)
