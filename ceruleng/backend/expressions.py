"""Checked expression → Python expression source, compiled once with the rest of a spec.

Input: a `Checked` expression and a `ConstantPool` shared by one generated module. Output: the text of a Python
expression that reads attributes from locals, constants from the pool, and calls only the helpers in `RUNTIME`.
Nothing the spec author wrote reaches the output except through `repr()` or a pool constant, and names are mapped
to generated identifiers, so an expression cannot reach Python beyond the function table.

Reading an optional attribute that may be missing raises `Missing` (the activity is rejected with a reason), except
where `has(x)` has proven it present, or in lenient mode (reason templates), where a missing value prints as
"(none)".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any

from ceruleng.expr import ast
from ceruleng.expr.builtins import FUNCTIONS
from ceruleng.expr.checker import Binding, Checked, present_when
from ceruleng.expr.types import ListType, ScaleType, TableType
from ceruleng.runtime import RUNTIME


class ConstantPool:
    """Constants hoisted out of generated code: decimals, frozensets, tables, scale ranks, compiled patterns."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._names: dict[tuple[str, Hashable], str] = {}

    def add(self, kind: str, key: Hashable, make: Callable[[], Any]) -> str:
        """The generated name of a constant, creating it on first use; equal constants share one name."""
        slot = (kind, key)
        name = self._names.get(slot)
        if name is None:
            name = f"_{kind}{len(self._names)}"
            self._names[slot] = name
            self.values[name] = make()
        return name

    def number(self, value: Decimal) -> str:
        return self.add("n", str(value), lambda: value)

    def named(self, kind: str, name: str, value: Any) -> str:
        return self.add(kind, name, lambda: value)


def emit(checked: Checked, pool: ConstantPool, present: frozenset[str] = frozenset(), lenient: bool = False) -> str:
    """Python source for a checked expression."""
    return _Emitter(checked, pool, lenient).emit(checked.node, present)


