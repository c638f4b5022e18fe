"""The compiled spec: what the back end produces from a checked spec and the scorer runs.

Input: built once per spec by `ceruleng.backend.module`. Output: plain records the scorer reads — per activity type
the generated function that routes and scores it (and its traced twin), the categories by number, the cycle rules
as generated functions, reason templates, trace steps, the record checkers, and the generated `Program` (its source
and line map, for `--show-python` and for naming the rule behind a failure). Holds no code that writes code.

The records are msgspec Structs for the reason `ceruleng.model` gives: a warm `eval` imports them to unpickle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any, NamedTuple

from msgspec import Struct, field

from ceruleng.errors import Diagnostic
from ceruleng.fields import Coercer
from ceruleng.model import Attribute, Duration, Effective, SpecModel
from ceruleng.runtime import Outcome
from ceruleng.source import Span
from ceruleng.templates import Template


class Origin(Struct, frozen=True):
    """The spec rule a generated line translates: where it is written, what it is, and whose it is."""

    span: Span
    what: str
    """A few words for people: "credit of category X", "when of category Y", "record check of an attribute"."""
    step: int | None = None
    """The trace step this line computes, when it computes one."""
    category: int | None = None
    """The category (by number) whose function this line belongs to, when it belongs to one."""


class Program(Struct):
    """A compiled generated module: its source, where each line came from, and its namespace."""

    filename: str
    source: str
    origins: list[Origin | None]
    namespace: dict[str, Any]

    def origin_at(self, line: int) -> Origin | None:
        """The origin of 1-based generated line `line`."""
        return self.origins[line - 1] if 1 <= line <= len(self.origins) else None

    def origins_of(self, error: BaseException) -> list[Origin]:
        """The rules the generated frames of `error`'s traceback were running, outermost first (empty when the error
        did not pass through this module)."""
        found: list[Origin] = []
        tb: TracebackType | None = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                origin = self.origin_at(tb.tb_lineno)
                if origin is not None:
                    found.append(origin)
            tb = tb.tb_next
        return found

    def annotated(self) -> str:
        """The module with the spec position of each part written above it, for `ceruleng check --show-python`."""
        out: list[str] = []
        previous: Origin | None = None
        for text, origin in zip(self.source.splitlines(), self.origins, strict=False):
            changed = previous is None or (origin is not None and (origin.span, origin.what) != (previous.span,
                                                                                                previous.what))
            if origin is not None and changed:
                indent = text[: len(text) - len(text.lstrip())]
                out.append(f"{indent}# {origin.span}: {origin.what}")
            previous = origin
            out.append(text)
        return "\n".join(out) + "\n"


Context = dict[str, Any]
"""What generated functions read of a credential: certified_on, credential attributes, cycle_start, cycle_end."""


class ActivityScorer(NamedTuple):
    """The generated functions for one activity type: route to the first matching category and score it."""

    fast: Callable[[dict[str, Any], Context], Outcome]
    traced: Callable[[dict[str, Any], Context, list[tuple[int, Any]]], Outcome]
    """The same rules, appending (step number, value) for every rule applied to the list it is given."""


class Step(Struct, frozen=True):
    """One rule application a trace can report: what kind, a label, where the rule is written (its span and its
    document path), and the declared names its expression reads (for traceability of parameters and tables)."""

    kind: str
    label: str
    span: Span
    path: tuple[Any, ...] = ()
    names: frozenset[str] = frozenset()


DateRule = Callable[[Context], date]
"""A generated function giving a date from a credential context (a period's start or end, a window's end)."""
EntryTest = Callable[[dict[str, Any], Context], bool]
"""A generated condition on one entry of credit (`select`), with the period's context."""


class CompiledWindow(Struct, frozen=True):
    """Which days a rule counts, for the period in the context: `start`/`end` default to the period's own; with
    `length`, the window is that long and ends on `end`; `every` cuts it into consecutive parts."""

    start: DateRule | None = None
    end: DateRule | None = None
    length: Duration | None = None
    every: Duration | None = None
    span: Span | None = None


class CompiledLayout(Struct, frozen=True):
    """How periods are laid out for a credential (see `ceruleng.scoring.periods`)."""

    start: DateRule | None
    """The first period's start (None: certified_on)."""
    length: Duration | None
    end: DateRule | None
    """A period's end from its start (`x["cycle_start"]`, `x["cycle_number"]`), instead of `length`."""
    first_start: DateRule | None
    first_length: Duration | None
    first_end: DateRule | None
    look_back: Duration | None
    grace: Duration | None
    grace_counts: str
    deadline: DateRule | None
    span: Span


Amount = Callable[[Context], Decimal]
"""A generated cycle rule giving an amount (a cap, a limit, a tier's bound or factor)."""


