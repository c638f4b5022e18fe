"""Back end: the function assembler — plans → the functions of one generated module, fast and traced.

Input: plans (`ceruleng.backend.plans`) and a `ModuleCode` (the module's writer, constant pool, parameter values).
Output: Python functions written into the module, every line attributed to the rule it translates:
- `score{n}(a, x)` per activity type: the categories' `when` tests in spec order, then the first match's category;
- `category{i}(a, x)` per category: the version in force on the activity's date, its checks, lets, credit,
  rounding, bounds and explanation, returning an `Outcome`;
- `cycle_*(x)` for cycle rules, `pv_*(day)` for dated parameters, `template{i}(...)` for reason values,
  `let{n}_*(a, x)` for lets needed only on some paths.
Each activity-level function has a `_traced` twin, written from the same plan by the same code, that also appends
`(step, value)` to `t` for every rule it applies — so explaining is a mode of the one scoring path.

Lets are computed just before the first statement that needs them, and only on the path that needs them: a let
read under a condition (`if has(extra) then tripled else 1`) is a call to its own function, made only when that
branch is taken; a missing attribute a let reads then never rejects an activity whose rules do not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ceruleng.backend import names
from ceruleng.backend.expressions import ConstantPool, Emitter, write_rounding
from ceruleng.backend.plans import (
    BoundPlan,
    CategoryPlan,
    CheckPlan,
    CheckVersion,
    LetPlan,
    TemplatePlan,
    TypePlan,
    VersionPlan,
)
from ceruleng.backend.writer import CodeWriter
from ceruleng.compiled import Origin, Step
from ceruleng.compiler.state import ParameterValues
from ceruleng.expr import ast
from ceruleng.expr.checker import SPLIT_DEPTH, Binding, Checked, always_read, present_when
from ceruleng.expr.types import NUMBER
from ceruleng.model import Effective
from ceruleng.runtime import Outcome
from ceruleng.source import Span
from ceruleng.templates import Template
from ceruleng.values import ZERO

EMPTY_WHEN_ABSENT = frozenset({"segments"})
"""List attributes that read as an empty list when absent (an event without segments has none)."""



@dataclass
class ModuleCode:
    """The generated module being written: its writer, constants, values the code reads, and shared helpers."""

    writer: CodeWriter
    pool: ConstantPool
    parameters: Mapping[str, ParameterValues]
    units: Mapping[str, str]
    """How `unit` and `hours_per_unit` are read (a literal or a pool constant)."""
    lets: dict[Binding, LetPlan]
    """Every let of the spec, by binding (for the functions of lets needed only on some paths)."""
    steps: list[Step]
    templates: list[Template]
    captures: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Per template, the locals its values function takes (written once, shared by fast and traced functions)."""
    lazy: dict[tuple[Binding, bool], str] = field(default_factory=dict)
    pending: list[tuple[Binding, bool]] = field(default_factory=list)
    tag_names: tuple[str, ...] = ()
    """The spec's declared tags, in order: every outcome that gives tags gives them all (`_ledger_fields`)."""

    def origin(self, step: int, category: int | None = None) -> Origin:
        found = self.steps[step]
        label = found.label if found.kind == found.label else f"{found.kind} {found.label}"
        return Origin(found.span, label, step, category)

    def function(self, header: str, body: Body, origin: Origin | None = None) -> None:
        """Write `def header:` (attributed to `origin`), the preamble loading the attributes the body reads, then
        the body."""
        writer = self.writer
        with writer.origin(origin), writer.block(f"def {header}:"), writer.origin(None):
            for name in sorted(body.attributes):
                empty = " or ()" if name in EMPTY_WHEN_ABSENT else ""
                writer.line(f"{names.attribute(name)} = {names.ACTIVITY}.get({name!r}){empty}")
            writer.splice(body.out)
        writer.blank()

    def lazy_let(self, binding: Binding, traced: bool) -> str:
        """The name of the function computing `binding` where it is needed only on some paths; the function itself
        is written by `write_pending` (a worklist, so lets reading lets never recurse here)."""
        key = (binding, traced)
        found = self.lazy.get(key)
        if found is None:
            found = self.lazy[key] = names.lazy_let(binding, len(self.lazy), traced)
            self.pending.append(key)
        return found

    def write_pending(self) -> None:
        """Write the functions of every let `lazy_let` named (writing one may name more)."""
        while self.pending:
            binding, traced = self.pending.pop(0)
            plan = self.lets[binding]
            body = Body(self, self.lets, traced)
            with body.out.origin(self.origin(plan.step)):
                value = body.expression(plan.checked)
                body.out.line(f"r = {value}")
                body.trace(plan.step, "r")
                body.out.line("return r")
            params = f"{names.ACTIVITY}, {names.CONTEXT}{', ' + names.TRACE if traced else ''}"
            self.function(f"{self.lazy[(binding, traced)]}({params})", body)

    def template_values(self, plan: TemplatePlan, body: Body) -> str:
        """Capture only the locals the template's placeholders read; their values are computed when a report
        renders the sentence. Returns the source of the captured tuple."""
        values = []
        with body.capturing() as captured:
            for item in plan.placeholders:
                values.append(body.expression(item, lenient=isinstance(item.node, ast.Name)))
        arguments = tuple(sorted(captured))
        known = self.captures.get(plan.index)
        if known is None:
            self.captures[plan.index] = arguments
            with self.writer.origin(None):
                with self.writer.block(f"def {names.template_values(plan.index)}({', '.join(arguments)}):"):
                    self.writer.line(f"return ({''.join(f'{value}, ' for value in values)})")
                self.writer.blank()
        else:
            assert known == arguments, "fast and traced functions capture the same locals"
        return "(" + "".join(f"{name}, " for name in arguments) + ")"


