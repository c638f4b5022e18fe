"""The spec as typed records: schema-valid plain data → frozen records that keep every position.

Input: a `LoadedDocument` that passed `schema.validate_document`. Output: a `SpecModel` whose expressions are still
text (`ExprText`, parsed by the compiler) and whose dates are parsed, plus `date-invalid` and
`version-range-inverted` diagnostics. No expression is parsed here and no reference is resolved: those are compiler
stages, so this module stays a faithful, boring mirror of the YAML.

The records are msgspec Structs, not dataclasses: a warm `eval` imports this module to unpickle a cached
spec, and Python 3.11 compiles each dataclass's methods from text at import (about 1.5 ms a class, most of a warm
one-member eval), where a Struct's class is made in C. They compare, hash, print and pickle as frozen dataclasses
do; `msgspec.structs.replace` stands for `dataclasses.replace`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from msgspec import Struct, field
from msgspec.structs import replace

from ceruleng.errors import Diagnostic
from ceruleng.source import Span
from ceruleng.values import parse_iso_date
from ceruleng.yamlsrc import LoadedDocument, Path


class ExprText(Struct, frozen=True):
    """An expression as written, and where: the compiler parses it with positions inside the YAML value.

    A dated version of a category that does not give a key inherits it from the version before it: the inherited
    expression keeps the `path` and `span` of the text a person wrote (diagnostics and traces point there), and
    `copy` says which version inherits it (that version's path; None for the version that wrote it). It may be
    checked in a different scope there (the version may give its own let the expression reads), so the compiler
    keeps what it checked by `key`, never by `path` alone."""

    text: str
    path: Path
    span: Span
    copy: Path | None = None

    @property
    def key(self) -> tuple[Path, Path | None]:
        """What the compiler keeps this expression's checked form, bindings and templates by."""
        return self.path, self.copy


class Citation(Struct, frozen=True):
    doc: str
    quote: str
    note: str | None
    path: Path
    span: Span


class Effective(Struct, frozen=True):
    """When a version of a rule is in force: both ends inclusive, None for open."""

    start: date | None = None
    end: date | None = None

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    @property
    def dated(self) -> bool:
        return self.start is not None or self.end is not None

    def describe(self) -> str:
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "further notice"
        return f"from {start} until {end}"


class Check(Struct, frozen=True):
    id: str
    title: str | None
    require: ExprText
    otherwise: str
    reason: ExprText
    applies_to: tuple[str, ...] | None
    excluded: tuple[str, ...]
    effective: Effective
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Rounding(Struct, frozen=True):
    increment: ExprText
    mode: ExprText
    """A mode written as a word (`down`, `half-even`), or an expression giving one as text (a dated parameter)."""
    path: Path


class Bound(Struct, frozen=True):
    credits: ExprText
    reason: ExprText
    path: Path


class Repeats(Struct, frozen=True):
    """Repeats of the same activity (by `key`), in date order, earn `shares` of their credit."""

    key: ExprText
    within: str | Duration
    """"cycle" (the period), "ever", or how far back an earlier one counts."""
    shares: tuple[Decimal, ...]
    path: Path
    span: Span


class Tier(Struct, frozen=True):
    up_to: ExprText | None
    factor: ExprText
    path: Path


class Split(Struct, frozen=True):
    over: ExprText
    credits: ExprText
    tags: tuple[tuple[str, ExprText], ...]
    path: Path
    span: Span


class Category(Struct, frozen=True):
    id: str
    title: str
    types: tuple[str, ...]
    when: ExprText | None
    outcome: str | None
    reason: ExprText | None
    checks: tuple[Check, ...]
    lets: tuple[tuple[str, ExprText], ...]
    credit: ExprText | None
    rounding: Rounding | None
    minimum: Bound | None
    maximum: Bound | None
    cap: ExprText | None
    cap_every: Duration | None
    tags: tuple[tuple[str, ExprText], ...]
    repeats: Repeats | None
    tiers: tuple[Tier, ...]
    split: Split | None
    explain: ExprText | None
    effective: Effective
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Counted(Struct, frozen=True):
    """What counts toward a minimum: a category's entries, or the entries `select` chooses (or both), at most
    `up_to`."""

    category: str | None
    up_to: ExprText | None
    span: Span
    select: ExprText | None = None


class Minimum(Struct, frozen=True):
    id: str
    title: str
    at_least: ExprText
    counts: tuple[Counted, ...]
    """The categories that count (empty: every category, or what `select` chooses)."""
    select: ExprText | None
    window: Window | None
    effective: Effective
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Condition(Struct, frozen=True):
    """A requirement that is not credit: `met_when` over the entries and activities of its window (default: the
    period), judged with the period's names; the requirement is met only when every condition is."""

    id: str
    title: str
    met_when: ExprText
    window: Window | None
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Alternative(Struct, frozen=True):
    id: str
    title: str
    met_when: ExprText
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Limit(Struct, frozen=True):
    """A cap over the credit `select` chooses, in a window (default: the period)."""

    id: str
    title: str
    select: ExprText | None
    at_most: ExprText
    window: Window | None
    effective: Effective
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class CarryRules(Struct, frozen=True):
    """What of a period's surplus carries to the next: which credit (`select`, `window`), limits on it, and whether
    it keeps its category and tags there."""

    select: ExprText | None
    window: Window | None
    limits: tuple[Limit, ...]
    keep_tags: bool
    path: Path
    prefer: ExprText | None = None
    """Which credit carries first (those it holds for, then the rest; within each, the latest first)."""


class Tag(Struct, frozen=True):
    name: str
    description: str
    type: str
    values: tuple[str, ...] | None
    default: ExprText | None
    span: Span


class Requirement(Struct, frozen=True):
    credits: ExprText
    window: Window | None
    carry_over: ExprText | None
    """The most that carries (carry_over.max)."""
    carry: CarryRules | None
    minimums: tuple[Minimum, ...]
    alternatives: tuple[Alternative, ...]
    sources: tuple[Citation, ...]
    path: Path
    conditions: tuple[Condition, ...] = ()
    """What must hold beside the credit (pass an exam, complete a named activity): each is met or not."""


class Duration(Struct, frozen=True):
    """A length of time as a spec writes it: so many years, months or days."""

    amount: int
    unit: str
    """"years", "months" or "days"."""
    span: Span

    @property
    def months(self) -> int | None:
        """The length in months (None for a length in days)."""
        return {"years": 12, "months": 1}.get(self.unit, 0) * self.amount or None

    def describe(self) -> str:
        word = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {word}"


class Window(Struct, frozen=True):
    """Which days a rule counts, relative to the period it judges: from `start` (or `length` before `end`) to `end`;
    a missing part is the period's own."""

    start: ExprText | None
    end: ExprText | None
    length: Duration | None
    every: Duration | None
    """Judge the rule in each consecutive part of this length of the window."""
    path: Path
    span: Span


class FirstPeriod(Struct, frozen=True):
    start: ExprText | None
    length: Duration | None
    end: ExprText | None
    look_back: Duration | None
    path: Path
    span: Span


class Grace(Struct, frozen=True):
    length: Duration
    counts: str
    """"when-needed" or "always"."""
    path: Path
    span: Span


class Cycle(Struct, frozen=True):
    """How periods are laid out: the first starts on `start` (default certified_on) and each lasts `length` or ends
    on `end` (an expression of its start); `first` may differ; `grace` and `first.look_back` widen what counts."""

    start: ExprText | None
    length: Duration | None
    end: ExprText | None
    first: FirstPeriod | None
    grace: Grace | None
    deadline: ExprText | None
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Attribute(Struct, frozen=True):
    name: str
    type: str
    description: str
    required: bool = False
    scale: str | None = None
    one_of: tuple[str, ...] | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    formats: tuple[str, ...] | None = None
    span: Span | None = None


class ParameterVersion(Struct, frozen=True):
    value: Any
    effective: Effective
    path: Path
    span: Span


class Parameter(Struct, frozen=True):
    name: str
    description: str
    versions: tuple[ParameterVersion, ...]
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Scale(Struct, frozen=True):
    name: str
    values: tuple[str, ...]
    span: Span


class Table(Struct, frozen=True):
    name: str
    description: str
    key_type: str
    value_type: str
    columns: tuple[tuple[str, str], ...] | None
    """Named value columns and their types (`{rate: number, label: text}`), or None for one value per key."""
    rows: dict[str, Any] | None
    file: str | None
    sources: tuple[Citation, ...]
    path: Path
    span: Span


class Fee(Struct, frozen=True):
    amount: Decimal
    currency: str
    per: str


ACTIVITY_EXPECTATIONS = ("category", "status", "credits", "reason", "malformed")
"""What an expectation may say of one activity."""


class Expectation(Struct, frozen=True):
    """One expected result of an example (for one credential), as written, with where each part is written."""

    path: Path
    credential: str | int | None
    """Which credential's result this is (its name or position); None: the spec's own, in order."""
    activity: dict[str, Any]
    """What the example's single activity must show (category, status, credits, reason, malformed)."""
    activities: dict[str, dict[str, Any]]
    """What each activity, by id, must show."""
    cycle: dict[str, Any]
    totals: dict[str, Any]
    """Cycle results: required, earned, carried_in, remaining, met, met_by, deadline, fee, audit_selected."""
    categories: dict[str, Any]
    minimums: dict[str, Any]
    period: dict[str, Any]
    requirement_window: dict[str, Any]
    minimum_parts: dict[str, list[dict[str, Any]]]
    limits: dict[str, dict[str, Any]]
    """Per limit id: counted, cut and the activity ids behind it (`entries`)."""
    conditions: dict[str, Any] = field(default_factory=dict)
    """Per condition (by id): whether it is met."""

    def expects_malformed(self, record_id: str | None, single: bool) -> bool:
        return bool((self.activity.get("malformed") and single)
                    or (self.activities.get(record_id or "") or {}).get("malformed"))

    def named_categories(self) -> list[tuple[Path, Any]]:
        """Every category this expectation names, with where it is named."""
        named = [((*self.path, "category"), self.activity.get("category"))]
        named += [((*self.path, "activities", key, "category"), value.get("category"))
                  for key, value in self.activities.items()]
        named += [((*self.path, "categories", key), key) for key in self.categories]
        return [(path, category) for path, category in named if category is not None]


class ExampleRecord(Struct, frozen=True):
    """One activity of an example, as written (a single `activity` gets the id A1 when it has none)."""

    path: Path
    record: Any

    @property
    def id(self) -> str | None:
        return str(self.record.get("id")) if isinstance(self.record, dict) else None


class Example(Struct, frozen=True):
    """A worked example: a small member log and what scoring it must give (read once, here)."""

    name: str
    index: int
    path: Path
    span: Span
    records: tuple[ExampleRecord, ...]
    single: bool
    """Written as one `activity` (its expectations about "the activity" concern that one)."""
    shaped: bool
    """It has an `activity` or `activities` (an example with neither is reported by `check`)."""
    certified_on: str | None
    credential: dict[str, Any]
    credentials: tuple[dict[str, Any], ...] | None
    as_of: str | None
    expectations: tuple[Expectation, ...]
    period: str | None = None
    """Which period the result is about, as `eval --period` says: due (default), previous, current, next, or a
    date (YYYY-MM-DD) the period contains."""

    def expects_malformed(self, record: ExampleRecord) -> bool:
        return any(expected.expects_malformed(record.id, self.single) for expected in self.expectations)


class SourceDoc(Struct, frozen=True):
    id: str
    title: str
    file: str | None
    url: str | None
    span: Span


class SpecModel(Struct):
    """Everything a spec says, typed, with positions; expressions and templates are still text."""

    document: LoadedDocument
    id: str
    title: str
    body: str | None
    credential: str | None
    unit_name: str
    places: int
    contact_hours: Decimal | None
    date_formats: tuple[str, ...]
    sources: dict[str, SourceDoc]
    cycle: Cycle | None
    requirement: Requirement | None
    fee: Fee | None
    audit_rate: Decimal | None
    parameters: dict[str, Parameter]
    scales: dict[str, Scale]
    tables: dict[str, Table]
    attributes: dict[str, Attribute]
    credential_attributes: dict[str, Attribute]
    activity_types: dict[str, str]
    tags: dict[str, Tag]
    limits: tuple[Limit, ...]
    lets: tuple[tuple[str, ExprText], ...]
    checks: tuple[Check, ...]
    categories: tuple[Category, ...]
    examples: tuple[Example, ...]
    citations: list[Citation] = field(default_factory=list)
    """Every citation in the spec, in document order (for coverage and quote checks)."""
    cycle_lets: tuple[tuple[str, ExprText], ...] = ()
    """Named values of the period (`cycle_let`), in order: what cycle rules may read beside the period's names."""

    @property
    def path(self) -> str:
        return self.document.source.path

    def describe(self, path: Path) -> str:
        """A rule's key as a reader finds it in the spec: `categories[3] webinar`, `requirement.carry_over`."""
        parts: list[str] = []
        node: Any = self.document.data
        for key in path:
            if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            elif isinstance(node, dict):
                node = node.get(key)
            else:
                node = None
            if isinstance(key, int) and parts:
                label = node.get("id") if isinstance(node, dict) else None
                parts[-1] += f"[{key}]" + (f" {label}" if label else "")
            else:
                parts.append(str(key))
        return ".".join(parts) or "(top level)"


FIRST_VERSION_KEYS = ("title", "types", "source")
"""What the first version of a category must give (later versions inherit it)."""

MERGED_BY_NAME = ("let", "tags")
"""Keys a later version merges with the inherited ones, name by name (it may give one let of its own)."""

EXCLUSIVE_KEYS = {
    "outcome": ("credit", "round", "minimum", "maximum", "explain"),
    "credit": ("outcome", "reason"),
}
"""A version that gives an outcome inherits none of the credit's rules, and one that gives a credit no outcome."""

_Inherited = TypeVar("_Inherited")


def inherited(value: _Inherited, copy: Path) -> _Inherited:
    """`value` (a model record, a tuple of them, an expression) as a later version inherits it: every expression
    in it marked as that version's copy, its text and position kept."""
    if isinstance(value, ExprText):
        return cast(_Inherited, replace(value, copy=copy))
    if isinstance(value, tuple):
        return cast(_Inherited, tuple(inherited(item, copy) for item in value))
    if isinstance(value, Struct):  # every model record (a Span, not one, holds no expression)
        # the field names as the class lists them (`msgspec.structs.fields` would resolve every annotation again)
        return cast(_Inherited, replace(value, **{name: inherited(getattr(value, name), copy)
                                                 for name in value.__struct_fields__}))
    return value


def inherit(previous: dict[str, Any], own: dict[str, Any], at: Path) -> dict[str, Any]:
    """A later version's keys: its own, and every other key of the version before it (lets and tags merged by
    name, the version's own replacing an inherited one in place)."""
    parts = {key: inherited(value, at) for key, value in previous.items()}
    for key, excluded in EXCLUSIVE_KEYS.items():
        if key in own:
            for dropped in excluded:
                parts.pop(dropped, None)
    for key, value in own.items():
        if key in MERGED_BY_NAME and key in parts:
            merged = dict(parts[key])
            merged.update(value)
            parts[key] = tuple(merged.items())
        else:
            parts[key] = value
    return parts


class _Reader:
    """Builds model records from validated data, collecting date diagnostics on the way."""

    def __init__(self, document: LoadedDocument) -> None:
        self.document = document
        self.diagnostics: list[Diagnostic] = []
        self.citations: list[Citation] = []
        self.rule_versions: dict[Path, dict[str, Any]] = {}
        """Per category, check, minimum or limit (its list's path and its id), what its latest version gives
        (written or inherited), by key."""

    def span(self, path: Path) -> Span:
        return self.document.span(path)

    def expr(self, data: dict[str, Any], key: str, at: Path) -> ExprText | None:
        if key not in data or data[key] is None:
            return None
        value = data[key]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return ExprText(text, (*at, key), self.span((*at, key)))

    def required_expr(self, data: dict[str, Any], key: str, at: Path) -> ExprText:
        found = self.expr(data, key, at)
        return found if found is not None else ExprText("true", (*at, key), self.span(at))

    def date(self, data: dict[str, Any], key: str, at: Path) -> date | None:
        text = data.get(key)
        if text is None:
            return None
        try:
            return parse_iso_date(str(text))
        except ValueError as exc:
            self.diagnostics.append(Diagnostic("date-invalid", str(exc), self.span((*at, key))))
            return None

    def effective(self, data: dict[str, Any], at: Path) -> Effective:
        start, end = self.date(data, "effective_from", at), self.date(data, "effective_to", at)
        if start and end and start > end:
            self.diagnostics.append(
                Diagnostic("version-range-inverted",
                           f"effective_from {start.isoformat()} is after effective_to {end.isoformat()}",
                           self.span((*at, "effective_to")))
            )
        return Effective(start, end)

    def sources(self, data: dict[str, Any], at: Path) -> tuple[Citation, ...]:
        raw = data.get("source")
        if raw is None:
            return ()
        items = raw if isinstance(raw, list) else [raw]
        paths = [(*at, "source", index) for index in range(len(items))] if isinstance(raw, list) else [(*at, "source")]
        citations = tuple(
            Citation(str(item.get("doc", "")), str(item.get("quote", "")), item.get("note"), path, self.span(path))
            for item, path in zip(items, paths, strict=True)
            if isinstance(item, dict)
        )
        self.citations.extend(citations)
        return citations

    def check(self, data: dict[str, Any], at: Path) -> Check:
        """A check as written, or — a later dated version of a top-level one (the same id) — with what it does not
        give inherited from the version before it."""
        own = self.rule_parts(data, at, {"title": str, "require": self.expr, "otherwise": str, "reason": self.expr,
                                         "applies_to": _listed, "except": _listed, "source": self.citations_of})
        # a category's own checks have no dated versions (a later version of the category replaces its list)
        parts = self.versioned("check", data, at, own, ("require", "reason", "source")) if at[0] == "checks" else own
        return Check(
            id=str(data["id"]),
            title=parts.get("title"),
            require=parts.get("require") or self.required_expr(data, "require", at),
            otherwise=parts.get("otherwise", "rejected"),
            reason=parts.get("reason") or self.required_expr(data, "reason", at),
            applies_to=parts.get("applies_to") or None,
            excluded=parts.get("except", ()),
            effective=self.effective(data, at),
            sources=parts.get("source", ()),
            path=at,
            span=self.document.key_span((*at, "id")),
        )

    def category(self, data: dict[str, Any], at: Path) -> Category:
        """A category as written, or — a later dated version of one — with what it does not give inherited from
        the version before it with the same id."""
        category_id = str(data["id"])
        parts = self.versioned("category", data, at, self.category_parts(data, at), FIRST_VERSION_KEYS)
        cap, cap_every, cap_sources = parts.get("cap", (None, None, ()))
        return Category(
            id=category_id,
            title=parts.get("title", category_id),
            types=parts.get("types", ()),
            when=parts.get("when"),
            outcome=parts.get("outcome"),
            reason=parts.get("reason"),
            checks=parts.get("checks", ()),
            lets=parts.get("let", ()),
            credit=parts.get("credit"),
            rounding=parts.get("round"),
            minimum=parts.get("minimum"),
            maximum=parts.get("maximum"),
            cap=cap,
            cap_every=cap_every,
            tags=parts.get("tags", ()),
            repeats=parts.get("repeats"),
            tiers=parts.get("tiers", ()),
            split=parts.get("split"),
            explain=parts.get("explain"),
            effective=self.effective(data, at),
            sources=parts.get("source", ()) + cap_sources,
            path=at,
            span=self.document.key_span((*at, "id")),
        )

    def category_parts(self, data: dict[str, Any], at: Path) -> dict[str, Any]:
        """What one version of a category gives, by its key in the spec (only the keys it writes)."""
        readers: dict[str, Callable[[], Any]] = {
            "title": lambda: str(data["title"]),
            "types": lambda: tuple(data["types"]),
            "when": lambda: self.expr(data, "when", at),
            "outcome": lambda: data.get("outcome"),
            "reason": lambda: self.expr(data, "reason", at),
            "checks": lambda: tuple(self.check(item, (*at, "checks", i))
                                    for i, item in enumerate(data.get("checks") or ())),
            "let": lambda: self.named_expressions(data, "let", at),
            "credit": lambda: self.expr(data, "credit", at),
            "round": lambda: self.rounding(data["round"], (*at, "round")),
            "minimum": lambda: self.bound(data, "minimum", at),
            "maximum": lambda: self.bound(data, "maximum", at),
            "tags": lambda: self.named_expressions(data, "tags", at),
            "repeats": lambda: self.repeats(data, at),
            "tiers": lambda: tuple(Tier(self.expr(item, "up_to", (*at, "tiers", i)),
                                        self.required_expr(item, "factor", (*at, "tiers", i)), (*at, "tiers", i))
                                   for i, item in enumerate(data.get("tiers") or ())),
            "split": lambda: self.split(data, at),
            "explain": lambda: self.expr(data, "explain", at),
            "source": lambda: self.sources(data, at),
            "cap": lambda: (self.cap(data, at), self.duration(data["cap"], "every", (*at, "cap")),
                            self.sources(data["cap"], (*at, "cap"))) if data.get("cap") else (None, None, ()),
        }  # in this order, so citations are collected in the order they are written (coverage lists them so)
        return {key: read() for key, read in readers.items() if data.get(key) is not None}

    def rounding(self, raw: dict[str, Any], at: Path) -> Rounding | None:
        if not isinstance(raw, dict) or not raw:
            return None
        return Rounding(self.required_expr(raw, "increment", at), self.required_expr(raw, "mode", at), at)

    def named_expressions(self, data: dict[str, Any], key: str, at: Path) -> tuple[tuple[str, ExprText], ...]:
        raw = data.get(key) or {}
        return tuple((str(name), ExprText(_text(value), (*at, key, str(name)), self.span((*at, key, name))))
                     for name, value in raw.items())

    def repeats(self, data: dict[str, Any], at: Path) -> Repeats | None:
        raw = data.get("repeats")
        if not isinstance(raw, dict):
            return None
        here = (*at, "repeats")
        self.sources(raw, here)
        within = raw.get("within", "cycle")
        return Repeats(self.required_expr(raw, "key", here),
                       self.duration(raw, "within", here) or Duration(0, "days", self.span(here))
                       if isinstance(within, dict) else str(within),
                       tuple(Decimal(str(share)) for share in raw.get("shares") or (1,)), here,
                       self.document.key_span(here))

    def split(self, data: dict[str, Any], at: Path) -> Split | None:
        raw = data.get("split")
        if not isinstance(raw, dict):
            return None
        here = (*at, "split")
        self.sources(raw, here)
        return Split(self.required_expr(raw, "over", here), self.required_expr(raw, "credits", here),
                     self.named_expressions(raw, "tags", here), here, self.document.key_span(here))

    def limit(self, data: dict[str, Any], at: Path) -> Limit:
        """A limit as written, or — a later dated version of a top-level one (the same id) — with what it does not
        give inherited from the version before it."""
        own = self.rule_parts(data, at, {"title": str, "select": self.expr, "at_most": self.expr,
                                         "window": self.window, "source": self.citations_of})
        # carry-over's own limits have no dated versions (and need no title)
        parts = self.versioned("limit", data, at, own, ("title", "at_most", "source")) if at[0] == "limits" else own
        limit_id = str(data.get("id", ""))
        return Limit(limit_id, parts.get("title", limit_id), parts.get("select"),
                     parts.get("at_most") or self.required_expr(data, "at_most", at), parts.get("window"),
                     self.effective(data, at), parts.get("source", ()), at, self.document.key_span((*at, "id")))

    def rule_parts(self, data: dict[str, Any], at: Path, readers: dict[str, Callable[..., Any]]) -> dict[str, Any]:
        """What one version of a minimum or a limit gives, by key (only the keys it writes): `str` reads text, any
        other reader is called with (data, key, at)."""
        return {key: str(data[key]) if reader is str else reader(data, key, at)
                for key, reader in readers.items() if data.get(key) is not None}

    def versioned(self, kind: str, data: dict[str, Any], at: Path, own: dict[str, Any],
                  first_keys: tuple[str, ...]) -> dict[str, Any]:
        """A version's keys: its own and, for a later version (the same id in the same list, in document order),
        every other key of the version before it — as categories inherit (`inherit`). The first must give
        `first_keys`."""
        rule_id = str(data.get("id", ""))
        key = (*at[:-1], rule_id)
        previous = self.rule_versions.get(key)
        if previous is None:
            parts = own
            for name in first_keys:
                if name not in own:
                    self.diagnostics.append(Diagnostic(
                        "schema-missing-key", f"missing required key '{name}'", self.document.key_span((*at, "id")),
                        hint=f"the first version of {kind} '{rule_id}' gives {', '.join(first_keys[:-1])} and "
                             f"{first_keys[-1]}; later versions with the same id inherit every key they do not give"))
        else:
            parts = inherit(previous, own, at)
        self.rule_versions[key] = parts
        return parts

    def tag(self, name: str, data: dict[str, Any]) -> Tag:
        at: Path = ("tags", name)
        self.sources(data, at)
        values = data.get("values")
        return Tag(name, str(data.get("description", name)), str(data.get("type", "text")),
                   tuple(str(v) for v in values) if values else None, self.expr(data, "default", at),
                   self.document.key_span(at))

    def cap(self, data: dict[str, Any], at: Path) -> ExprText | None:
        raw = data.get("cap")
        if not raw:
            return None
        key = "at_most" if "at_most" in raw else "per_cycle"
        found = self.expr(raw, key, (*at, "cap"))
        if found is None:
            self.diagnostics.append(Diagnostic("schema-missing-key", "a cap needs per_cycle or at_most (its amount)",
                                               self.document.key_span((*at, "cap"))))
        return found

    def duration(self, data: dict[str, Any], key: str, at: Path) -> Duration | None:
        raw = data.get(key)
        if not isinstance(raw, dict) or not raw:
            return None
        unit, amount = next(iter(raw.items()))
        return Duration(int(amount), str(unit), self.span((*at, key)))

    def window(self, data: dict[str, Any], key: str, at: Path) -> Window | None:
        raw = data.get(key)
        if not isinstance(raw, dict):
            return None
        here = (*at, key)
        if "start" in raw and "length" in raw:
            self.diagnostics.append(Diagnostic("window-conflict", "a window has a start or a length, not both",
                                               self.document.key_span((*here, "length")),
                                               hint="keep start for a fixed first day, length for a rolling window"))
        return Window(self.expr(raw, "start", here), self.expr(raw, "end", here), self.duration(raw, "length", here),
                      self.duration(raw, "every", here), here, self.document.key_span(here))

    def cycle(self, raw: dict[str, Any]) -> Cycle:
        at: Path = ("cycle",)
        first = raw.get("first")
        grace = raw.get("grace")
        if "length" not in raw and "end" not in raw:
            self.diagnostics.append(Diagnostic("schema-missing-key", "a cycle needs a length or an end",
                                               self.document.key_span(at),
                                               hint="length: {years: 2}, or end: an expression of cycle.start"))
        return Cycle(
            start=self.expr(raw, "start", at),
            length=self.duration(raw, "length", at),
            end=self.expr(raw, "end", at),
            first=FirstPeriod(self.expr(first, "start", (*at, "first")), self.duration(first, "length", (*at, "first")),
                              self.expr(first, "end", (*at, "first")),
                              self.duration(first, "look_back", (*at, "first")), (*at, "first"),
                              self.document.key_span((*at, "first"))) if isinstance(first, dict) else None,
            grace=Grace(self.duration(grace, "length", (*at, "grace")) or Duration(0, "days", self.span(at)),
                        str(grace.get("counts", "when-needed")), (*at, "grace"),
                        self.document.key_span((*at, "grace"))) if isinstance(grace, dict) else None,
            deadline=self.expr(raw, "deadline", at),
            sources=self.sources(raw, at) + (self.sources(first, (*at, "first")) if isinstance(first, dict) else ())
            + (self.sources(grace, (*at, "grace")) if isinstance(grace, dict) else ()),
            path=at,
            span=self.document.key_span(at),
        )

    def bound(self, data: dict[str, Any], key: str, at: Path) -> Bound | None:
        raw = data.get(key)
        if not raw:
            return None
        self.sources(raw, (*at, key))
        return Bound(self.required_expr(raw, "credits", (*at, key)), self.required_expr(raw, "reason", (*at, key)),
                     (*at, key))

    def attribute(self, name: str, data: dict[str, Any], at: Path) -> Attribute:
        return Attribute(
            name=name,
            type=str(data["type"]),
            description=str(data.get("description", name)),
            required=bool(data.get("required", False)),
            scale=data.get("scale"),
            one_of=tuple(data["one_of"]) if data.get("one_of") else None,
            minimum=_decimal(data.get("min")),
            maximum=_decimal(data.get("max")),
            formats=tuple(data["formats"]) if data.get("formats") else None,
            span=self.document.key_span(at),
        )

    def parameter(self, name: str, data: dict[str, Any], at: Path) -> Parameter:
        if "versions" in data:
            versions = tuple(
                ParameterVersion(item.get("value"), self.effective(item, (*at, "versions", i)),
                                 (*at, "versions", i), self.span((*at, "versions", i)))
                for i, item in enumerate(data["versions"])
            )
            for i, item in enumerate(data["versions"]):
                self.sources(item, (*at, "versions", i))
        else:
            versions = (ParameterVersion(data.get("value"), Effective(), (*at, "value"), self.span((*at, "value"))),)
        return Parameter(name, str(data.get("description", "")), versions, self.sources(data, at), at,
                         self.document.key_span(at))

    def minimum(self, data: dict[str, Any], at: Path) -> Minimum:
        """A minimum as written, or — a later dated version of one — with what it does not give inherited from the
        version before it with the same id."""
        own = self.rule_parts(data, at, {"title": str, "at_least": self.expr, "counts": self.counts,
                                         "select": self.expr, "window": self.window, "source": self.citations_of})
        parts = self.versioned("minimum", data, at, own, ("title", "at_least", "source"))
        minimum_id = str(data["id"])
        return Minimum(minimum_id, parts.get("title", minimum_id),
                       parts.get("at_least") or self.required_expr(data, "at_least", at), parts.get("counts", ()),
                       parts.get("select"), parts.get("window"), self.effective(data, at), parts.get("source", ()),
                       at, self.document.key_span((*at, "id")))

    def citations_of(self, data: dict[str, Any], _key: str, at: Path) -> tuple[Citation, ...]:
        return self.sources(data, at)

    def counts(self, data: dict[str, Any], key: str, at: Path) -> tuple[Counted, ...]:
        return tuple(
            Counted(str(item["category"]) if "category" in item else None, self.expr(item, "up_to", (*at, key, i)),
                    self.span((*at, key, i, "category" if "category" in item else "select")),
                    self.expr(item, "select", (*at, key, i)))
            for i, item in enumerate(data.get(key) or ())
        )


def _example(data: dict[str, Any], index: int, document: LoadedDocument) -> Example:
    at: Path = ("examples", index)
    if "activity" in data:
        written = data["activity"]
        record = {**written, "id": "A1"} if isinstance(written, dict) and "id" not in written else written
        records: tuple[ExampleRecord, ...] = (ExampleRecord((*at, "activity"), record),)
    else:
        records = tuple(ExampleRecord((*at, "activities", i), item)
                        for i, item in enumerate(data.get("activities") or ()))
    expect = data.get("expect")
    several = isinstance(expect, list)
    results = expect if isinstance(expect, list) else [expect]
    expectations = tuple(_expectation(result, (*at, "expect", number) if several else (*at, "expect"))
                         for number, result in enumerate(results) if isinstance(result, dict))
    credentials = data.get("credentials")
    return Example(
        name=str(data["name"]), index=index, path=at, span=document.span(at), records=records,
        single="activity" in data, shaped="activity" in data or "activities" in data,
        certified_on=None if data.get("certified_on") is None else str(data["certified_on"]),
        credential=dict(data.get("credential") or {}),
        credentials=tuple(dict(entry) for entry in credentials) if isinstance(credentials, list) else None,
        as_of=None if data.get("as_of") is None else str(data["as_of"]),
        expectations=expectations,
        period=None if data.get("period") is None else str(data["period"]),
    )


_TOTAL_EXPECTATIONS = ("required", "earned", "carried_in", "remaining", "met", "met_by", "deadline", "fee",
                       "audit_selected")


def _expectation(data: dict[str, Any], path: Path) -> Expectation:
    activities = data.get("activities") or {}
    return Expectation(
        path=path,
        credential=data.get("credential"),
        activity={key: data[key] for key in ACTIVITY_EXPECTATIONS if key in data},
        activities={str(key): dict(value) for key, value in activities.items() if isinstance(value, dict)},
        cycle=dict(data.get("cycle") or {}),
        totals={key: data[key] for key in _TOTAL_EXPECTATIONS if key in data},
        categories=dict(data.get("categories") or {}),
        minimums=dict(data.get("minimums") or {}),
        period=dict(data.get("period") or {}),
        requirement_window=dict(data.get("requirement_window") or {}),
        minimum_parts={str(key): list(value) for key, value in (data.get("minimum_parts") or {}).items()},
        limits={str(key): dict(value) for key, value in (data.get("limits") or {}).items() if isinstance(value, dict)},
        conditions={str(key): value for key, value in (data.get("conditions") or {}).items()},
    )


def _listed(data: dict[str, Any], key: str, _at: Path) -> tuple[str, ...]:
    return tuple(str(item) for item in data[key] or ())


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def build_model(document: LoadedDocument) -> tuple[SpecModel, list[Diagnostic]]:
    """The typed model of a schema-valid spec document, and date diagnostics."""
    data: dict[str, Any] = document.data
    read = _Reader(document)
    unit = data["unit"]
    read.sources(unit, ("unit",))
    sources = {
        key: SourceDoc(key, str(value.get("title", key)), value.get("file"), value.get("url"),
                       document.key_span(("sources", key)))
        for key, value in data.get("sources", {}).items()
    }
    cycle = read.cycle(data["cycle"]) if "cycle" in data else None
    requirement = None
    if "requirement" in data:
        raw = data["requirement"]
        at: Path = ("requirement",)
        carry = raw.get("carry_over")
        requirement = Requirement(
            credits=read.required_expr(raw, "credits", at),
            window=read.window(raw, "window", at),
            carry=CarryRules(read.expr(carry, "select", (*at, "carry_over")),
                             read.window(carry, "window", (*at, "carry_over")),
                             tuple(read.limit(item, (*at, "carry_over", "limits", i))
                                   for i, item in enumerate(carry.get("limits") or ())),
                             bool(carry.get("keep_tags", False)), (*at, "carry_over"),
                             read.expr(carry, "prefer", (*at, "carry_over"))) if carry else None,
            carry_over=read.expr(carry, "max", (*at, "carry_over")) if carry else None,
            minimums=tuple(read.minimum(item, (*at, "minimums", i)) for i, item in enumerate(raw.get("minimums", ()))),
            alternatives=tuple(
                Alternative(str(item["id"]), str(item["title"]),
                            read.required_expr(item, "met_when", (*at, "alternatives", i)),
                            read.sources(item, (*at, "alternatives", i)), (*at, "alternatives", i),
                            document.key_span((*at, "alternatives", i, "id")))
                for i, item in enumerate(raw.get("alternatives", ()))
            ),
            conditions=tuple(
                Condition(str(item["id"]), str(item["title"]),
                          read.required_expr(item, "met_when", (*at, "conditions", i)),
                          read.window(item, "window", (*at, "conditions", i)),
                          read.sources(item, (*at, "conditions", i)), (*at, "conditions", i),
                          document.key_span((*at, "conditions", i, "id")))
                for i, item in enumerate(raw.get("conditions", ()))
            ),
            sources=read.sources(raw, at) + (read.sources(carry, (*at, "carry_over")) if carry else ()),
            path=at,
        )
    fee = None
    if "fee" in data:
        raw = data["fee"]
        read.sources(raw, ("fee",))
        fee = Fee(Decimal(raw["amount"]), str(raw["currency"]), str(raw["per"]))
    audit = data.get("audit")
    if audit:
        read.sources(audit, ("audit",))
    dates = data.get("dates") or {}
    if dates:
        read.sources(dates, ("dates",))
    model = SpecModel(
        document=document,
        id=str(data["id"]),
        title=str(data["title"]),
        body=data.get("body"),
        credential=data.get("credential"),
        unit_name=str(unit["name"]),
        places=int(unit["places"]),
        contact_hours=_decimal(unit.get("contact_hours")),
        date_formats=tuple(dates.get("formats", ("YYYY-MM-DD",))),
        sources=sources,
        cycle=cycle,
        requirement=requirement,
        fee=fee,
        audit_rate=Decimal(audit["rate"]) if audit else None,
        parameters={name: read.parameter(name, value, ("parameters", name))
                    for name, value in (data.get("parameters") or {}).items()},
        scales={name: Scale(name, tuple(value["values"]), document.key_span(("scales", name)))
                for name, value in (data.get("scales") or {}).items()},
        tables={name: Table(name, str(value.get("description", "")), str(value.get("key", "text")),
                            str(value.get("value", "number")),
                            tuple((str(column), str(kind)) for column, kind in value["columns"].items())
                            if isinstance(value.get("columns"), dict) else None, value.get("rows"), value.get("file"),
                            read.sources(value, ("tables", name)), ("tables", name),
                            document.key_span(("tables", name)))
                for name, value in (data.get("tables") or {}).items()},
        attributes={name: read.attribute(name, value, ("attributes", name))
                    for name, value in (data.get("attributes") or {}).items()},
        credential_attributes={name: read.attribute(name, value, ("credential_attributes", name))
                               for name, value in (data.get("credential_attributes") or {}).items()},
        activity_types={str(key): str(value) for key, value in data["activity_types"].items()},
        tags={str(name): read.tag(str(name), value) for name, value in (data.get("tags") or {}).items()},
        limits=tuple(read.limit(item, ("limits", i)) for i, item in enumerate(data.get("limits") or ())),
        lets=tuple((name, ExprText(_text(value), ("let", name), document.span(("let", name))))
                   for name, value in (data.get("let") or {}).items()),
        cycle_lets=tuple((name, ExprText(_text(value), ("cycle_let", name), document.span(("cycle_let", name))))
                         for name, value in (data.get("cycle_let") or {}).items()),
        checks=tuple(read.check(item, ("checks", i)) for i, item in enumerate(data.get("checks") or ())),
        categories=tuple(read.category(item, ("categories", i)) for i, item in enumerate(data["categories"])),
        examples=tuple(_example(item, i, document) for i, item in enumerate(data.get("examples") or ())),
    )
    model.citations = read.citations
    return model, read.diagnostics
