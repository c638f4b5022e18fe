"""Checked rules → the source of one Python module per spec (the compile step's back end).

Input: plans the compiler assembled from checked expressions (a category's checks, lets, credit, rounding, bounds,
explanation; cycle-level expressions). Output: Python source with one function per category version, in two
variants — `fast` for scoring and `traced` for `--explain`, which records every step — plus the reason templates
and step descriptions those functions refer to by number.

A category function takes the typed activity `a` and the credential context `x` and returns
`(status, credits, reasons)`, where reasons are `(template number, captured values)` pairs rendered only when a
report needs the text. Lets are computed just before their first use, so a let that reads `minutes` never rejects
an activity whose rules do not need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceruleng.backend.expressions import ConstantPool, emit
from ceruleng.expr import ast
from ceruleng.expr.checker import Binding, Checked, present_when
from ceruleng.model import Effective
from ceruleng.source import Span
from ceruleng.templates import Template


@dataclass(frozen=True)
class Step:
    """One rule application a trace can report: what kind, a label, where the rule is written (its span and its
    document path), and the declared names its expression reads (for traceability of parameters and tables)."""

    kind: str
    label: str
    span: Span
    path: tuple[Any, ...] = ()
    names: frozenset[str] = frozenset()


@dataclass
class TemplatePlan:
    index: int
    placeholders: list[Checked]


@dataclass
class CheckVersion:
    effective: Effective
    require: Checked
    otherwise: str
    reason: TemplatePlan
    step: int


@dataclass
class CheckPlan:
    id: str
    versions: list[CheckVersion]
    not_in_force: int
    """Template number of the reason given when no version covers the activity's date."""


@dataclass
class LetPlan:
    binding: Binding
    checked: Checked
    step: int


@dataclass
class BoundPlan:
    credits: Checked
    reason: TemplatePlan
    step: int


@dataclass
class CategoryPlan:
    name: str
    outcome: str | None
    outcome_reason: TemplatePlan | None
    checks: list[CheckPlan]
    lets: dict[str, LetPlan]
    credit: Checked | None = None
    credit_step: int = 0
    rounding: tuple[Checked, str, int] | None = None
    minimum: BoundPlan | None = None
    maximum: BoundPlan | None = None
    explain: TemplatePlan | None = None


@dataclass
class ModuleWriter:
    """Accumulates the generated module's source, its constant pool, templates and steps."""

    pool: ConstantPool = field(default_factory=ConstantPool)
    templates: list[Template] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    template_functions: set[int] = field(default_factory=set)

    def add_template(self, template: Template) -> int:
        self.templates.append(template)
        return len(self.templates) - 1

    def add_step(self, kind: str, label: str, span: Span, path: tuple[Any, ...] = (),
                 checked: Checked | None = None) -> int:
        names = frozenset(b.name for b in checked.names()) if checked is not None else frozenset()
        self.steps.append(Step(kind, label, span, path, names))
        return len(self.steps) - 1

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"

    def template_function(self, index: int, captured: list[str], values: list[str]) -> None:
        """`tpl{index}(captured locals)` → the placeholder values, run only when the sentence is rendered."""
        if index in self.template_functions:
            return
        self.template_functions.add(index)
        self.lines.append(f"def tpl{index}({', '.join(captured)}):")
        self.lines.append(f"    return ({''.join(f'{value}, ' for value in values)})")
        self.lines.append("")

    def expression_function(self, name: str, params: str, checked: Checked, lets: dict[str, LetPlan]) -> None:
        """A function returning one expression's value (category `when`, cycle rules, alternatives)."""
        body = _Body(self, lets, traced=False, activity=params.startswith("a,"))
        value = body.value(checked)
        self.lines.append(f"def {name}({params}):")
        self.lines.extend(_preamble(body.attributes))
        self.lines.extend(body.lines)
        self.lines.append(f"    return {value}")
        self.lines.append("")

    def dispatcher(self, name: str, entries: list[tuple[int, Checked | None, str | None]],
                   lets: dict[str, LetPlan]) -> None:
        """One function per activity type: the categories' `when` tests inline, in spec order, then the first
        match's scoring function. Returns (category number, outcome); outcome None means "take the full path"
        (a dated category). A missing attribute in a `when` makes it false, as everywhere."""
        body = _Body(self, lets, traced=False, activity=False)
        for index, when, fast in entries:
            call = f"{fast}(a, x)" if fast else "None"
            if when is None:
                body.line(f"return {index}, {call}")
                break
            body.line("try:")
            body.indent += "    "
            body.emitted = set()  # a let assigned inside an earlier try may not have been assigned at all
            body.line(f"matched = {body.value(when)}")
            body.indent = body.indent[:-4]
            body.line("except _Missing:")
            body.line("    matched = False")
            body.line("if matched:")
            body.line(f"    return {index}, {call}")
        else:
            body.line("return None")
        self.lines.append(f"def {name}(a, x):")
        self.lines.extend(_preamble(body.attributes))
        self.lines.extend(body.lines)
        self.lines.append("")

    def category_function(self, plan: CategoryPlan, traced: bool) -> str:
        """Both variants share this generator; the traced one appends (step, value) to `t`."""
        name = f"{plan.name}_{'traced' if traced else 'fast'}"
        body = _Body(self, plan.lets, traced, activity=True)
        body.category(plan)
        self.lines.append(f"def {name}(a, x{', t' if traced else ''}):")
        self.lines.extend(_preamble(body.attributes))
        self.lines.extend(body.lines)
        self.lines.append("")
        return name


