"""Back end: plans — what each generated function must do, assembled from a checked spec before any code is written.

Input: built by `ceruleng.backend.module` from the compile state (checked expressions, templates, lets) and the
model. Output: plain records the function assembler (`ceruleng.backend.functions`) turns into Python: per activity
type the categories it is routed through; per category its dated versions, each with checks, lets, credit,
rounding, bounds and explanation. Templates and trace steps are referred to by their number in the compiled spec.
Fast and traced functions are both written from the same plan, so they cannot disagree on what the rules are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ceruleng.expr.checker import Binding, Checked
from ceruleng.model import Effective
from ceruleng.source import Span


@dataclass(frozen=True)
class TemplatePlan:
    index: int
    """The template's number in the compiled spec."""
    placeholders: tuple[Checked, ...]


@dataclass(frozen=True)
class LetPlan:
    binding: Binding
    checked: Checked
    step: int


@dataclass(frozen=True)
class CheckVersion:
    effective: Effective
    require: Checked
    otherwise: str
    reason: TemplatePlan
    step: int


@dataclass(frozen=True)
class CheckPlan:
    id: str
    versions: tuple[CheckVersion, ...]
    not_in_force: int
    """Template number of the reason given when no version covers the activity's date."""


@dataclass(frozen=True)
class BoundPlan:
    credits: Checked
    reason: TemplatePlan
    step: int


@dataclass(frozen=True)
class RoundingPlan:
    increment: Checked
    mode: Checked
    """The mode as text: written in quotes (or as a word), or computed (a dated parameter)."""
    step: int


@dataclass
class VersionPlan:
    """One version of a category: the rules in force over `effective`."""

    effective: Effective
    span: Span
    outcome: str | None
    outcome_reason: TemplatePlan | None
    checks: list[CheckPlan]
    lets: dict[Binding, LetPlan]
    """Every let this version's rules may read (the spec's own and the category's)."""
    credit: Checked | None = None
    credit_step: int = 0
    rounding: RoundingPlan | None = None
    minimum: BoundPlan | None = None
    maximum: BoundPlan | None = None
    explain: TemplatePlan | None = None
    tags: list[tuple[str, Checked]] = field(default_factory=list)
    """The tags of its credit: the category's own, then the defaults of the spec's other tags."""
    split: SplitPlan | None = None
    key: Checked | None = None
    """What makes two activities the same (repeats)."""


@dataclass(frozen=True)
class SplitPlan:
    over: Checked
    credits: Checked
    tags: tuple[tuple[str, Checked], ...]
    span: Span
    """Where the parts' credits are written: a failure computing a part names it."""


@dataclass
class CategoryPlan:
    index: int
    id: str
    title: str
    span: Span
    versions: list[VersionPlan]
    not_in_force: int
    """Template number of "no version of the rules for ... is in force on DAY"."""
    negative: int
    """Template number of "the credit formula gave a negative amount"."""


@dataclass(frozen=True)
class RoutePlan:
    """A category as one activity type's router sees it: its `when` (None: it takes every activity of the type)."""

    category: int
    when: Checked | None
    step: int | None


@dataclass
class TypePlan:
    """How one activity type is routed: its categories in spec order, and the reason when none takes it."""

    name: str
    number: int
    span: Span
    routes: list[RoutePlan] = field(default_factory=list)
    unmatched: str = ""