class Body:
    """The statements of one generated function: the attributes it loads, the lets computed so far on this path,
    and the names proven present (after `require: has(x)`)."""

    def __init__(self, module: ModuleCode, lets: Mapping[Binding, LetPlan], traced: bool,
                 category: int | None = None, activity: str = names.ACTIVITY) -> None:
        self.module = module
        self.activity = activity
        """How the activity is passed to a let's function: `a`, or `None` in a cycle rule (whose lets, the period's
        values, read no activity)."""
        self.out = module.writer.fragment()
        self.lets = lets
        self.traced = traced
        self.category = category
        self.attributes: set[str] = set()
        self.computed: set[Binding] = set()
        self.present: frozenset[str] = frozenset()
        self._captured: set[str] | None = None

    # ---- reading names ---------------------------------------------------------------------------------------

    def _local(self, name: str) -> str:
        if self._captured is not None:
            self._captured.add(name)
        return name

    def reads(self, binding: Binding) -> str:
        """How this function reads `binding` (loading it, or computing its let, as needed)."""
        kind = binding.kind
        if kind == "attribute":
            self.attributes.add(binding.name)
            return self._local(names.attribute(binding.name))
        if kind == "let":
            if binding in self.computed:
                return self._local(names.let(binding))
            rendering = self._captured is not None
            traced = self.traced and not rendering
            function = self.module.lazy_let(binding, traced)
            self._local(names.ACTIVITY)
            self._local(names.CONTEXT)
            return f"{function}({self.activity}, {names.CONTEXT}{', ' + self._local(names.TRACE) if traced else ''})"
        if kind == "parameter":
            values = self.module.parameters[binding.name]
            if values.constant:
                return names.parameter_constant(binding.name)
            if binding.owner == "activity":
                self.attributes.add("date")
                self._local(names.attribute("date"))
            else:
                self._local(names.CONTEXT)
            return f"{names.parameter_lookup(binding.name)}({names.judged_day(binding)})"
        if kind == "unit":
            return self.module.units[binding.name]
        if kind in ("credential", "cycle"):
            self._local(names.CONTEXT)
        elif kind in ("credits", "activities"):
            self._local(names.read(binding))
        return names.read(binding)

    @contextmanager
    def capturing(self) -> Iterator[set[str]]:
        """Collect the locals read while emitting a reason's placeholders."""
        previous = self._captured
        self._captured = set()
        try:
            yield self._captured
        finally:
            self._captured = previous

    # ---- statements ------------------------------------------------------------------------------------------

    def expression(self, checked: Checked, lenient: bool = False) -> str:
        """Python source for `checked`, after computing the lets it needs unconditionally."""
        self.prepare(checked)
        return Emitter(checked, self.module.pool, self.reads, lenient).emit(checked.node, self.present)

    def prepare(self, checked: Checked) -> None:
        """Assign, in dependency order, every let `checked` reads unconditionally (and what those read
        unconditionally). Iterative, so a long chain of lets cannot exhaust Python's recursion limit."""
        order: list[Binding] = []
        visited: set[Binding] = set()
        stack: list[tuple[Binding, bool]] = [(b, False) for b in reversed(_lets_in(always_read(checked)))]
        while stack:
            binding, expanded = stack.pop()
            if expanded:
                order.append(binding)
                continue
            if binding in visited or binding in self.computed or binding not in self.lets:
                continue
            visited.add(binding)
            stack.append((binding, True))
            stack.extend((dependency, False)
                         for dependency in reversed(_lets_in(always_read(self.lets[binding].checked))))
        captured, self._captured = self._captured, None  # a let assigned here is read as its local, not its inputs
        for binding in order:
            plan = self.lets[binding]
            with self.out.origin(self.module.origin(plan.step, self.category)):
                value = Emitter(plan.checked, self.module.pool, self.reads).emit(plan.checked.node, self.present)
                local = names.let(binding)
                self.out.line(f"{local} = {value}")
                self.trace(plan.step, local)
            self.computed.add(binding)
        self._captured = captured

    def trace(self, step: int, value: str) -> None:
        if self.traced:
            self.out.line(f"{names.TRACE}.append(({step}, {value}))")

    @contextmanager
    def branch(self, header: str) -> Iterator[None]:
        """A block taken on some paths only: what it computes or proves is forgotten after it."""
        computed, present = set(self.computed), self.present
        with self.out.block(header):
            yield
        self.computed, self.present = computed, present

    def reasons(self, plan: TemplatePlan) -> str:
        if not plan.placeholders:  # a fixed sentence: a constant, nothing to capture (rendered once, remembered)
            return f"(({plan.index}, ()),)"
        return f"(({plan.index}, {self.module.template_values(plan, self)}),)"

    def outcome(self, status: str, credits: str, reasons: str, fields: str = "") -> str:
        """An `Outcome`, made from its seven fields at once (every scored activity makes one)."""
        return f"{names.OUTCOME}(({self.category}, {status!r}, {credits}, {reasons}{fields or ', None, None, None'}))"


