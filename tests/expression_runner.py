"""Shared by the expression tests: one expression text → parsed, checked, compiled and run, as specs do it."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

from ceruleng.backend.expressions import ConstantPool, compile_module, emit
from ceruleng.errors import ExpressionError
from ceruleng.expr import parser
from ceruleng.expr.checker import Scope, check
from ceruleng.source import Span
from ceruleng.values import CONTEXT


def run_expression(text: str, scope: Scope, values: Mapping[str, Any], label: str = "<case>") -> Any:
    """The value of `text` with `values` bound to the scope's references; ExpressionError when it does not parse
    or check (diagnostics at column offset + 1 of line 1)."""
    node = parser.parse(text, lambda offset: Span(label, 1, offset + 1))
    checked = check(node, scope)
    if checked.diagnostics:
        raise ExpressionError(checked.diagnostics)
    pool = ConstantPool()
    source = f"def rule({', '.join(values)}):\n    return {emit(checked, pool)}\n"
    function = compile_module(source, pool, label)["rule"]
    with decimal.localcontext(CONTEXT):
        return function(**values)
