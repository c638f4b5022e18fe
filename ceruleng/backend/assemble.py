"""Compiler stage: generate and compile the spec's Python module, and assemble the `CompiledSpec`.

Input: a spec without errors, its checked expressions, templates and lets. Output: the compiled spec — routes from
activity types to categories, each category's fast and traced scoring functions per dated version, cycle rules,
templates, trace steps, record coercers — and the generated source (kept for `--debug` and for tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ceruleng.backend.expressions import compile_module
from ceruleng.backend.functions import BoundPlan, CategoryPlan, CheckPlan, CheckVersion, LetPlan, TemplatePlan
from ceruleng.backend.records import build_coercer
from ceruleng.compiler.expressions import CREDITS
from ceruleng.compiler.state import (
    CompiledAlternative,
    CompiledCategory,
    CompiledMinimum,
    CompiledSpec,
    CompileState,
)
from ceruleng.expr import ast
from ceruleng.expr.checker import Checked
from ceruleng.expr.types import NUMBER
from ceruleng.model import Category, Check, ExprText
from ceruleng.templates import VALUE_FORMAT, Template, build, credits_formatter
from ceruleng.values import DateReader


class _Emitter:
    def __init__(self, state: CompileState, compiled: CompiledSpec) -> None:
        self.state = state
        self.model = state.model
        self.writer = state.writer
        self.compiled = compiled
        self.global_lets = self._let_plans(self.model.lets)

    def template(self, text: ExprText) -> TemplatePlan:
        parts, placeholders = self.state.templates[text.path]
        formatters = [
            credits_formatter(self.model.places)
            if isinstance(item.node, ast.Name) and item.node.name == "credits"
            else VALUE_FORMAT
            for item in placeholders
        ]
        return TemplatePlan(self.writer.add_template(build(parts, formatters)), placeholders)

    def checked(self, text: ExprText) -> Checked:
        return self.state.checked[text.path]

    def _let_plans(self, lets: tuple[tuple[str, ExprText], ...]) -> dict[str, LetPlan]:
        plans = {}
        for name, text in lets:
            binding = self.state.lets[text.path]
            checked = self.checked(text)
            plans[binding.ref] = LetPlan(binding, checked,
                                         self.writer.add_step("let", name, text.span, text.path, checked))
        return plans

    def check_plan(self, versions: list[Check]) -> CheckPlan:
        first = versions[0]
        not_in_force = self.writer.add_template(
            Template((f"No version of the rule '{first.id}' is in force on ", 0, "."), (VALUE_FORMAT,))
        )
        return CheckPlan(first.id, [
            CheckVersion(rule.effective, self.checked(rule.require), rule.otherwise, self.template(rule.reason),
                         self.writer.add_step("check", rule.title or rule.id, rule.require.span, rule.path,
                                              self.checked(rule.require)))
            for rule in versions
        ], not_in_force)

    def checks_for(self, category: Category) -> list[CheckPlan]:
        applicable = [rule for rule in self.model.checks
                      if (rule.applies_to is None or category.id in rule.applies_to)
                      and category.id not in rule.excluded]
        return [self.check_plan(group) for group in (*_grouped(applicable), *_grouped(list(category.checks)))]

    def category_plan(self, category: Category, name: str) -> CategoryPlan:
        lets = {**self.global_lets, **self._let_plans(category.lets)}
        plan = CategoryPlan(name, category.outcome,
                            self.template(category.reason) if category.reason else None,
                            self.checks_for(category), lets)
        if category.outcome is not None or category.credit is None:
            return plan
        plan.credit = self.checked(category.credit)
        plan.credit_step = self.writer.add_step("credit", "credit", category.credit.span, category.path,
                                                plan.credit)
        if category.rounding is not None:
            rounding = category.rounding
            step = self.writer.add_step("round", rounding.mode, rounding.increment.span, rounding.path,
                                        self.checked(rounding.increment))
            plan.rounding = (self.checked(rounding.increment), rounding.mode, step)
        for attribute, bound, label in (("minimum", category.minimum, "minimum"),
                                        ("maximum", category.maximum, "maximum")):
            if bound is not None:
                setattr(plan, attribute, BoundPlan(self.checked(bound.credits), self.template(bound.reason),
                                                   self.writer.add_step(label, label, bound.credits.span,
                                                                        bound.path, self.checked(bound.credits))))
        explain = category.explain
        plan.explain = self.template(explain) if explain else self._default_explain(category)
        return plan

    def _default_explain(self, category: Category) -> TemplatePlan:
        template = Template((f"{category.title}: ", 0, f" {self.model.unit_name}."),
                            (credits_formatter(self.model.places),))
        credits = Checked(ast.Name(category.span, "credits"), NUMBER)
        credits.bindings[id(credits.node)] = CREDITS
        return TemplatePlan(self.writer.add_template(template), [credits])

    def function(self, name: str, params: str, text: ExprText | None,
                 lets: dict[str, LetPlan] | None = None) -> str | None:
        if text is None:
            return None
        self.writer.expression_function(name, params, self.checked(text), lets or {})
        return name

    def categories(self) -> list[tuple[CompiledCategory, list[tuple[Any, str, str]], str | None, str | None]]:
        pending = []
        for index, versions in enumerate(_grouped(list(self.model.categories))):
            first = versions[0]
            functions = []
            for number, category in enumerate(versions):
                plan = self.category_plan(category, f"cat{index}_{number}")
                functions.append((category.effective, self.writer.category_function(plan, traced=False),
                                  self.writer.category_function(plan, traced=True)))
            when = self.function(f"when{index}", "a, x", first.when, self.global_lets)
            cap = self.function(f"cap{index}", "x", first.cap)
            compiled = CompiledCategory(first.id, first.title, index, first.types, None, [], None, first.span,
                                        first.cap.span if first.cap else None)
            pending.append((compiled, functions, when, cap))
        return pending

    def run(self) -> None:
        model = self.model
        categories = self.categories()
        cycle_functions: dict[str, str | None] = {}
        minimums = []
        alternatives = []
        if model.cycle is not None:
            cycle_functions["deadline"] = self.function("deadline", "x", model.cycle.deadline)
        requirement = model.requirement
        if requirement is not None:
            cycle_functions["requirement"] = self.function("requirement", "x", requirement.credits)
            cycle_functions["carry_max"] = self.function("carry_max", "x", requirement.carry_over)
            for index, group in enumerate(_grouped(list(requirement.minimums))):
                versions = []
                for number, minimum in enumerate(group):
                    at_least = self.function(f"min{index}_{number}", "x", minimum.at_least)
                    counts = [(counted.category,
                               self.function(f"min{index}_{number}_{k}", "x", counted.up_to))
                              for k, counted in enumerate(minimum.counts)]
                    versions.append((minimum.effective, at_least, counts))
                minimums.append((group[0], versions))
            for index, alternative in enumerate(requirement.alternatives):
                alternatives.append((alternative, self.function(f"alt{index}", "x, acts", alternative.met_when)))
        dispatchers = self.dispatchers(categories)
        source = self.writer.source()
        namespace = compile_module(source, self.writer.pool, f"<ceruleng spec {model.path}>")
        self._assemble(namespace, source, categories, cycle_functions, minimums, alternatives)
        self.compiled.dispatchers = {type_name: namespace[name] for type_name, name in dispatchers.items()}

    def dispatchers(self, categories: list[Any]) -> dict[str, str]:
        """A router per activity type, over the categories that take it, in spec order."""
        names: dict[str, str] = {}
        groups = _grouped(list(self.model.categories))
        for number, type_name in enumerate(self.model.activity_types):
            entries = []
            for (compiled, functions, _when, _cap), versions in zip(categories, groups, strict=True):
                if type_name not in compiled.types:
                    continue
                single = len(functions) == 1 and not functions[0][0].dated
                when = versions[0].when
                entries.append((compiled.index, self.checked(when) if when else None,
                                functions[0][1] if single else None))
            if entries:
                names[type_name] = f"route{number}"
                self.writer.dispatcher(f"route{number}", entries, self.global_lets)
        return names

    def _assemble(self, namespace: dict[str, Any], source: str, categories: list[Any],
                  cycle_functions: dict[str, str | None], minimums: list[Any], alternatives: list[Any]) -> None:
        compiled = self.compiled
        get: Callable[[str | None], Any] = lambda name: namespace[name] if name else None  # noqa: E731
        for category, functions, when, cap in categories:
            category.when = get(when)
            category.cap = get(cap)
            category.versions = [(effective, get(fast), get(traced)) for effective, fast, traced in functions]
            compiled.categories[category.id] = category
            compiled.by_number.append(category)
            for type_name in category.types:
                compiled.routes.setdefault(type_name, []).append(category)
        compiled.deadline = get(cycle_functions.get("deadline"))
        compiled.requirement = get(cycle_functions.get("requirement"))
        compiled.carry_max = get(cycle_functions.get("carry_max"))
        carry = self.model.requirement.carry_over if self.model.requirement else None
        node = self.checked(carry).node if carry is not None else None
        compiled.carry_none = isinstance(node, ast.Number) and node.value == 0
        compiled.minimums = [
            CompiledMinimum(first.id, first.title,
                            [(effective, get(at_least), [(category, get(up_to)) for category, up_to in counts])
                             for effective, at_least, counts in versions], first.span)
            for first, versions in minimums
        ]
        compiled.alternatives = [CompiledAlternative(a.id, a.title, get(name), a.span) for a, name in alternatives]
        for index, template in enumerate(self.writer.templates):
            if f"tpl{index}" in namespace:
                template.compute = namespace[f"tpl{index}"]
        compiled.templates = self.writer.templates
        compiled.steps = self.writer.steps
        compiled.python_source = source


def _grouped(rules: list[Any]) -> list[list[Any]]:
    """Rules sharing an id are versions of one rule; groups keep the order of first appearance."""
    groups: dict[str, list[Any]] = {}
    for rule in rules:
        groups.setdefault(rule.id, []).append(rule)
    return list(groups.values())


def build_record_checkers(state: CompileState) -> None:
    """The compiled checks of activity and credential records (needed by `check` for examples, and by scoring)."""
    compiled: CompiledSpec = state.constants["compiled"]
    model = state.model
    scales = {name: scale.values for name, scale in model.scales.items()}
    reader = DateReader(model.date_formats)
    compiled.coerce = build_coercer(state.attributes, reader, scales, "an activity", types=model.activity_types)
    compiled.coerce_credential = build_coercer(model.credential_attributes, reader, scales, "a credential")


def generate_code(state: CompileState) -> None:
    compiled: CompiledSpec = state.constants["compiled"]
    _Emitter(state, compiled).run()