def _lets_in(bindings: list[Binding]) -> list[Binding]:
    return [binding for binding in bindings if binding.kind == "let"]


# ---- activity-level functions ----------------------------------------------------------------------------------


def write_scoring(module: ModuleCode, plan: TypePlan, global_lets: Mapping[Binding, LetPlan], traced: bool) -> str:
    """`score{n}`: route an activity of one type to the first category whose `when` holds, and score it there.

    A missing attribute in a `when` makes it false, as everywhere; any other failure while deciding is raised, and
    the scorer reports it against the category whose `when` failed (the line map says which)."""
    name = names.scoring_function(plan.number, traced)
    body = Body(module, global_lets, traced)
    call_args = f"{names.ACTIVITY}, {names.CONTEXT}{', ' + names.TRACE if traced else ''}"
    for route in plan.routes:
        call = f"return {names.category_function(route.category, traced)}({call_args})"
        if route.when is None:
            body.out.line(call)
            break
        assert route.step is not None
        body.category = route.category
        with body.out.origin(module.origin(route.step, route.category)):
            with body.branch("try:"):
                body.out.line(f"{names.MATCHED} = {body.expression(route.when)}")
            with body.out.block("except _Missing:"):
                body.out.line(f"{names.MATCHED} = False")
            body.trace(route.step, names.MATCHED)
            with body.out.block(f"if {names.MATCHED}:"):
                body.out.line(call)
    else:
        body.out.line(f"return {plan.unmatched}")
    module.function(f"{name}({call_args})", body, Origin(plan.span, f"activity type {plan.name}"))
    return name


