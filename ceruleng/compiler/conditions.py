"""Compiler stage: lints of the requirement's conditions (what must hold beside the credit).

Input: the model and the checked `met_when` of each condition. Output: `duplicate-id` for two conditions with one
id, and `unknown-category` for a condition that asks for a category the spec does not have (`category == "exams"`
on an entry or an activity): such a condition could never be met, and a member would be told so for ever.
"""

from __future__ import annotations

from ceruleng.compiler.state import CompileState
from ceruleng.errors import did_you_mean
from ceruleng.expr import ast
from ceruleng.expr.checker import Checked


def check_conditions(state: CompileState) -> None:
    requirement = state.model.requirement
    if requirement is None:
        return
    seen: set[str] = set()
    for condition in requirement.conditions:
        if condition.id in seen:
            state.error("duplicate-id", f"condition id '{condition.id}' is used twice", condition.span,
                        "give each condition its own id")
        seen.add(condition.id)
        checked = state.checked.get(condition.met_when.key)
        if checked is None:
            continue
        for literal in _categories_asked(checked):
            if literal.value not in state.category_ids:
                state.error("unknown-category", f"condition '{condition.id}' asks for unknown category "
                            f"'{literal.value}'", literal.span,
                            did_you_mean(literal.value, state.category_ids) or "no category has this id")


def _categories_asked(checked: Checked) -> list[ast.String]:
    """Text literals compared with an element's `category` field (`category == "x"`, `category in ["x", "y"]`)."""
    found: list[ast.String] = []
    stack: list[ast.Expr] = [checked.node]
    while stack:
        node = stack.pop()
        stack.extend(ast.children(node))
        if not isinstance(node, ast.Eq | ast.Ne | ast.In | ast.NotIn):
            continue
        for side, other in ((node.left, node.right), (node.right, node.left)):
            binding = checked.bindings.get(id(side)) if isinstance(side, ast.Name) else None
            if binding is None or binding.name != "category" or binding.kind not in ("field", "entry"):
                continue
            items = other.items if isinstance(other, ast.ListOf) else (other,)
            found.extend(item for item in items if isinstance(item, ast.String))
    return found