EMPTY_WHEN_ABSENT = frozenset({"segments"})
"""List attributes that read as an empty list when absent (an event without segments has none)."""


def _preamble(attributes: Iterable[str]) -> list[str]:
    return [f"    v_{name} = a.get({name!r}){' or ()' if name in EMPTY_WHEN_ABSENT else ''}"
            for name in sorted(attributes)]


class _Body:
    """The statements of one generated function, with the lets and proven-present names so far."""

    def __init__(self, writer: ModuleWriter, lets: dict[str, LetPlan], traced: bool, activity: bool) -> None:
        self.writer = writer
        self.lets = lets
        self.traced = traced
        self.lines: list[str] = []
        self.indent = "    "
        self.emitted: set[str] = set()
        self.present: frozenset[str] = frozenset()
        self.attributes: set[str] = set()
        """Activity attributes to load into locals (the date too, when a dated rule or parameter needs it)."""
        self.activity = activity

    def line(self, text: str) -> None:
        self.lines.append(self.indent + text)

    def trace(self, step: int, value: str) -> None:
        if self.traced:
            self.line(f"t.append(({step}, {value}))")

    def _use(self, checked: Checked, lenient: bool = False) -> str:
        for binding in checked.names():
            if binding.kind == "attribute":
                self.attributes.add(binding.name)
            elif binding.kind == "let":
                self.ensure_let(binding.ref)
        code = emit(checked, self.writer.pool, self.present, lenient=lenient)
        if "v_date" in code and self.activity:
            self.attributes.add("date")
        return code

    def ensure_let(self, ref: str) -> None:
        if ref in self.emitted or ref not in self.lets:
            return
        plan = self.lets[ref]
        self.emitted.add(ref)
        value = self._use(plan.checked)
        self.line(f"{ref} = {value}")
        self.trace(plan.step, ref)

    def value(self, checked: Checked) -> str:
        return self._use(checked)

    def template_args(self, plan: TemplatePlan) -> str:
        """Capture only the locals the template's placeholders read; they are computed when a report renders."""
        values = [self._use(item, lenient=isinstance(item.node, ast.Name)) for item in plan.placeholders]
        captured = sorted({name for value in values for name in _locals_in(value)})
        self.writer.template_function(plan.index, captured, values)
        return "(" + "".join(f"{name}, " for name in captured) + ")"

    def reasons(self, plan: TemplatePlan) -> str:
        return f"(({plan.index}, {self.template_args(plan)}),)"

    def category(self, plan: CategoryPlan) -> None:
        if plan.outcome is not None:
            assert plan.outcome_reason is not None
            for check in plan.checks:
                self.check(check)
            reasons = self.reasons(plan.outcome_reason)
            self.line(f"return ({plan.outcome!r}, _ZERO, {reasons})")
            return
        for check in plan.checks:
            self.check(check)
        assert plan.credit is not None
        self.line(f"c = {self.value(plan.credit)}")
        self.trace(plan.credit_step, "c")
        if plan.rounding is not None:
            increment, mode, step = plan.rounding
            self.line(f"c = _round_to(c, {self.value(increment)}, {mode!r})")
            self.trace(step, "c")
        if plan.minimum is not None:
            self.bound(plan.minimum, "<", ["return ('rejected', _ZERO, {reasons})"])
        extra = "()"
        if plan.maximum is not None:
            self.line("extra = ()")
            self.bound(plan.maximum, ">", ["extra = {reasons}", "c = limit"])
            extra = "extra"
        explain = self.reasons(plan.explain) if plan.explain else "()"
        self.line(f"return ('awarded', c, {explain} + {extra})")

    def bound(self, plan: BoundPlan, operator: str, actions: list[str]) -> None:
        """A per-activity bound: below a minimum rejects; above a maximum cuts (reason captured before the cut)."""
        self.line(f"limit = {self.value(plan.credits)}")
        for item in plan.reason.placeholders:  # lets the reason needs are computed before the branch
            self._use(item)
        self.line(f"if c {operator} limit:")
        self.indent += "    "
        self.trace(plan.step, "limit")
        reasons = self.reasons(plan.reason)
        for action in actions:
            self.line(action.format(reasons=reasons))
        self.indent = self.indent[:-4]

    def check(self, plan: CheckPlan) -> None:
        for version in plan.versions:  # lets every version needs are computed outside the date branches
            for checked in (version.require, *version.reason.placeholders):
                self._use(checked)
        if len(plan.versions) == 1 and not plan.versions[0].effective.dated:
            self.check_version(plan.versions[0])
            return
        keyword = "if"
        self.attributes.add("date")
        for version in plan.versions:
            self.line(f"{keyword} {self.in_force(version.effective)}:")
            keyword = "elif"
            self.indent += "    "
            saved = self.present
            self.check_version(version)
            self.present = saved
            self.indent = self.indent[:-4]
        self.line("else:")
        self.line(f"    return ('rejected', _ZERO, (({plan.not_in_force}, (v_date,)),))")

    def in_force(self, effective: Effective) -> str:
        tests = []
        if effective.start is not None:
            tests.append(f"{self.writer.pool.add('d', effective.start, lambda: effective.start)} <= v_date")
        if effective.end is not None:
            tests.append(f"v_date <= {self.writer.pool.add('d', effective.end, lambda: effective.end)}")
        return " and ".join(tests) or "True"

    def check_version(self, version: CheckVersion) -> None:
        condition = self.value(version.require)
        self.line(f"if not {condition}:")
        self.indent += "    "
        self.trace(version.step, "False")
        self.line(f"return ({version.otherwise!r}, _ZERO, {self.reasons(version.reason)})")
        self.indent = self.indent[:-4]
        self.trace(version.step, "True")
        self.present |= present_when(version.require.node, True)


_LOCAL_PREFIXES = ("v_", "g_", "l_")
_LOCAL_NAMES = frozenset({"a", "x", "c", "limit"})


def _locals_in(code: str) -> set[str]:
    """Local variables of a generated function that a piece of generated code reads."""
    import io
    import tokenize

    names = set()
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.NAME and (token.string.startswith(_LOCAL_PREFIXES) or token.string in _LOCAL_NAMES):
            names.add(token.string)
    return names


def version_index(versions: Sequence[Any], day: Any) -> int | None:
    """Position of the version whose `effective` covers `day`, or None."""
    for index, version in enumerate(versions):
        if version.effective.covers(day):
            return index
    return None