def write_category(module: ModuleCode, plan: CategoryPlan, traced: bool) -> str:
    """`category{i}`: the version of the category in force on the activity's date, applied."""
    name = names.category_function(plan.index, traced)
    lets: dict[Binding, LetPlan] = {}
    for version in plan.versions:
        lets.update(version.lets)
    body = Body(module, lets, traced, plan.index)
    with body.out.origin(Origin(plan.span, f"category {plan.id}", None, plan.index)):
        if len(plan.versions) == 1 and not plan.versions[0].effective.dated:
            _version(body, plan.versions[0], plan)
        else:
            body.attributes.add("date")
            keyword = "if"
            for version in plan.versions:
                with body.branch(f"{keyword} {_in_force(module.pool, version.effective)}:"):
                    _version(body, version, plan)
                keyword = "elif"
            date = names.attribute("date")
            body.out.line(f"return {body.outcome('rejected', '_ZERO', f'(({plan.not_in_force}, ({date},)),)')}")
    params = f"{names.ACTIVITY}, {names.CONTEXT}{', ' + names.TRACE if traced else ''}"
    module.function(f"{name}({params})", body, Origin(plan.span, f"category {plan.id}", None, plan.index))
    return name


def _version(body: Body, version: VersionPlan, plan: CategoryPlan) -> None:
    out = body.out
    module = body.module
    for check in version.checks:
        _check(body, check)
    if version.outcome is not None:
        assert version.outcome_reason is not None
        if not version.outcome_reason.placeholders:  # the same for every activity: one outcome, made once
            reason = module.templates[version.outcome_reason.index].render(())
            key = ("outcome", plan.index, version.outcome, reason)
            constant = constant_outcome(module, key, plan.index, version.outcome, version.outcome_reason.index)
            out.line(f"return {constant}")
            return
        out.line(f"return {body.outcome(version.outcome, '_ZERO', body.reasons(version.outcome_reason))}")
        return
    assert version.credit is not None
    c = names.CREDITS
    with out.origin(module.origin(version.credit_step, plan.index)):
        out.line(f"{c} = {body.expression(version.credit)}")
        body.trace(version.credit_step, c)
    if version.rounding is not None:
        rounding = version.rounding
        with out.origin(module.origin(rounding.step, plan.index)):
            increment, mode = body.expression(rounding.increment), body.expression(rounding.mode)
            out.line(f"{c} = {write_rounding(c, increment, mode, rounding.increment.node, rounding.mode.node)}")
            body.trace(rounding.step, c)
    if version.minimum is not None:
        with _bound(body, version.minimum, "<", plan.index) as reasons:
            out.line(f"return {body.outcome('rejected', '_ZERO', reasons)}")
    extra = "()"
    if version.maximum is not None:
        out.line("extra = ()")
        with _bound(body, version.maximum, ">", plan.index) as reasons:
            out.line(f"extra = {reasons}")
            out.line(f"{c} = {names.BOUND}")
        extra = "extra"
    if not _never_negative(version):
        with body.branch(f"if {c} < _ZERO:"):
            out.line(f"return {body.outcome('rejected', '_ZERO', f'(({plan.negative}, ({c},)),)')}")
    if not _never_negative(version):
        with out.origin(module.origin(version.credit_step, plan.index)), \
                body.branch(f"if {c} >= _MAX_REPORTED:"):  # not negative here: only a credit too large to report
            out.line(f"{c} = _reportable({c})")
    explain = body.reasons(version.explain) if version.explain else "()"
    reasons = explain if extra == "()" else f"{explain} + {extra}"
    out.line(f"return {body.outcome('awarded', c, reasons, _ledger_fields(body, version, plan.id))}")