class CompiledRepeats(Struct, frozen=True):
    within: str | Duration
    shares: tuple[Decimal, ...]
    span: Span


class CompiledTier(Struct, frozen=True):
    up_to: Amount | None
    factor: Amount


class CompiledCategory(Struct, frozen=True):
    id: str
    title: str
    index: int
    types: tuple[str, ...]
    span: Span
    cap: Amount | None = None
    cap_span: Span | None = None
    cap_every: Duration | None = None
    """The cap applies in each part of this length of the period."""
    repeats: CompiledRepeats | None = None
    tiers: tuple[CompiledTier, ...] = ()


class CompiledLimit(Struct, frozen=True):
    """A cap over the entries `select` chooses (None: all), in its window (or each part of it)."""

    id: str
    title: str
    select: EntryTest | None
    at_most: Amount
    window: CompiledWindow | None
    effective: Effective
    span: Span


class CompiledCarry(Struct, frozen=True):
    """Which of a period's surplus carries over, and how it counts in the next period."""

    select: EntryTest | None
    window: CompiledWindow | None
    limits: tuple[CompiledLimit, ...]
    keep_tags: bool
    prefer: EntryTest | None = None
    """Entries it holds for carry before the others."""


class CountedCategory(Struct, frozen=True):
    """What a minimum adds: a category's entries, or those `select` chooses (or both), limited by `up_to`."""

    category: str | None
    up_to: Callable[[Context], Decimal] | None
    select: EntryTest | None = None


class MinimumVersion(Struct, frozen=True):
    effective: Effective
    at_least: Callable[[Context], Decimal]
    counts: tuple[CountedCategory, ...]
    """The categories that count (empty: all of them, or what `select` chooses)."""
    select: EntryTest | None = None
    window: CompiledWindow | None = None


class CompiledMinimum(Struct, frozen=True):
    id: str
    title: str
    versions: tuple[MinimumVersion, ...]
    span: Span

    def version_on(self, day: Any) -> MinimumVersion | None:
        return next((version for version in self.versions if version.effective.covers(day)), None)


class CompiledAlternative(Struct, frozen=True):
    id: str
    title: str
    met: Callable[[Context, list[dict[str, Any]]], bool]
    span: Span


class CompiledCondition(Struct, frozen=True):
    """A requirement that is not credit: `met(totals, activities)` over its window (None: the period)."""

    id: str
    title: str
    met: Callable[[Context, list[dict[str, Any]]], bool]
    window: CompiledWindow | None
    span: Span


class CompiledSpec(Struct):
    """Everything the scorer needs to score records against one spec; built once, reused for every record."""

    model: SpecModel
    attributes: dict[str, Attribute]
    coerce: Coercer
    """Checks and types an activity record (see `ceruleng.backend.records`)."""
    coerce_credential: Coercer
    """Checks and types a credential's own attributes."""
    scorers: dict[str, ActivityScorer] = field(default_factory=dict)
    by_number: list[CompiledCategory] = field(default_factory=list)
    """Categories by the number an `Outcome` names."""
    categories: dict[str, CompiledCategory] = field(default_factory=dict)
    """Categories by id, in spec order."""
    layout: CompiledLayout | None = None
    deadline: Callable[[Context], Any] | None = None
    requirement: Callable[[Context], Decimal] | None = None
    requirement_window: CompiledWindow | None = None
    carry_max: Callable[[Context], Decimal] | None = None
    carry_none: bool = False
    """The spec says nothing carries over (carry_over.max is 0): no earlier cycle is ever scored."""
    minimums: list[CompiledMinimum] = field(default_factory=list)
    limits: list[CompiledLimit] = field(default_factory=list)
    """The spec's limits (their `select` is None: which entries they take is `limits_under`)."""
    limits_under: Callable[[dict[str, Any], Context, int], int] | None = None
    """Which of a period's category caps and limits an entry falls under, as bits (see the back end's
    `write_limit_selection`); None for a spec with neither."""
    carry: CompiledCarry | None = None
    alternatives: list[CompiledAlternative] = field(default_factory=list)
    conditions: list[CompiledCondition] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    reads: dict[tuple[Any, ...], frozenset[str]] = field(default_factory=dict)
    """The declared names each expression of the spec reads, by its document path: which parameters and tables a
    rule that was applied depends on (traceability: a parameter read only by a cap is exercised with the cap)."""
    program: Program | None = None
    """The generated module: its source, and the spec position of every line."""
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.model.id

    def origins_of(self, error: BaseException) -> list[Origin]:
        """The rules the generated code was running when `error` was raised, outermost first."""
        return self.program.origins_of(error) if self.program is not None else []
