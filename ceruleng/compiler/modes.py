"""Compiler stage helper: rounding modes — a word, text in quotes, a dated parameter, or any text expression.

Input: a category's `round.mode` (checked in the category's scope) and, once every expression is checked, each
`round()` call and rounding mode the spec writes. Output: the mode's checked expression (a written word such as
`half-even` becomes that text) and `unknown-rounding-mode` wherever `check` can see a mode that is none: the word,
a quoted text (through `if`), each version's value of a parameter that gives the mode, a let that does. A mode any
other expression computes (from an activity's data) is judged when the activity is scored: `values.round_to`
rejects that activity with a reason naming the rule.
"""

from __future__ import annotations

import re

from ceruleng.compiler.state import CompileState, TextKey
from ceruleng.errors import did_you_mean
from ceruleng.expr import ast
from ceruleng.expr.checker import Binding, Checked, Scope
from ceruleng.expr.types import TEXT
from ceruleng.model import ExprText, ParameterVersion
from ceruleng.source import Span
from ceruleng.values import ROUNDING_MODES

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
"""What a mode written as a bare word looks like (`down`, `half-up`, a misspelling such as `half_up`)."""

_MODES = ", ".join(ROUNDING_MODES)


def check_mode(state: CompileState, text: ExprText, scope: Scope) -> None:
    """`round.mode`: a mode's word (a word always means the mode, even where a parameter has that name), or an
    expression giving one as text."""
    word = text.text.strip()
    if word in ROUNDING_MODES:
        state.checked[text.key] = Checked(ast.String(text.span, word), TEXT)
        return
    if _WORD.fullmatch(word) and scope.lookup(word) is None:
        state.error_about(text, "unknown-rounding-mode", f"unknown rounding mode '{word}'", text.span,
                          did_you_mean(word, ROUNDING_MODES)
                          or f"modes: {_MODES}; or the name of a parameter or let that gives one")
        return
    state.expression(text, scope, TEXT, "the rounding mode")


def check_rounding_modes(state: CompileState) -> None:
    """Every mode `check` can know — in quotes, or each version of a parameter a rule rounds by — is a mode."""
    lets = {binding: key for key, binding in state.lets.items()}
    seen: set[str] = set()
    for category in state.model.categories:
        if category.rounding is not None:
            checked = state.checked.get(category.rounding.mode.key)
            if checked is not None:
                _mode_values(state, checked, checked.node, lets, seen, quoted=True)
    for checked in list(state.checked.values()):
        for node in _walk(checked.node):
            if isinstance(node, ast.Call) and node.function == "round" and len(node.args) == 3:
                # text in quotes is the function's own check (builtins); a parameter's versions are checked here
                _mode_values(state, checked, node.args[2], lets, seen, quoted=False)


def _mode_values(state: CompileState, checked: Checked, node: ast.Expr, lets: dict[Binding, TextKey],
                 seen: set[str], quoted: bool) -> None:
    """Report each mode `node` can give that `check` can see and that is not a mode."""
    if isinstance(node, ast.String):
        if quoted and node.value not in ROUNDING_MODES:
            state.error("unknown-rounding-mode", f"unknown rounding mode '{node.value}'", node.span,
                        did_you_mean(node.value, ROUNDING_MODES) or f"modes: {_MODES}")
    elif isinstance(node, ast.Conditional):
        for branch in (node.then, node.otherwise):
            _mode_values(state, checked, branch, lets, seen, quoted)
    elif isinstance(node, ast.Name):
        binding = checked.bindings.get(id(node))
        if binding is not None and binding.kind == "parameter" and binding.name not in seen:
            seen.add(binding.name)
            _parameter_modes(state, binding.name)
        elif binding is not None and binding.kind == "let" and binding in lets:
            let = state.checked.get(lets[binding])
            if let is not None:
                _mode_values(state, let, let.node, lets, seen, quoted=True)


def _parameter_modes(state: CompileState, name: str) -> None:
    parameter = state.model.parameters.get(name)
    if parameter is None:
        return
    for version in parameter.versions:
        if isinstance(version.value, str) and version.value not in ROUNDING_MODES:
            when = f" {version.effective.describe()}" if version.effective.dated else ""
            state.error("unknown-rounding-mode", f"parameter '{name}' gives '{version.value[:40]}'{when}, which "
                        "is not a rounding mode, and a rule rounds by it", _value_span(state, version),
                        did_you_mean(version.value, ROUNDING_MODES) or f"modes: {_MODES}")


def _value_span(state: CompileState, version: ParameterVersion) -> Span:
    path = version.path if version.path[-1:] == ("value",) else (*version.path, "value")
    return state.model.document.span(path)


def _walk(node: ast.Expr) -> list[ast.Expr]:
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        found.append(item)
        stack.extend(ast.children(item))
    return found