def _ledger_fields(body: Body, version: VersionPlan, category: str) -> str:
    """The outcome's tags, parts and key, computed once the credit is known (`, tags, parts, key` or nothing).

    The tags are written as the entry of credit reads them (`scoring.entries.Entry.fields`): every declared tag, in
    the order declared (None when nothing gives it), then the entry's own fields, last so that they win. The usual
    entry takes this mapping as it is: no mapping is built again per activity."""
    declared = body.module.tag_names
    if not declared and version.split is None and version.key is None:
        return ""
    given = dict(version.tags)
    a = names.ACTIVITY
    tags = "{" + "".join(f"{name!r}: {body.expression(given[name]) if name in given else 'None'}, "
                         for name in declared) + (f"'category': {category!r}, 'type': {a}['type'], "
                                                  f"'date': {a}['date'], 'credits': {names.CREDITS}, "
                                                  "'carried': False}")
    parts = "None"
    split = version.split
    if split is not None:
        with body.out.origin(Origin(split.span, "split.credits", None, body.category)):
            variable = names.element(SPLIT_DEPTH)
            over = body.expression(split.over)
            credits = body.expression(split.credits)
            overrides = ", ".join(f"{name!r}: {body.expression(checked)}" for name, checked in split.tags)
            body.out.line(f"tg = {tags}")
            body.out.line(f"pt = tuple((_reportable({credits}), {{**tg, {overrides}}}) for {variable} in {over})")
        tags, parts = "tg", "pt"
    key = body.expression(version.key) if version.key is not None else "None"
    return f", {tags}, {parts}, {key}"


def _never_negative(version: VersionPlan) -> bool:
    """A credit written as a number that is not negative, with nothing after it that could change it."""
    node = version.credit.node if version.credit is not None else None
    plain = version.rounding is None and version.maximum is None
    return plain and isinstance(node, ast.Number) and node.value >= 0


@contextmanager
def _bound(body: Body, plan: BoundPlan, operator: str, category: int) -> Iterator[str]:
    """A per-activity bound: below a minimum rejects; above a maximum cuts (its reason captured before the cut)."""
    out = body.out
    with out.origin(body.module.origin(plan.step, category)):
        out.line(f"{names.BOUND} = {body.expression(plan.credits)}")
        with body.branch(f"if {names.CREDITS} {operator} {names.BOUND}:"):
            body.trace(plan.step, names.BOUND)
            yield body.reasons(plan.reason)


def _check(body: Body, plan: CheckPlan) -> None:
    if len(plan.versions) == 1 and not plan.versions[0].effective.dated:
        _check_version(body, plan.versions[0])
        return
    body.attributes.add("date")
    keyword = "if"
    for version in plan.versions:
        with body.branch(f"{keyword} {_in_force(body.module.pool, version.effective)}:"):
            _check_version(body, version)
        keyword = "elif"
    with body.out.block("else:"):
        date = names.attribute("date")
        body.out.line(f"return {body.outcome('rejected', '_ZERO', f'(({plan.not_in_force}, ({date},)),)')}")


def _check_version(body: Body, version: CheckVersion) -> None:
    with body.out.origin(body.module.origin(version.step, body.category)):
        condition = body.expression(version.require)
        with body.branch(f"if not {condition}:"):
            body.trace(version.step, "False")
            body.out.line(f"return {body.outcome(version.otherwise, '_ZERO', body.reasons(version.reason))}")
        body.trace(version.step, "True")
    body.present |= present_when(version.require.node, True)


