"""Compiler stages: group dated versions of rules, and resolve references between parts of a spec.

Input: the model. Output: `duplicate-id`, `version-overlap`, `version-gap`, `version-mismatch`, `check-scope`,
`unknown-category`, `unknown-activity-type` and `unknown-source` diagnostics.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ceruleng.compiler.state import CompileState
from ceruleng.errors import did_you_mean
from ceruleng.model import Effective
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
                if kind == "category" and any(_routing(v) != _routing(versions[0]) for v in versions):
                    state.error("version-mismatch", f"versions of category '{rule_id}' must take the same "
                                "activity types with the same 'when'", versions[1].span)
    for category in model.categories:
        for check_rule in category.checks:
            if check_rule.applies_to or check_rule.excluded:
                key = "applies_to" if check_rule.applies_to else "except"
                state.error("check-scope", "applies_to and except belong on top-level checks only",
                            model.document.key_span((*check_rule.path, key)))
    state.category_ids = {category.id for category in model.categories}
    minimums = model.requirement.minimums if model.requirement else ()
    for minimum in minimums:
        versions = [(m.effective, m.span) for m in minimums if m.id == minimum.id]
        check_versions(state, f"minimum '{minimum.id}'", versions)


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
