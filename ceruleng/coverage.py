"""Traceability: each source citation → the spec keys that encode it → the examples that exercise them.

Input: compiled specs (their citations, trace steps and embedded examples). Output: a Markdown report
(`ceruleng check --coverage`; committed for the bundled specs in docs/coverage.md) that lists, per spec, every
citation with the rule that carries it and the examples that exercise that rule, then the rules no example
exercises. A rule is exercised by an example when the example's scoring applied it: an activity was routed to the
category, a trace step of the rule ran, an exercised expression read the parameter or table, or the example's
expectations check what a cycle-level rule decides (requirement, minimums, carry-over, fee, audit...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceruleng.compiled import CompiledSpec
from ceruleng.model import Citation, Expectation, SpecModel
from ceruleng.testing import ExampleRun, run_examples

Path = tuple[Any, ...]

def rule_path(citation: Citation) -> Path:
    """The path of the rule a citation belongs to (the mapping holding its `source`)."""
    path = citation.path
    index = len(path) - 1 - path[::-1].index("source")
    return path[:index]


def describe(model: SpecModel, path: Path) -> str:
    """A rule's key as a reader finds it in the spec (see `SpecModel.describe`)."""
    return model.describe(path)


@dataclass
class _Exercised:
    """What one example exercised, as rule paths and names."""

    paths: set[Path]
    names: set[str] = field(default_factory=set)


_EXPECTATION_RULES: dict[str, Path] = {
    "earned": ("requirement",), "met": ("requirement",), "remaining": ("requirement",),
    "required": ("requirement",), "carried_in": ("requirement", "carry_over"), "met_by": ("requirement",),
    "fee": ("fee",), "audit_selected": ("audit",), "cycle": ("cycle",), "deadline": ("cycle",),
}  # fmt: skip


def _exercised(spec: CompiledSpec, run: ExampleRun) -> _Exercised:
    found = _Exercised({("dates",)})
    if run.result is not None:
        for credential in run.result.credentials:
            if credential.spec == spec.id:
                _from_result(spec, credential, found)
    for expected in run.example.expectations:
        _from_expectations(spec.model, expected, found)
    for path, names in spec.reads.items():  # what the rules that were applied read
        if any(path[: len(rule)] == rule for rule in found.paths if rule != ("requirement",)) or (
                path[:2] == ("requirement", "credits") and ("requirement",) in found.paths):
            found.names.update(names)
    return found


def _from_result(spec: CompiledSpec, credential: Any, found: _Exercised) -> None:
    """Rules the scoring applied: routed categories, trace steps (and the names they read), caps and limits that cut
    (a carry-over limit's in the credential's own trace), the cycle."""
    model = spec.model
    steps_by_span: dict[Any, list[Any]] = {}
    for step in spec.steps:
        steps_by_span.setdefault(step.span, []).append(step)
    _from_cycle(credential, found)
    ledger_rules = {category.repeats.span: category.repeats.path for category in model.categories
                    if category.repeats is not None}
    ledger_rules.update((limit.span, limit.path) for limit in model.limits)
    carry = model.requirement.carry if model.requirement is not None else None
    ledger_rules.update((limit.span, limit.path) for limit in (carry.limits if carry is not None else ()))
    for line in credential.trace or ():  # a carry-over limit that held back credit carried into the period
        if line.span in ledger_rules:
            found.paths.add(ledger_rules[line.span])
    for activity in credential.activities:
        routed = [c.path for c in model.categories if c.id == activity.category]
        found.paths.update(routed)
        if activity.credits:
            found.paths.add(("unit",))
        if activity.status == "capped":
            found.paths.update((*path, "cap") for path in routed)
        if activity.outcome is not None and activity.outcome.parts:
            found.paths.update((*path, "split") for path in routed)
        for line in activity.trace or ():
            for step in steps_by_span.get(line.span, ()):
                found.paths.add(step.path)
                found.names.update(step.names)
            if line.span in ledger_rules:  # a repeat's share or a limit's cut
                found.paths.add(ledger_rules[line.span])


