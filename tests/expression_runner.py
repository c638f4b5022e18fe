"""Shared by the expression tests: one expression text → parsed, checked, compiled and run, as specs do it."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

from ceruleng.backend.module import compile_expression
from ceruleng.errors import ExpressionError
from ceruleng.expr import parser
from ceruleng.expr.checker import Scope, check
from ceruleng.source import Span
from ceruleng.values import CONTEXT


def run_expression(text: str, scope: Scope, values: Mapping[str, Any], label: str = "<case>") -> Any:
    """The value of `text` with `values` as the activity's attributes (by name; None for a missing one);
    ExpressionError when it does not parse or check (diagnostics at column offset + 1 of line 1)."""
    node = parser.parse(text, lambda offset: Span(label, 1, offset + 1))
    checked = check(node, scope)
    if checked.diagnostics:
        raise ExpressionError(checked.diagnostics)
    function = compile_expression(checked, label)
    with decimal.localcontext(CONTEXT):
        return function({name: value for name, value in values.items() if value is not None}, {})