def _in_force(pool: ConstantPool, effective: Effective) -> str:
    date = names.attribute("date")
    tests = []
    if effective.start is not None:
        tests.append(f"{pool.day(effective.start)} <= {date}")
    if effective.end is not None:
        tests.append(f"{date} <= {pool.day(effective.end)}")
    return " and ".join(tests) or "True"


# ---- cycle-level functions and dated parameters ----------------------------------------------------------------


def write_cycle_function(module: ModuleCode, label: str, params: str, checked: Checked, span: Span,
                         what: str) -> str:
    """A cycle rule (requirement, deadline, a cap, a minimum, an alternative): one expression of `x` (and `acts`);
    `what` names it for people (`requirement.minimums[0] ethics.at_least`)."""
    name = names.cycle_function(label)
    body = Body(module, module.lets, traced=False, activity="None")  # the period's values (cycle_let) are lets
    with body.out.origin(Origin(span, what)):
        value = body.expression(checked)
        body.out.line(f"return {f'_reportable({value})' if checked.type == NUMBER else value}")
    module.function(f"{name}({params})", body)
    return name


def write_limit_selection(module: ModuleCode, tests: list[tuple[Origin, str | None, Checked | None]]) -> str:
    """`cycle_limits_under(e, x, live)`: the caps and limits of a period an entry falls under, as bits — bit k for
    the k-th (category caps, then the spec's limits, in order), asked only when bit k of `live` is set (in force
    for the period, and the entry in its window), so a `select` is asked of an entry only where it matters, once.
    Each test is a category cap's category (`str`) or a limit's `select` (None: every entry), its lines attributed
    to the rule it translates (a select that fails names its rule)."""
    name = names.cycle_function("limits_under")
    body = Body(module, {}, traced=False)
    out = body.out
    out.line("u = 0")
    for number, (origin, category, select) in enumerate(tests):
        bit = 1 << number
        with out.origin(origin):
            if category is not None:
                test = f" and {names.ENTRY}['category'] == {category!r}"
            elif select is not None:
                test = f" and ({body.expression(select)})"
            else:
                test = ""
            with out.block(f"if {names.LIVE} & {bit}{test}:"):
                out.line(f"u |= {bit}")
    out.line("return u")
    module.function(f"{name}({names.ENTRY}, {names.CONTEXT}, {names.LIVE})", body)
    return name


def write_parameter_lookup(module: ModuleCode, values: ParameterValues) -> str:
    """`pv_name(day)`: a dated parameter's value on a day; a day no version covers raises NotInForce."""
    name = names.parameter_lookup(values.name)
    writer = module.writer
    with writer.block(f"def {name}(day):"):
        for effective, value, span in values.versions:
            with writer.origin(Origin(span, f"version of parameter {values.name}")):
                constant = module.pool.add("v", (values.name, span.line, span.column), _always(value))
                tests = []
                if effective.start is not None:
                    tests.append(f"{module.pool.day(effective.start)} <= day")
                if effective.end is not None:
                    tests.append(f"day <= {module.pool.day(effective.end)}")
                with writer.block(f"if {' and '.join(tests) or 'True'}:"):
                    writer.line(f"return {constant}")
        writer.line(f"raise _NotInForce({'parameter ' + repr(values.name)!r}, day)")
    writer.blank()
    return name


def constant_outcome(module: ModuleCode, key: Any, category: int | None, status: str, template: int) -> str:
    """An outcome that never varies (no category takes the activity), as a pool constant; its reason is
    `template`'s sentence (which has no placeholders), so it keeps the template's code."""
    return module.pool.add("o", key, lambda: Outcome(category, status, ZERO, ((template, ()),)))


def _always(value: Any) -> Callable[[], Any]:
    return lambda: value