def _from_cycle(credential: Any, found: _Exercised) -> None:
    """The cycle, its first period, and its grace when credit counted from after the period's end."""
    if credential.cycle is None:
        return
    found.paths.add(("cycle",))
    if credential.period is not None and credential.period.number == 1:
        found.paths.add(("cycle", "first"))
    end = credential.cycle[1]
    if any(a.counts and a.date is not None and a.date > end for a in credential.activities):
        found.paths.add(("cycle", "grace"))


def _from_expectations(model: SpecModel, expected: Expectation, found: _Exercised) -> None:
    """Cycle-level rules an example pins by expecting what they decide."""
    given = {*expected.totals, *(("cycle",) if expected.cycle or expected.period else ())}
    for key, path in _EXPECTATION_RULES.items():
        if key in given:
            found.paths.add(path)
    requirement = model.requirement
    if requirement is None:
        return
    wanted = set(expected.minimums)
    found.paths.update(("requirement", "minimums", i) for i, m in enumerate(requirement.minimums) if m.id in wanted)
    found.paths.update(("requirement", "conditions", i) for i, c in enumerate(requirement.conditions)
                       if c.id in expected.conditions)
    if "met_by" in expected.totals:
        found.paths.update(("requirement", "alternatives", i) for i in range(len(requirement.alternatives)))


def _covers(rule: Path, exercised: _Exercised, model: SpecModel) -> bool:
    if any(path[: len(rule)] == rule for path in exercised.paths if rule != ("requirement",) or path == rule):
        return True
    if len(rule) >= 2 and rule[0] in ("parameters", "tables") and rule[1] in exercised.names:
        return True
    if len(rule) >= 2 and rule[0] == "scales":
        scaled = {name for name, attribute in model.attributes.items() if attribute.scale == rule[1]}
        return bool(scaled & exercised.names)
    return len(rule) >= 2 and rule[0] == "attributes" and rule[1] in exercised.names


def spec_coverage(spec: CompiledSpec, runs: Sequence[ExampleRun]) -> str:
    model = spec.model
    exercised = [(run.example.name, _exercised(spec, run)) for run in runs if run.spec is spec]
    lines = [f"## {model.id} ({model.path})", "", "| source | quote | encoded by | pinned by examples |",
             "|---|---|---|---|"]
    unexercised: dict[Path, Citation] = {}
    for citation in model.citations:
        rule = rule_path(citation)
        pinned = [name for name, found in exercised if _covers(rule, found, model)]
        if not pinned:
            unexercised.setdefault(rule, citation)
        quote = citation.quote if len(citation.quote) <= 90 else citation.quote[:87] + "…"
        lines.append(f"| {citation.doc} | {_cell(quote)} | `{describe(model, rule)}` | {_pinned(pinned, exercised)} |")
    lines.append("")
    if unexercised:
        lines.append("Rules no example exercises:")
        lines.extend(f"- `{describe(model, rule)}` ({citation.span}): \"{_cell(citation.quote)}\""
                     for rule, citation in unexercised.items())
    else:
        lines.append("Every cited rule is exercised by at least one example.")
    lines.append("")
    return "\n".join(lines)


def _pinned(pinned: list[str], exercised: Sequence[tuple[str, _Exercised]]) -> str:
    """The examples' names; rules every example runs through (the unit, the cycle) say so instead of listing all."""
    if not pinned:
        return "**none**"
    if len(pinned) == len(exercised) > 3:
        return f"every example ({len(pinned)})"
    return _cell("; ".join(pinned))


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def coverage_report(specs: Iterable[CompiledSpec]) -> str:
    """The traceability report for `specs` (their examples may use any of them)."""
    selected = list(specs)
    by_id = {spec.id: spec for spec in selected}
    runs = run_examples(by_id, selected)
    sections = ["# Traceability: source sentences → spec rules → examples", "",
                "Generated by `ceruleng check --coverage`. A rule is exercised when an example's scoring applies it.",
                ""]
    sections.extend(spec_coverage(spec, runs) for spec in selected)
    return "\n".join(sections)
