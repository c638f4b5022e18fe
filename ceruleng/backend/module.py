"""Back end: a clean compile state → the spec's generated module → a `CompiledSpec` the scorer runs.

Input: the `CompileState` of a spec without errors (checked expressions and templates by document path, lets,
parameter and table values) and its record checkers. Output: the compiled spec — per activity type the generated
function that routes and scores it (fast and traced), categories by number, cycle rules as generated functions,
reason templates, trace steps — and the generated `Program` with its line map.

The work is in three passes: plan (what each function must do, with every template and trace step numbered), write
(the function assembler turns plans into lines, each attributed to its rule), and compile (one module per spec,
whose only globals are the runtime's helpers and this spec's constants).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ceruleng.backend import functions, names
from ceruleng.backend.expressions import ConstantPool
from ceruleng.backend.functions import ModuleCode
from ceruleng.backend.plans import (
    BoundPlan,
    CategoryPlan,
    CheckPlan,
    CheckVersion,
    LetPlan,
    RoundingPlan,
    RoutePlan,
    SplitPlan,
    TemplatePlan,
    TypePlan,
    VersionPlan,
)
from ceruleng.backend.writer import CodeWriter
from ceruleng.compiled import (
    ActivityScorer,
    CompiledAlternative,
    CompiledCarry,
    CompiledCategory,
    CompiledCondition,
    CompiledLayout,
    CompiledLimit,
    CompiledMinimum,
    CompiledRepeats,
    CompiledSpec,
    CompiledTier,
    CompiledWindow,
    CountedCategory,
    MinimumVersion,
    Origin,
    Step,
)
from ceruleng.compiler.cyclelets import LAYOUT_COPY
from ceruleng.compiler.expressions import CREDITS
from ceruleng.compiler.state import CompileState
from ceruleng.expr import ast
from ceruleng.expr.checker import Binding, Checked
from ceruleng.expr.types import NUMBER
from ceruleng.fields import Coercer
from ceruleng.model import Category, Check, ExprText, Limit, Requirement, Window
from ceruleng.reasoncodes import category_code, check_code
from ceruleng.runtime import RUNTIME
from ceruleng.source import Span
from ceruleng.templates import VALUE_FORMAT, Template, build, credits_formatter


def generate(state: CompileState, coerce: Coercer, coerce_credential: Coercer) -> CompiledSpec:
    """The compiled spec of a clean compile state."""
    return _Builder(state).build(coerce, coerce_credential)


def _grouped(rules: list[Any]) -> list[list[Any]]:
    """Rules sharing an id are versions of one rule; groups keep the order of first appearance."""
    groups: dict[str, list[Any]] = {}
    for rule in rules:
        groups.setdefault(rule.id, []).append(rule)
    return list(groups.values())


class _Builder:
    def __init__(self, state: CompileState) -> None:
        self.state = state
        self.model = state.model
        self.templates: list[Template] = []
        self.steps: list[Step] = []
        self.pool = ConstantPool()
        digest = hashlib.sha256(self.model.document.source.text.encode()).hexdigest()[:12]
        self.writer = CodeWriter(f"<ceruleng spec {self.model.path} {digest}>")
        self.lets: dict[Binding, LetPlan] = {}
        self.global_lets = self._let_plans(self.model.lets)
        self._cycle_let_plans()

    # ---- numbering ---------------------------------------------------------------------------------------------

    def add_template(self, template: Template) -> int:
        self.templates.append(template)
        return len(self.templates) - 1

    def add_step(self, kind: str, label: str, span: Span, path: tuple[Any, ...] = (),
                 checked: Checked | None = None) -> int:
        read = frozenset(b.name for b in checked.names()) if checked is not None else frozenset()
        self.steps.append(Step(kind, label, span, path, read))
        return len(self.steps) - 1

    def template(self, text: ExprText, code: str) -> TemplatePlan:
        """A spec's reason template, with the code of the sentences it writes (`reasoncodes`)."""
        checked = self.state.templates[text.key]
        formatters = [
            credits_formatter(self.model.places)
            if isinstance(item.node, ast.Name) and item.node.name == "credits"
            else VALUE_FORMAT
            for item in checked.placeholders
        ]
        return TemplatePlan(self.add_template(build(checked.parts, formatters, code)), checked.placeholders)

    def fixed(self, before: str, after: str, code: str) -> int:
        """A template the engine itself writes: text, one value, text (`code`: one of `reasoncodes.ENGINE`)."""
        return self.add_template(Template((before, 0, after), (VALUE_FORMAT,), code=code))

    def checked(self, text: ExprText) -> Checked:
        return self.state.checked[text.key]

    # ---- plans -------------------------------------------------------------------------------------------------

    def _let_plans(self, lets: tuple[tuple[str, ExprText], ...]) -> dict[Binding, LetPlan]:
        plans = {}
        for name, text in lets:
            binding = self.state.lets[text.key]
            checked = self.checked(text)
            plan = LetPlan(binding, checked, self.add_step("let", name, text.span, text.path, checked))
            plans[binding] = self.lets[binding] = plan
        return plans

    def _cycle_let_plans(self) -> None:
        """The period's values (`cycle_let`): as cycle rules read them, and as the rules laying periods out do."""
        for name, text in self.model.cycle_lets:
            for copy in (None, LAYOUT_COPY):
                binding = self.state.lets.get((text.path, copy))
                checked = self.state.checked.get((text.path, copy))
                if binding is not None and checked is not None:
                    step = self.add_step("let", name, text.span, text.path, checked)
                    self.lets[binding] = LetPlan(binding, checked, step)

    def check_plan(self, versions: list[Check], category: str | None = None) -> CheckPlan:
        """A check's versions (`category`: the category whose own check it is; None for a top-level one)."""
        first = versions[0]
        not_in_force = self.fixed(f"No version of the rule '{first.id}' is in force on ", ".", "not-in-force")
        code = check_code(first.id, category)
        return CheckPlan(first.id, tuple(
            CheckVersion(rule.effective, self.checked(rule.require), rule.otherwise, self.template(rule.reason, code),
                         self.add_step("check", rule.title or rule.id, rule.require.span, rule.path,
                                       self.checked(rule.require)))
            for rule in versions
        ), not_in_force)

    def checks_for(self, category: Category) -> list[CheckPlan]:
        applicable = [rule for rule in self.model.checks
                      if (rule.applies_to is None or category.id in rule.applies_to)
                      and category.id not in rule.excluded]
        return [*(self.check_plan(group) for group in _grouped(applicable)),
                *(self.check_plan(group, category.id) for group in _grouped(list(category.checks)))]

    def version_plan(self, category: Category) -> VersionPlan:
        lets = {**self.global_lets, **self._let_plans(category.lets)}
        plan = VersionPlan(category.effective, category.span, category.outcome,
                           self.template(category.reason, category_code(category.id, "reason"))
                           if category.reason else None,
                           self.checks_for(category), lets)
        if category.outcome is not None or category.credit is None:
            return plan
        plan.credit = self.checked(category.credit)
        plan.credit_step = self.add_step("credit", "credit", category.credit.span, category.path, plan.credit)
        if category.rounding is not None:
            rounding = category.rounding
            increment = self.checked(rounding.increment)
            mode = self.checked(rounding.mode)  # a word reads as itself (round down); an expression as the mode
            label = mode.node.value if isinstance(mode.node, ast.String) else f"mode {rounding.mode.text}"
            plan.rounding = RoundingPlan(increment, mode, self.add_step(
                "round", label, rounding.increment.span, rounding.path, increment))
        for attribute, bound in (("minimum", category.minimum), ("maximum", category.maximum)):
            if bound is not None:
                credits = self.checked(bound.credits)
                setattr(plan, attribute, BoundPlan(credits, self.template(bound.reason, category_code(category.id,
                                                                                                    attribute)),
                                                   self.add_step(
                    attribute, attribute, bound.credits.span, bound.path, credits)))
        plan.explain = (self.template(category.explain, category_code(category.id, "explain")) if category.explain
                        else self._default_explain(category))
        own = {name: self.checked(text) for name, text in category.tags}
        defaults = {name: self.checked(tag.default) for name, tag in self.model.tags.items()
                    if tag.default is not None and name not in own}
        plan.tags = [*own.items(), *defaults.items()]
        if category.split is not None:
            split = category.split
            plan.split = SplitPlan(self.checked(split.over), self.checked(split.credits),
                                   tuple((name, self.checked(text)) for name, text in split.tags),
                                   split.credits.span)
        if category.repeats is not None:
            plan.key = self.checked(category.repeats.key)
        return plan

    def _default_explain(self, category: Category) -> TemplatePlan:
        template = Template((f"{category.title}: ", 0, f" {self.model.unit_name}."),
                            (credits_formatter(self.model.places),), code=category_code(category.id, "explain"))
        credits = Checked(ast.Name(category.span, "credits"), NUMBER)
        credits.bindings[id(credits.node)] = CREDITS
        return TemplatePlan(self.add_template(template), (credits,))

    def category_plans(self) -> list[tuple[CategoryPlan, list[Category]]]:
        plans = []
        for index, versions in enumerate(_grouped(list(self.model.categories))):
            first = versions[0]
            plan = CategoryPlan(index, first.id, first.title, first.span,
                                [self.version_plan(category) for category in versions],
                                self.fixed(f"No version of the rules for {first.title} is in force on ", ".",
                                           "not-in-force"),
                                self.fixed("The credit formula gave a negative amount (", ").", "negative-credit"))
            plans.append((plan, versions))
        return plans

    def type_plans(self, categories: list[tuple[CategoryPlan, list[Category]]],
                   module: ModuleCode) -> list[TypePlan]:
        """Per activity type, the categories that take it, in spec order, each with its `when`."""
        plans = []
        for number, type_name in enumerate(self.model.activity_types):
            plan = TypePlan(type_name, number, self.model.document.key_span(("activity_types", type_name)))
            for category, versions in categories:
                first = versions[0]
                if type_name not in first.types:
                    continue
                when = self.checked(first.when) if first.when else None
                # no document path: testing a category's `when` on the way to another does not exercise it
                step = self.add_step("when", first.id, first.span, (), when) if when is not None else None
                plan.routes.append(RoutePlan(category.index, when, step))
            if plan.routes:
                unmatched = self.add_template(Template(
                    (f"No category of {self.model.title} accepts this {type_name} (none of their conditions "
                     "holds).",), (), code="unrouted"))
                plan.unmatched = functions.constant_outcome(module, ("unmatched", type_name), None, "rejected",
                                                            unmatched)
                plans.append(plan)
        return plans

    # ---- write, compile, assemble ------------------------------------------------------------------------------

    def build(self, coerce: Coercer, coerce_credential: Coercer) -> CompiledSpec:
        model = self.model
        units = {"unit": repr(model.unit_name)}
        if model.contact_hours is not None:
            units["hours_per_unit"] = self.pool.number(model.contact_hours)
        module = ModuleCode(self.writer, self.pool, self.state.parameters, units, self.lets, self.steps,
                            self.templates, tag_names=tuple(self.model.tags))
        self.values(module)
        categories = self.category_plans()
        types = self.type_plans(categories, module)
        for category_plan, _versions in categories:
            for traced in (False, True):
                functions.write_category(module, category_plan, traced)
        scorers = {type_plan.name: self.scorer_functions(module, type_plan) for type_plan in types}
        cycle = self.cycle_functions(module, categories)
        limits_under = self.limit_selection(module, categories)
        module.write_pending()
        program = self.writer.compile({**RUNTIME, **self.pool.values})
        namespace = program.namespace
        get: Callable[[str | None], Any] = lambda name: namespace[name] if name else None  # noqa: E731
        compiled = CompiledSpec(model=model, attributes=self.state.attributes, coerce=coerce,
                                coerce_credential=coerce_credential, program=program)
        compiled.scorers = {type_name: ActivityScorer(namespace[fast], namespace[traced])
                            for type_name, (fast, traced) in scorers.items()}
        for plan, versions in categories:
            first = versions[0]
            repeats = first.repeats
            category = CompiledCategory(
                first.id, first.title, plan.index, first.types, first.span, get(cycle.get(f"cap{plan.index}")),
                first.cap.span if first.cap else None, first.cap_every,
                CompiledRepeats(repeats.within, repeats.shares, repeats.span) if repeats else None,
                tuple(CompiledTier(get(cycle.get(f"tier{plan.index}_{n}_up_to")),
                                   get(cycle[f"tier{plan.index}_{n}_factor"])) for n in range(len(first.tiers))))
            compiled.by_number.append(category)
            compiled.categories[category.id] = category
        compiled.deadline = get(cycle.get("deadline"))
        compiled.layout = self.layout(get, cycle)
        compiled.requirement = get(cycle.get("requirement"))
        if model.requirement is not None and model.requirement.window is not None:
            compiled.requirement_window = _window(get, cycle, "requirement", model.requirement.window)
        compiled.carry_max = get(cycle.get("carry_max"))
        carry = model.requirement.carry_over if model.requirement else None
        node = self.checked(carry).node if carry is not None else None
        compiled.carry_none = isinstance(node, ast.Number) and node.value == 0
        compiled.minimums = self.minimums(get, cycle)
        compiled.limits = [self.limit(get, cycle, f"limit{index}", limit) for index, limit in enumerate(model.limits)]
        compiled.limits_under = get(limits_under)
        carry_rules = model.requirement.carry if model.requirement else None
        if carry_rules is not None:
            compiled.carry = CompiledCarry(
                get(cycle.get("carry_select")), _window(get, cycle, "carry", carry_rules.window),
                tuple(self.limit(get, cycle, f"carry_limit{index}", limit)
                      for index, limit in enumerate(carry_rules.limits)), carry_rules.keep_tags,
                get(cycle.get("carry_prefer")))
        if model.requirement is not None:
            compiled.alternatives = [CompiledAlternative(a.id, a.title, namespace[cycle[f"alternative{i}"]], a.span)
                                     for i, a in enumerate(model.requirement.alternatives)]
            compiled.conditions = [CompiledCondition(c.id, c.title, namespace[cycle[f"condition{i}"]],
                                                     _window(get, cycle, f"condition{i}", c.window), c.span)
                                   for i, c in enumerate(model.requirement.conditions)]
        for index, template in enumerate(self.templates):
            template.compute = namespace.get(names.template_values(index))
        compiled.templates = self.templates
        compiled.steps = self.steps
        reads: dict[Any, frozenset[str]] = {}
        for (path, _copy), checked in self.state.checked.items():  # a text later versions inherit: read once
            reads[path] = reads.get(path, frozenset()) | frozenset(binding.name for binding in checked.names())
        compiled.reads = reads
        return compiled

    def values(self, module: ModuleCode) -> None:
        """Parameters (constants, or a lookup by day for dated ones) and tables (with each column of a table with
        columns as a table of its own)."""
        for name, values in self.state.parameters.items():
            if values.constant:
                self.pool.put(names.parameter_constant(name), values.versions[0][1])
            else:
                functions.write_parameter_lookup(module, values)
        for name, rows in self.state.tables.items():
            self.pool.put(names.table(name), rows)
            for column in self.state.columns.get(name, ()):
                self.pool.put(names.table_column(name, column), {key: row[column] for key, row in rows.items()})

    def scorer_functions(self, module: ModuleCode, plan: TypePlan) -> tuple[str, str]:
        """The functions that score one activity type: its router, or, when the first category that takes the type
        takes all of it, that category's own functions (no routing to do)."""
        first = plan.routes[0]
        if first.when is None:
            return names.category_function(first.category, False), names.category_function(first.category, True)
        return (functions.write_scoring(module, plan, self.global_lets, traced=False),
                functions.write_scoring(module, plan, self.global_lets, traced=True))

    def cycle_functions(self, module: ModuleCode,
                        categories: list[tuple[CategoryPlan, list[Category]]]) -> dict[str, str]:
        """Every cycle rule as a function of the context `x` (conditions on an entry: of `e` and `x`), by label."""
        written: dict[str, str] = {}
        model = self.model

        def write(label: str, text: ExprText | None, params: str = names.CONTEXT) -> None:
            if text is not None:
                written[label] = functions.write_cycle_function(module, label, params, self.checked(text),
                                                                text.span, model.describe(text.path))

        for plan, versions in categories:
            write(f"cap{plan.index}", versions[0].cap)
            for number, tier in enumerate(versions[0].tiers):
                write(f"tier{plan.index}_{number}_up_to", tier.up_to)
                write(f"tier{plan.index}_{number}_factor", tier.factor)
        for index, limit in enumerate(model.limits):
            self.limit_functions(write, f"limit{index}", limit)
        cycle = model.cycle
        if cycle is not None:
            write("deadline", cycle.deadline)
            write("layout_start", cycle.start)
            write("layout_end", cycle.end)
            if cycle.first is not None:
                write("first_start", cycle.first.start)
                write("first_end", cycle.first.end)
        if model.requirement is not None:
            self.requirement_functions(write, model.requirement)
        return written

    def requirement_functions(self, write: Callable[..., None], requirement: Requirement) -> None:
        write("requirement", requirement.credits)
        _window_functions(write, "requirement", requirement.window)
        write("carry_max", requirement.carry_over)
        carry = requirement.carry
        if carry is not None:
            write("carry_select", carry.select, f"{names.ENTRY}, {names.CONTEXT}")
            write("carry_prefer", carry.prefer, f"{names.ENTRY}, {names.CONTEXT}")
            _window_functions(write, "carry", carry.window)
            for index, limit in enumerate(carry.limits):
                self.limit_functions(write, f"carry_limit{index}", limit)
        for index, group in enumerate(_grouped(list(requirement.minimums))):
            for number, minimum in enumerate(group):
                label = f"minimum{index}_{number}"
                write(label, minimum.at_least)
                for k, counted in enumerate(minimum.counts):
                    write(f"{label}_{k}", counted.up_to)
                    write(f"{label}_{k}_select", counted.select, f"{names.ENTRY}, {names.CONTEXT}")
                write(f"{label}_select", minimum.select, f"{names.ENTRY}, {names.CONTEXT}")
                _window_functions(write, label, minimum.window)
        for index, alternative in enumerate(requirement.alternatives):
            write(f"alternative{index}", alternative.met_when, f"{names.CONTEXT}, {names.ACTIVITIES}")
        for index, condition in enumerate(requirement.conditions):
            write(f"condition{index}", condition.met_when, f"{names.CONTEXT}, {names.ACTIVITIES}")
            _window_functions(write, f"condition{index}", condition.window)

    def limit_selection(self, module: ModuleCode, categories: list[tuple[CategoryPlan, list[Category]]]) -> str | None:
        """The one function that says which of a period's category caps and limits an entry falls under (see
        `functions.write_limit_selection`); None for a spec with neither."""
        model = self.model
        tests: list[tuple[Origin, str | None, Checked | None]] = []
        for _plan, versions in categories:
            cap = versions[0].cap
            if cap is not None:
                tests.append((Origin(cap.span, model.describe(cap.path)), versions[0].id, None))
        for limit in model.limits:
            select = limit.select
            tests.append((Origin(select.span, model.describe(select.path)), None, self.checked(select))
                         if select is not None else (Origin(limit.span, model.describe(limit.path)), None, None))
        return functions.write_limit_selection(module, tests) if tests else None

    @staticmethod
    def limit_functions(write: Callable[..., None], label: str, limit: Limit) -> None:
        """A limit's amount and window; a carry-over limit's `select` too (a period's limits are selected by
        `limit_selection`)."""
        if label.startswith("carry_"):
            write(f"{label}_select", limit.select, f"{names.ENTRY}, {names.CONTEXT}")
        write(f"{label}_at_most", limit.at_most)
        _window_functions(write, label, limit.window)

    @staticmethod
    def limit(get: Callable[[str | None], Any], cycle: dict[str, str], label: str, limit: Limit) -> CompiledLimit:
        return CompiledLimit(limit.id, limit.title, get(cycle.get(f"{label}_select")), get(cycle[f"{label}_at_most"]),
                             _window(get, cycle, label, limit.window), limit.effective, limit.span)

    def layout(self, get: Callable[[str | None], Any], cycle: dict[str, str]) -> CompiledLayout | None:
        model_cycle = self.model.cycle
        if model_cycle is None:
            return None
        first = model_cycle.first
        grace = model_cycle.grace
        return CompiledLayout(
            start=get(cycle.get("layout_start")), length=model_cycle.length, end=get(cycle.get("layout_end")),
            first_start=get(cycle.get("first_start")), first_length=first.length if first else None,
            first_end=get(cycle.get("first_end")), look_back=first.look_back if first else None,
            grace=grace.length if grace else None, grace_counts=grace.counts if grace else "when-needed",
            deadline=get(cycle.get("deadline")), span=model_cycle.span)

    def minimums(self, get: Callable[[str | None], Any], cycle: dict[str, str]) -> list[CompiledMinimum]:
        requirement = self.model.requirement
        if requirement is None:
            return []
        found = []
        for index, group in enumerate(_grouped(list(requirement.minimums))):
            versions = tuple(
                MinimumVersion(minimum.effective, get(cycle[f"minimum{index}_{number}"]), tuple(
                    CountedCategory(counted.category, get(cycle.get(f"minimum{index}_{number}_{k}")),
                                    get(cycle.get(f"minimum{index}_{number}_{k}_select")))
                    for k, counted in enumerate(minimum.counts)),
                    get(cycle.get(f"minimum{index}_{number}_select")),
                    _window(get, cycle, f"minimum{index}_{number}", minimum.window))
                for number, minimum in enumerate(group)
            )
            found.append(CompiledMinimum(group[0].id, group[0].title, versions, group[0].span))
        return found


def compile_expression(checked: Checked, filename: str = "<ceruleng expression>") -> Callable[..., Any]:
    """One checked expression of activity attributes as a function `f(activity, context)` — the same emitter and
    runtime as a spec's module, for the expression reference's examples and tests."""
    writer = CodeWriter(filename)
    pool = ConstantPool()
    module = ModuleCode(writer, pool, {}, {}, {}, [], [])
    body = functions.Body(module, {}, traced=False)
    body.out.line(f"return {body.expression(checked)}")
    module.function(f"expression({names.ACTIVITY}, {names.CONTEXT})", body)
    function: Callable[..., Any] = writer.compile({**RUNTIME, **pool.values}).namespace["expression"]
    return function


def _window_functions(write: Callable[..., None], label: str, window: Window | None) -> None:
    if window is not None:
        write(f"{label}_window_start", window.start)
        write(f"{label}_window_end", window.end)


def _window(get: Callable[[str | None], Any], cycle: dict[str, str], label: str,
            window: Window | None) -> CompiledWindow | None:
    if window is None:
        return None
    return CompiledWindow(get(cycle.get(f"{label}_window_start")), get(cycle.get(f"{label}_window_end")),
                          window.length, window.every, window.span)