class _Emitter:
    def __init__(self, checked: Checked, pool: ConstantPool, lenient: bool) -> None:
        self.checked = checked
        self.pool = pool
        self.lenient = lenient

    def emit(self, node: ast.Expr, present: frozenset[str]) -> str:
        method = getattr(self, f"emit_{type(node).__name__}")
        text: str = method(node, present)
        return text

    def type_of(self, node: ast.Expr) -> Any:
        return self.checked.types.get(id(node))

    def emit_Number(self, node: ast.Number, present: frozenset[str]) -> str:
        return self.pool.number(node.value)

    def emit_String(self, node: ast.String, present: frozenset[str]) -> str:
        return repr(node.value)

    def emit_Boolean(self, node: ast.Boolean, present: frozenset[str]) -> str:
        return "True" if node.value else "False"

    def emit_ListOf(self, node: ast.ListOf, present: frozenset[str]) -> str:
        constant = _constant_items(node)
        if constant is not None:
            return self.pool.add("l", constant, lambda: constant)
        return "(" + "".join(f"{self.emit(item, present)}, " for item in node.items) + ")"

    def emit_Name(self, node: ast.Name, present: frozenset[str]) -> str:
        binding = self.checked.bindings[id(node)]
        if binding.optional and not self.lenient and binding.name not in present:
            return f"({binding.ref} if {binding.ref} is not None else _missing({binding.name!r}))"
        return binding.ref

    def emit_Field(self, node: ast.Field, present: frozenset[str]) -> str:
        target_binding = self.checked.bindings.get(id(node.target))
        if target_binding is not None and target_binding.field_refs:
            return dict(target_binding.field_refs)[node.name]
        target = self.emit(node.target, present)
        if isinstance(self.type_of(node.target), ListType):
            return f"[_f[{node.name!r}] for _f in {target}]"
        return f"{target}[{node.name!r}]"

    def emit_Index(self, node: ast.Index, present: frozenset[str]) -> str:
        table = self.type_of(node.target)
        name = table.table if isinstance(table, TableType) else "table"
        return f"_lookup({self.emit(node.target, present)}, {self.emit(node.key, present)}, {name!r})"

    def emit_Neg(self, node: ast.Neg, present: frozenset[str]) -> str:
        return f"(-{self.emit(node.operand, present)})"

    def emit_Not(self, node: ast.Not, present: frozenset[str]) -> str:
        return f"(not {self.emit(node.operand, present)})"

    def emit_Conditional(self, node: ast.Conditional, present: frozenset[str]) -> str:
        test = self.emit(node.test, present)
        then = self.emit(node.then, present | present_when(node.test, True))
        otherwise = self.emit(node.otherwise, present | present_when(node.test, False))
        return f"({then} if {test} else {otherwise})"

    def _binary(self, node: ast.Binary, present: frozenset[str]) -> str:
        operator = {"==": "==", "!=": "!=", "in": "in", "not in": "not in"}.get(node.symbol, node.symbol)
        left_type, right_type = self.type_of(node.left), self.type_of(node.right)
        scaled = isinstance(left_type, ScaleType) or isinstance(right_type, ScaleType)
        if scaled and isinstance(node, ast.ORDERING):
            scale = left_type if isinstance(left_type, ScaleType) else right_type
            left, right = self._rank(node.left, scale, present), self._rank(node.right, scale, present)
            return f"({left} {operator} {right})"
        right = self.emit(node.right, present)
        if isinstance(node, ast.MEMBERSHIP) and isinstance(node.right, ast.ListOf):
            constant = _constant_items(node.right)
            if constant is not None:
                right = self.pool.add("s", constant, lambda: frozenset(constant))
        return f"({self.emit(node.left, present)} {operator} {right})"

    emit_Add = emit_Sub = emit_Mul = emit_Div = _binary
    emit_Eq = emit_Ne = emit_Lt = emit_Le = emit_Gt = emit_Ge = _binary
    emit_In = emit_NotIn = _binary

    def _rank(self, node: ast.Expr, scale: ScaleType, present: frozenset[str]) -> str:
        if isinstance(node, ast.String):
            return str(scale.rank(node.value))
        ranks = self.pool.named("r", scale.scale, {value: index for index, value in enumerate(scale.values)})
        return f"{ranks}[{self.emit(node, present)}]"

    def emit_And(self, node: ast.And, present: frozenset[str]) -> str:
        left = self.emit(node.left, present)
        return f"({left} and {self.emit(node.right, present | present_when(node.left, True))})"

    def emit_Or(self, node: ast.Or, present: frozenset[str]) -> str:
        left = self.emit(node.left, present)
        return f"({left} or {self.emit(node.right, present | present_when(node.left, False))})"

    def emit_Call(self, node: ast.Call, present: frozenset[str]) -> str:
        special = getattr(self, f"call_{node.function}", None)
        if special is not None:
            text: str = special(node, present)
            return text
        builtin = FUNCTIONS[node.function]
        return builtin.emit([self.emit(arg, present) for arg in node.args], node)

    def call_has(self, node: ast.Call, present: frozenset[str]) -> str:
        binding = self._binding(node.args[0])
        if isinstance(binding.type, ListType):
            return f"bool({binding.ref})"
        return f"({binding.ref} is not None)"

    def call_default(self, node: ast.Call, present: frozenset[str]) -> str:
        binding = self._binding(node.args[0])
        return f"({binding.ref} if {binding.ref} is not None else {self.emit(node.args[1], present)})"

    def _binding(self, node: ast.Expr) -> Binding:
        return self.checked.bindings[id(node)]

    def _loop(self, node: ast.Call, present: frozenset[str]) -> tuple[str, str]:
        return self.checked.element_vars[id(node)], self.emit(node.args[0], present)

    def call_sum(self, node: ast.Call, present: frozenset[str]) -> str:
        variable, items = self._loop(node, present)
        if len(node.args) == 1:
            return f"_total({items})"
        value = self.emit(node.args[1], present)
        condition = f" if {self.emit(node.args[2], present)}" if len(node.args) == 3 else ""
        return f"_total({value} for {variable} in {items}{condition})"

    def call_count(self, node: ast.Call, present: frozenset[str]) -> str:
        variable, items = self._loop(node, present)
        if len(node.args) == 1:
            return f"_Decimal(len({items}))"
        return f"_Decimal(sum(1 for {variable} in {items} if {self.emit(node.args[1], present)}))"

    def call_any(self, node: ast.Call, present: frozenset[str]) -> str:
        variable, items = self._loop(node, present)
        return f"any({self.emit(node.args[1], present)} for {variable} in {items})"

    def call_all(self, node: ast.Call, present: frozenset[str]) -> str:
        variable, items = self._loop(node, present)
        return f"all({self.emit(node.args[1], present)} for {variable} in {items})"

    def call_longest_run(self, node: ast.Call, present: frozenset[str]) -> str:
        variable, items = self._loop(node, present)
        value = self.emit(node.args[1], present)
        breaks = self.emit(node.args[2], present)
        return f"_longest_run({items}, lambda {variable}: {value}, lambda {variable}: {breaks})"


def _constant_items(node: ast.ListOf) -> tuple[Any, ...] | None:
    """The items of a list literal made only of literals, else None."""
    items: list[Any] = []
    for item in node.items:
        if isinstance(item, ast.Number | ast.String | ast.Boolean):
            items.append(item.value)
        else:
            return None
    return tuple(items)


def compile_module(source: str, pool: ConstantPool, filename: str) -> dict[str, Any]:
    """Compile generated module source; its only globals are the runtime helpers and the pool's constants."""
    namespace: dict[str, Any] = {**RUNTIME, **pool.values}
    exec(compile(source, filename, "exec"), namespace)
    return namespace
