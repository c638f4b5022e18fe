"""Compiler stage: the period's named values (`cycle_let`) — each checked once, seen by the rules that can read it.

Input: the model's `cycle_let` block and the scopes from `declarations`. Output: each value's binding added to the
scopes of the cycle rules that see every name it reads, a refusal in the others, and the diagnostics: the value's
own (`expr-*`, checked where the most names are seen), `name-conflict`, and `let-scope` for a rule that reads a value
it cannot see (with what the value reads that the rule cannot, at its line and column).

Why levels: cycle rules see more names the later they are judged. The first period's start sees credential data;
a period's end also its start and number; the requirement, windows, deadlines and conditions on entries the whole
period; limits and caps also the requirement; minimums, carry-over and alternatives also the totals (`earned`,
`carried_in`, `entries`). A value is as late as the latest name it reads, so `exempt: cycle.number == 1` serves
every rule from a period's end on, while `half: requirement / 2` serves only limits and later rules, and
`requirement.credits: half` is refused: a rule cannot read the total it defines, so the rules stay free of cycles.

Why a separate block from `let`: an activity's lets are computed for each activity (a dated parameter read on the
activity's date; `type` and `date` are the activity's), a cycle value once per period (a dated parameter read on the
period's end; on certified_on for the rules that lay periods out, as those rules do). One name meaning both would
change value with whoever reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ceruleng.compiler.state import CompileState
from ceruleng.errors import ExpressionError
from ceruleng.expr import ast, parser
from ceruleng.expr.checker import Binding, Checked, Scope, check
from ceruleng.expr.types import ANY
from ceruleng.model import ExprText

REFUSED = "refused"
"""The kind of a binding that names a cycle value where it cannot be read; its description says why."""

LAYOUT_COPY = ("layout",)
"""The key (`ExprText.key`'s second part) of a value as the rules that lay periods out read it."""


@dataclass
class _Level:
    name: str
    scope: Scope
    rules: str
    """Which rules judge at this level, for messages."""


TOTALS = ("requirement", "earned", "carried_in", "entries")
"""The period's totals: what the rules that define them (the requirement, limits, caps) cannot read."""

HINTS = {
    "total": "requirement, earned, carried_in and entries are the period's totals: the requirement defines them and "
             "limits and caps decide them, so only minimums, carry-over and alternatives read them",
    "period": "a period's start is laid out from credential data, and its end from its start and number: a value "
              "they read may read only those",
    "activity": "activity rules read `let`; cycle rules read `cycle_let`",
}
"""Why a rule cannot read a value, by the cause of the refusal."""


def _refused(name: str, why: str, cause: str) -> Binding:
    return Binding(name, ANY, REFUSED, ("cycle_let", name, cause), description=why)


def _clean(checked: Checked) -> bool:
    return not checked.diagnostics and all(binding.kind != REFUSED for binding in checked.names())


def _why(name: str, node: ast.Expr, checked: Checked) -> tuple[str, str]:
    """What `name`'s expression reads that a scope lacks (the first such name, where it is written), and the cause."""
    stack = [node]
    while stack:
        found = stack.pop(0)
        if isinstance(found, ast.Name):
            binding = checked.bindings.get(id(found))
            where = f"(line {found.span.line}, column {found.span.column})"
            if binding is None:
                return f"'{name}' reads '{found.name}' {where}", "total" if found.name in TOTALS else "period"
            if binding.kind == REFUSED:  # the cause, one step on (never a chain as long as the lets)
                cause = binding.owner[-1] if isinstance(binding.owner, tuple) else "period"
                return f"'{name}' reads '{found.name}' {where}; {binding.description.rsplit('; ', 1)[-1]}", str(cause)
        stack[:0] = list(ast.children(found))
    first = checked.diagnostics[0]
    return (f"'{name}' reads what it cannot: {first.message} (line {first.span.line}, column {first.span.column})",
            "period")


def check_cycle_lets(state: CompileState) -> None:
    """Check each cycle value in order (each sees those before it) and bind it where it can be read."""
    model = state.model
    if not model.cycle_lets:
        return
    late = _Level("totals", state.totals_scope, "minimums, carry-over and alternatives")
    family = [_Level("cycle", state.cycle_scope, "the requirement, windows, the deadline and conditions on entries"),
              _Level("limit", state.limit_scope, "limits, caps and tiers"), late]
    layout = [_Level("layout", state.layout_scope, "the first period's start"),
              _Level("period", state.period_scope, "a period's end")] if model.cycle is not None else []
    entry, activity = state.entry_scope, state.activity_scope
    taken = {name for scope in (late.scope, entry, activity) for name in scope.names()}
    for name, text in model.cycle_lets:
        if name in taken:
            state.error("name-conflict", f"cycle_let '{name}' has the name of another declared name",
                        model.document.key_span(text.path),
                        "choose another name: attributes, parameters, tables, tags, lets and the period's names "
                        "share names")
            continue
        taken.add(name)
        node = _parse(state, text)
        if node is None:
            binding = Binding(name, ANY, "let", ("cycle_let", name))
            for level in (*family, *layout):
                level.scope = level.scope.with_bindings([binding])
            entry = entry.with_bindings([binding])
            continue
        _place(state, name, text, node, family, "")
        entry = entry.with_bindings([family[0].scope.lookup(name) or _refused(name, "", "total")])
        if layout:
            _place(state, name, text, node, layout, "layout")
        activity = activity.with_bindings([_refused(name, f"'{name}' is a value of the period (cycle_let); activity "
                                                          "rules read one activity's values: write it in let",
                                                    "activity")])
    state.cycle_scope, state.limit_scope, state.totals_scope = (level.scope for level in family)
    state.entry_scope, state.activity_scope = entry, activity
    if layout:
        state.layout_scope, state.period_scope = (level.scope for level in layout)


def _parse(state: CompileState, text: ExprText) -> ast.Expr | None:
    document = state.model.document
    try:
        return parser.parse(text.text, lambda offset: document.span_in_scalar(text.path, offset))
    except ExpressionError as exc:
        state.about(text, exc.diagnostics)
        return None


def _place(state: CompileState, name: str, text: ExprText, node: ast.Expr, levels: list[_Level],
           copy: str) -> None:
    """Bind the value at the first level whose scope reads all it reads, and refuse it at the levels before. For the
    period's own rules (`copy` empty) a value no level can read is reported; for the layout rules it is refused."""
    tried = [check(node, level.scope) for level in levels]
    first = next((number for number, checked in enumerate(tried) if _clean(checked)), None)
    key = (text.path, None if not copy else LAYOUT_COPY)
    if first is None and not copy:
        checked = state.expression(text, levels[-1].scope, None, f"cycle_let '{name}'")
        binding = Binding(name, checked.type if checked else ANY, "let", ("cycle_let", name))
        state.lets[key] = binding
        for level in levels:
            level.scope = level.scope.with_bindings([binding])
        return
    placed: list[Binding] = []
    if first is not None:
        checked = tried[first]
        placed.append(Binding(name, checked.type, "let", ("cycle_let", name, *([copy] if copy else [])),
                              description=f"the value '{name}'"))
        state.lets[key] = placed[0]
        state.checked[key] = checked
    for number, level in enumerate(levels):
        if first is not None and number >= first:
            level.scope = level.scope.with_bindings(placed)
        else:
            level.scope = level.scope.with_bindings([_refused(name, *_why(name, node, tried[number]))])


def check_cycle_let_reads(state: CompileState) -> None:
    """`let-scope`: a rule reads a cycle value it cannot see (said once per place)."""
    said: set[tuple[int, int, str]] = set()
    every = [(path, checked) for (path, _copy), checked in state.checked.items()]
    every += [(path, checked) for (path, _copy), template in state.templates.items()
              for checked in template.placeholders]
    for path, checked in every:
        for node_id, binding in checked.bindings.items():
            if binding.kind != REFUSED:
                continue
            node = _node(checked.node, node_id)
            if node is None or (node.span.line, node.span.column, binding.name) in said:
                continue
            said.add((node.span.line, node.span.column, binding.name))
            state.error("let-scope", f"{state.model.describe(path)} cannot read '{binding.name}': "
                        f"{binding.description}", node.span, _hint(binding))


def _hint(binding: Binding) -> str:
    cause = binding.owner[-1] if isinstance(binding.owner, tuple) else "period"
    return HINTS.get(str(cause), HINTS["period"])


def _node(root: ast.Expr, node_id: int) -> ast.Expr | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) == node_id:
            return node
        stack.extend(ast.children(node))
    return None
