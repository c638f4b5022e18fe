"""Compiler stages: group dated versions of rules, and resolve references between parts of a spec.

Input: the model. Output: `duplicate-id`, `version-overlap`, `version-gap`, `version-not-always-in-force`,
`version-mismatch`, `check-scope`, `unknown-category`, `unknown-activity-type` and `unknown-source` diagnostics.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ceruleng.compiler.state import CompileState
from ceruleng.errors import did_you_mean
from ceruleng.model import Category, Duration, Effective
from ceruleng.source import Span


def check_versions(state: CompileState, what: str, versions: list[tuple[Effective, Span]]) -> None:
    """Versions of one rule must not overlap and must leave no gap between the first and the last."""
    if len(versions) < 2:
        return
    ordered = sorted(versions, key=lambda v: (v[0].start is not None, v[0].start or v[0].end))
    for (first, _), (second, second_span) in pairwise(ordered):
        if first.end is None or (second.start is not None and second.start <= first.end):
            state.error("version-overlap", f"versions of {what} overlap: one in force {first.describe()}, "
                        f"the other {second.describe()}", second_span,
                        f"the earlier version should end before {second.start or 'the next begins'}")
        elif second.start is None or (second.start - first.end).days > 1:
            state.error("version-gap", f"versions of {what} leave a gap after {first.end.isoformat()}", second_span,
                        "an activity dated in the gap would have no rule; make the next version start the day after")


def check_always_in_force(state: CompileState, what: str, versions: list[tuple[Effective, Span]],
                          consequence: str) -> None:
    """A rule that every period (or activity) needs in force (a minimum, a dated parameter) whose versions leave
    days before the first or after the last uncovered: a warning, since only a period or activity on such a day
    fails, and a rule that ended should say so with a last version (`at_least: 0`) rather than by stopping."""
    if not versions or not any(effective.dated for effective, _ in versions):
        return
    first = min(versions, key=lambda v: (v[0].start is not None, v[0].start or v[0].end))
    last = max(versions, key=lambda v: (v[0].end is None, v[0].end or v[0].start))
    gaps = []
    if first[0].start is not None:
        gaps.append(f"before {first[0].start.isoformat()}")
    if last[0].end is not None:
        gaps.append(f"after {last[0].end.isoformat()}")
    if not gaps:
        return
    span = first[1] if first[0].start is not None else last[1]
    state.warn("version-not-always-in-force", f"no version of {what} is in force {' or '.join(gaps)}: {consequence}",
               span,
               "give the first version no effective_from and the last no effective_to (a rule that was dropped "
               "keeps a last version saying so, such as at_least: 0)")


def group_versions(state: CompileState) -> None:
    """Rules written more than once with the same id are dated versions of one rule."""
    model = state.model
    for kind, rules in (("check", model.checks), ("category", model.categories)):
        seen: dict[str, list[Any]] = {}
        for rule in rules:
            seen.setdefault(rule.id, []).append(rule)
        for rule_id, versions in seen.items():
            if len(versions) > 1 and not all(v.effective.dated for v in versions):
                state.error("duplicate-id", f"{kind} id '{rule_id}' is used twice", versions[1].span,
                            "give each rule its own id, or give each version effective_from/effective_to dates")
            elif len(versions) > 1:
                check_versions(state, f"{kind} '{rule_id}'", [(v.effective, v.span) for v in versions])
                first_types = versions[0].types if kind == "category" else ()  # none: already schema-missing-key
                if first_types and any(_routing(v) != _routing(versions[0]) for v in versions):
                    state.error("version-mismatch", f"versions of category '{rule_id}' must take the same "
                                "activity types with the same 'when'", versions[1].span)
                if kind == "category":
                    _same_period_rules(state, versions)
    for category in model.categories:
        for check_rule in category.checks:
            if check_rule.path[:len(category.path)] != category.path:
                continue  # inherited from an earlier version: said there
            if check_rule.applies_to or check_rule.excluded:
                key = "applies_to" if check_rule.applies_to else "except"
                state.error("check-scope", "applies_to and except belong on top-level checks only",
                            model.document.key_span((*check_rule.path, key)))
    state.category_ids = {category.id for category in model.categories}
    minimums = model.requirement.minimums if model.requirement else ()
    for minimum_id in dict.fromkeys(minimum.id for minimum in minimums):
        versions = [(m.effective, m.span) for m in minimums if m.id == minimum_id]
        check_versions(state, f"minimum '{minimum_id}'", versions)
        check_always_in_force(state, f"minimum '{minimum_id}'", versions,
                              "a credential whose period ends on such a day cannot be judged")


def resolve_references(state: CompileState) -> None:
    """Category ids, activity types, scales and source documents named anywhere must exist."""
    model = state.model
    document = model.document
    for i, check_rule in enumerate(model.checks):
        for key, ids in (("applies_to", check_rule.applies_to or ()), ("except", check_rule.excluded)):
            for j, category_id in enumerate(ids):
                _category_reference(state, category_id, document.span(("checks", i, key, j)))
    for minimum in model.requirement.minimums if model.requirement else ():
        for counted in minimum.counts:
            if counted.category is not None:
                _category_reference(state, counted.category, counted.span)
    for category in model.categories:
        if "types" not in document.data_at(category.path):
            continue  # a later version's inherited types were checked in the version that wrote them
        for j, type_name in enumerate(category.types):
            if type_name not in model.activity_types:
                state.error("unknown-activity-type", f"unknown activity type '{type_name}'",
                            document.span((*category.path, "types", j)),
                            did_you_mean(type_name, model.activity_types) or "declare it under activity_types")
    for citation in model.citations:
        if citation.doc not in model.sources:
            state.error("unknown-source", f"unknown source document '{citation.doc}'",
                        document.span((*citation.path, "doc")), did_you_mean(citation.doc, model.sources))


def _category_reference(state: CompileState, category_id: str, span: Span) -> None:
    if category_id not in state.category_ids:
        state.error("unknown-category", f"unknown category '{category_id}'", span,
                    did_you_mean(category_id, state.category_ids))




def _routing(category: Any) -> tuple[Any, ...]:
    return (category.types, category.when.text if category.when else None)


def _same_period_rules(state: CompileState, versions: list[Category]) -> None:
    """A category's cap, tiers and repeats count over a whole period, not per activity, so every version has the
    same ones (a later version inherits them); an amount that changes over time is a dated parameter."""
    first = versions[0]
    for version in versions[1:]:
        for what, rule in (("cap", _cap), ("tiers", _tiers), ("repeats", _repeats)):
            if rule(version) != rule(first):
                state.error("version-mismatch", f"versions of category '{first.id}' must have the same {what}: it "
                            "counts over the whole period, whatever version an activity falls in", version.span,
                            f"leave {what} out of the later versions; for an amount that changes, write it as a "
                            "parameter with dated versions")


def _cap(category: Category) -> tuple[Any, ...]:
    return (category.cap.text if category.cap else None, _length(category.cap_every))


def _tiers(category: Category) -> tuple[Any, ...]:
    return tuple((tier.up_to.text if tier.up_to else None, tier.factor.text) for tier in category.tiers)


def _repeats(category: Category) -> tuple[Any, ...]:
    repeats = category.repeats
    return (repeats.key.text, _length(repeats.within), repeats.shares) if repeats is not None else ()


def _length(length: Duration | str | None) -> Any:
    """A length as written, wherever it is written (two versions may each write {years: 1})."""
    return (length.amount, length.unit) if isinstance(length, Duration) else length
