"""The one JSON writer of results: a member result → its JSON text, encoded in C.

Stage: report (kept beside the result records, which every layer above reads). Input: a `MemberResult` (or one
of its parts), what its activities' reasons show (`text`, `codes` or `none`: `eval --reasons`) and which
categories each credential lists (`used` or `all`: `eval --categories`). Output: its JSON, byte for byte what
`json.dumps(..., ensure_ascii=False)` writes of `schemas/result.schema.json`'s structure.

Reports write millions of these, so each result is copied once into output-ready values — credits as their
formatted text (`format_credits`, which remembers the few amounts a batch prints), reasons as rendered text (each
template remembers its sentences), dates as dates (msgspec writes them as ISO text in C) — held in msgspec
`Struct`s whose fields are declared in the output's key order; then one C encode writes the whole member compactly
and one C pass (`msgspec.json.format(..., indent=0)`) puts the space after each `,` and `:` that `json.dumps`
writes, never inside a string. Measured (bench/io_bench.py), that beats building the text field by field in
Python; orjson writes as fast but cannot keep the spaces, so it would need the same second pass and is not used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ceruleng.values import ZERO, format_credits, format_value

if TYPE_CHECKING:
    from ceruleng.scoring.results import ActivityResult, Behind, CredentialResult, MemberResult

REASONS = ("text", "codes", "none")
"""What an activity's `reasons` hold: its sentences (the default), their codes (`ceruleng.reasoncodes`, in the same
order: a batch that stores why without the words, and renders no sentence), or nothing (`[]`: a batch that stores
only totals and statuses)."""

CATEGORIES = ("used", "all")
"""Which categories a credential's `categories` lists: those it used (the default: each category that earned
something, has a cap, or took one of the credential's activities, whatever its status), or every category of the
spec (most earn nothing for a given member: a spec of twenty categories writes twenty entries per credential)."""


class _Trace(msgspec.Struct):
    rule: str
    at: str | None
    value: str


class _Activity(msgspec.Struct, omit_defaults=True):
    id: str | None
    index: int
    type: str | None
    date: Any
    category: str | None
    status: str
    credits: str
    reasons: list[str]
    malformed: bool
    trace: list[_Trace] | None = None
    """Written only with `--explain` (an empty trace is written as `[]`)."""


class _Days(msgspec.Struct):
    start: Any
    end: Any


class _Period(msgspec.Struct):
    number: int
    start: Any
    end: Any
    deadline: Any
    grace_end: Any
    status: str


class _Category(msgspec.Struct):
    title: str
    earned: str
    cap: str | None


class _Part(msgspec.Struct):
    start: Any
    end: Any
    at_least: str
    counted: str
    met: bool


class _LimitPart(msgspec.Struct):
    start: Any
    end: Any
    counted: str


class _Behind(msgspec.Struct):
    activity: str
    date: Any
    credits: str
    cut: str
    carried: bool


class _Minimum(msgspec.Struct):
    id: str
    title: str
    at_least: str
    counted: str
    met: bool
    window: _Days | None
    parts: list[_Part]
    entries: list[_Behind]


class _Limit(msgspec.Struct):
    id: str
    title: str
    at_most: str
    counted: str
    cut: str
    window: _Days | None
    parts: list[_LimitPart]
    entries: list[_Behind]


class _Fee(msgspec.Struct):
    amount: str
    currency: str
    per: str


class _Audit(msgspec.Struct):
    rate: str
    selected: bool


class _Condition(msgspec.Struct, omit_defaults=True):
    id: str
    title: str
    met: bool
    window: _Days | None = None


class _Credential(msgspec.Struct, omit_defaults=True):
    spec: str | None
    title: str
    member: str | None
    credential: str | None
    certified_on: Any
    unit: str
    cycle: _Days | None
    deadline: Any
    period: _Period | None
    requirement_window: _Days | None
    required: str | None
    earned: str
    carried_in: str
    remaining: str | None
    met: bool | None
    met_by: str | None
    categories: dict[str, _Category]
    minimums: list[_Minimum]
    limits: list[_Limit]
    fee: _Fee | None
    audit: _Audit | None
    error: str | None
    activities: list[_Activity]
    trace: list[_Trace] | None = None
    conditions: list[_Condition] = []


class _Input(msgspec.Struct):
    file: str | None
    line: int | None


class _Member(msgspec.Struct):
    member: str | None
    input: _Input
    error: str | None
    results: list[_Credential]


_ENCODER = msgspec.json.Encoder()


def _text(value: msgspec.Struct) -> str:
    """A value's JSON as `json.dumps(..., ensure_ascii=False)` writes it: encoded compactly, then spaced, in C.

    Text holding a lone surrogate (a Python caller may pass one; the readers of files mark it unencodable) cannot
    be UTF-8, so msgspec refuses it; the standard library's encoder writes it as `json.dumps` always did, and the
    surrogate is left for whoever encodes the text to decide about."""
    try:
        return msgspec.json.format(_ENCODER.encode(value), indent=0).decode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(msgspec.to_builtins(value), ensure_ascii=False)


def member_text(result: MemberResult, reasons: str = "text", categories: str = "used") -> str:
    """A member result as JSON text (one line): what `eval --format json` and `jsonl` write of it."""
    every = _every(categories)
    return _text(_member(result, _known(reasons), every))


def credential_text(result: CredentialResult, reasons: str = "text", categories: str = "used") -> str:
    every = _every(categories)
    return _text(_credential(result, _known(reasons), every))


def activity_text(result: ActivityResult, reasons: str = "text") -> str:
    return _text(_activity(result, _known(reasons)))


def check_options(reasons: str, categories: str) -> None:
    """A ValueError for a `reasons` or `categories` no writer knows, for callers that take them before any result
    exists (a Dask graph, a stream of lines): refused at once, not at the first member."""
    _known(reasons)
    _every(categories)


def _known(reasons: str) -> str:
    """`reasons`, when it is one of `REASONS` (a Python caller's typo must not silently drop every sentence)."""
    if reasons not in REASONS:
        raise ValueError(f"reasons is one of {', '.join(REASONS)}, not {reasons!r}")
    return reasons


def _every(categories: str) -> bool:
    """Whether every category is listed (`categories` is one of `CATEGORIES`; a typo is an error, not a guess)."""
    if categories not in CATEGORIES:
        raise ValueError(f"categories is one of {', '.join(CATEGORIES)}, not {categories!r}")
    return categories == "all"


def _member(result: MemberResult, reasons: str, every: bool) -> _Member:
    return _Member(result.member, _Input(result.file, result.line), result.error,
                   [_credential(credential, reasons, every) for credential in result.credentials])


def _traces(lines: Sequence[Any] | None) -> list[_Trace] | None:
    if lines is None:
        return None
    return [_Trace(line.rule, str(line.span) if line.span else None, line.value) for line in lines]


def _activity(activity: ActivityResult, reasons: str) -> _Activity:
    trace = activity.trace
    return _Activity(activity.id, activity.index, activity.type, activity.date, activity.category, activity.status,
                     format_credits(activity.credits, activity.places),
                     activity.reasons if reasons == "text" else activity.reason_codes if reasons == "codes" else [],
                     activity.malformed,
                     None if trace is None else _traces(trace))


def _days(days: tuple[Any, Any] | None) -> _Days | None:
    return None if days is None else _Days(days[0], days[1])


_UNEARNED_LIMIT = 64
"""Sets of caps remembered per spec for `_categories` (a spec has few: one per dated version of its limits)."""


def _used(result: CredentialResult, show: Callable[[Any], str],
          shown: Callable[[Any], str | None]) -> dict[str, _Category]:
    """The categories the credential used, in spec order: each that earned something, has a cap this period, or
    took one of its activities (awarded, capped, pending or rejected — an activity outside the period reported
    has no category). A category that is none of these earns nothing and bounds nothing: leaving it out loses
    nothing but its title, which the spec (and `--categories all`) gives."""
    sums = result.category_sums
    used = {activity.category for activity in result.activities}
    used.update(result.category_caps)
    return {category: total for category, total in _categories(result, show, shown).items()
            if category in used or sums.get(category)}


def _categories(result: CredentialResult, show: Callable[[Any], str],
                shown: Callable[[Any], str | None]) -> dict[str, _Category]:
    """Every category of the spec, in spec order, with what it earned and its cap. Most earned nothing, and those
    are the same for every member of a spec with the same caps: they are built once per spec (kept on its shared
    `CategoryTitles`), copied, and only the categories that earned something are built for each result."""
    titles, sums, caps = result.category_titles, result.category_sums, result.category_caps
    remembered: dict[Any, dict[str, _Category]] | None = getattr(titles, "unearned", None)
    if remembered is None:
        remembered = {}
        try:
            setattr(titles, "unearned", remembered)  # noqa: B010 - not an attribute of every dict
        except AttributeError:  # a caller's own plain dict: nothing shared to keep them on
            return {key: _Category(title, show(sums.get(key, ZERO)), shown(caps.get(key)))
                    for key, title in titles.items()}
    key = (result.places, tuple(caps.items()))
    unearned = remembered.get(key)
    if unearned is None:
        if len(remembered) >= _UNEARNED_LIMIT:
            remembered.clear()
        unearned = remembered[key] = {category: _Category(title, show(ZERO), shown(caps.get(category)))
                                      for category, title in titles.items()}
    categories = unearned.copy()
    for category, earned in sums.items():
        if category in categories and earned:
            categories[category] = _Category(titles[category], show(earned), shown(caps.get(category)))
    return categories


def _credential(result: CredentialResult, reasons: str, every: bool = False) -> _Credential:
    places = result.places

    def show(value: Any) -> str:
        return format_credits(value, places)

    def shown(value: Any) -> str | None:
        return None if value is None else format_credits(value, places)

    def behind(entries: list[Behind]) -> list[_Behind]:
        return [_Behind(entry.activity, entry.date, show(entry.credits), show(entry.cut), entry.carried)
                for entry in entries]

    categories = _categories(result, show, shown) if every else _used(result, show, shown)
    minimums = [_Minimum(m.id, m.title, show(m.at_least), show(m.counted), m.met, _days(m.window),
                         [_Part(part.start, part.end, show(part.at_least), show(part.counted), part.met)
                          for part in m.parts], behind(m.entries)) for m in result.minimums]
    limits = [_Limit(limit.id, limit.title, show(limit.at_most), show(limit.counted), show(limit.cut),
                     _days(limit.window), [_LimitPart(first, last, show(used)) for first, last, used in limit.parts],
                     behind(limit.entries)) for limit in result.limits]
    period = result.period
    fee = result.fee
    audit = result.audit
    return _Credential(
        result.spec, result.title, result.member, result.name, result.certified_on, result.unit,
        _days(result.cycle), result.deadline,
        None if period is None else _Period(period.number, period.start, period.end, period.deadline,
                                            period.grace_end, period.status),
        _days(result.window), shown(result.required), show(result.earned), show(result.carried_in),
        shown(result.remaining), result.met, result.met_by, categories, minimums, limits,
        None if fee is None else _Fee(format_credits(fee[0], 2), fee[1], fee[2]),
        None if audit is None else _Audit(format_value(audit[0]), audit[1]),
        result.error, [_activity(activity, reasons) for activity in result.activities], _traces(result.trace),
        [_Condition(c.id, c.title, c.met, _days(c.window)) for c in result.conditions])
