"""Back end: the expression emitter — a checked expression → the source of one Python expression.

Input: a `Checked` expression (node types and the binding of every name, from the checker), a `ConstantPool` shared
by one generated module, and a `Reads` that says how each binding is read where the expression is emitted (a local,
a constant, a dated lookup, a let computed only on the path that needs it). Output: Python expression source that
calls only the helpers of `ceruleng.runtime`. Nothing the spec author wrote reaches the output except through
`repr()` or a pool constant, so an expression cannot reach Python beyond the function table.

Reading an optional attribute that may be missing raises `Missing` (the activity is rejected with a reason), except
where `has(x)` has proven it present, or in lenient mode (reason templates), where a missing value prints as
"(none)".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from ceruleng.backend import names
from ceruleng.expr import ast
from ceruleng.expr.checker import Binding, Checked, present_when
from ceruleng.expr.types import ListType, ScaleType, TableType
from ceruleng.values import ROUNDING_MODES, parse_iso_date


class ConstantPool:
    """Constants hoisted out of generated code: decimals, frozensets, tables, scale ranks, dates, patterns."""

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

    def day(self, value: date) -> str:
        return self.add("d", value, lambda: value)

    def put(self, name: str, value: Any) -> str:
        """A constant under a name the caller chose (from `names`): parameters and tables."""
        self.values[name] = value
        return name


class Reads(Protocol):
    """How the function being written reads a binding (and what it must load to do so)."""

    def __call__(self, binding: Binding) -> str: ...


_OPERATORS = {"==": "==", "!=": "!=", "in": "in", "not in": "not in"}


class Emitter:
    """Emits one checked expression; `reads` resolves names in the function the expression is written into."""

    def __init__(self, checked: Checked, pool: ConstantPool, reads: Reads, lenient: bool = False) -> None:
        self.checked = checked
        self.pool = pool
        self.reads = reads
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
        read = self.reads(binding)
        if binding.optional and not self.lenient and binding.name not in present:
            return f"({read} if {read} is not None else _missing({binding.name!r}))"
        return read

    def emit_Field(self, node: ast.Field, present: frozenset[str]) -> str:
        target_binding = self.checked.bindings.get(id(node.target))
        if target_binding is not None and target_binding.kind == "cycle":
            self.reads(target_binding)
            return names.cycle_field(node.name)
        column = self.type_of(node)
        if isinstance(column, TableType) and isinstance(self.type_of(node.target), TableType):
            table = self.type_of(node.target).table  # a column of a table, precomputed as a table of its own
            if isinstance(node.target, ast.Name):
                return names.table_column(table, node.name)
            return f"{{_k: _r[{node.name!r}] for _k, _r in {self.emit(node.target, present)}.items()}}"
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
        operator = _OPERATORS.get(node.symbol, node.symbol)
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
        ranks = self.pool.add("r", scale.scale, lambda: {value: index for index, value in enumerate(scale.values)})
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
        return CALLS[node.function]([self.emit(arg, present) for arg in node.args], node)

    def call_has(self, node: ast.Call, present: frozenset[str]) -> str:
        binding = self._binding(node.args[0])
        read = self.reads(binding)
        if isinstance(binding.type, ListType):
            return f"bool({read})"
        return f"({read} is not None)"

    def call_default(self, node: ast.Call, present: frozenset[str]) -> str:
        read = self.reads(self._binding(node.args[0]))
        return f"({read} if {read} is not None else {self.emit(node.args[1], present)})"

    def _binding(self, node: ast.Expr) -> Binding:
        return self.checked.bindings[id(node)]

    def _loop(self, node: ast.Call, present: frozenset[str]) -> tuple[str, str]:
        return names.element(self.checked.element_depths[id(node)]), self.emit(node.args[0], present)

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


# ---- built-in functions: how each call is written in Python (their types and docs are in expr/builtins.py) --------

Call = Callable[[Sequence[str], ast.Call], str]


def _helper(name: str) -> Call:
    return lambda args, _node: f"{name}({', '.join(args)})"


def write_rounding(value: str, increment: str, mode: str, increment_node: ast.Expr, mode_node: ast.Expr) -> str:
    """How a rounding is written (a category's `round`, and the `round()` function). With a literal increment above
    zero and a literal mode it knows: `_round_to`'s own steps, its checks answered here, once. Else `_round_to`,
    which checks them on each call: a mode in quotes is checked by `check`, one from a parameter too, version by
    version, and `_round_to` still refuses a word that is not a mode."""
    direction = (ROUNDING_MODES.get(mode_node.value) if isinstance(increment_node, ast.Number)
                 and increment_node.value > 0 and isinstance(mode_node, ast.String) else None)
    if direction is None:
        return f"_round_to({value}, {increment}, {mode})"
    return f"_snap({value} / {increment}).to_integral_value({direction!r}) * {increment}"


def _round(args: Sequence[str], node: ast.Call) -> str:
    return write_rounding(args[0], args[1], args[2], node.args[1], node.args[2])


def _date(args: Sequence[str], node: ast.Call) -> str:
    if len(node.args) == 3:
        return f"_make_date({args[0]}, {args[1]}, {args[2]})"
    literal = node.args[0]
    parsed = parse_iso_date(literal.value) if isinstance(literal, ast.String) else None
    assert parsed is not None, "the checker accepts only a valid date literal"
    return f"_date({parsed.year}, {parsed.month}, {parsed.day})"


def _whole_literal(node: ast.Expr) -> int | None:
    """A count written as a whole number literal (or its negation), else None."""
    sign, literal = (-1, node.operand) if isinstance(node, ast.Neg) else (1, node)
    if isinstance(literal, ast.Number) and literal.value == literal.value.to_integral_value():
        return sign * int(literal.value)
    return None


def _shift(helper: str, by_int: str, scale: int = 1) -> Call:
    """A date moved by a count: by a count written as a whole literal, the date function itself (no check that
    the count is whole, per call); else the helper that checks it."""
    def write(args: Sequence[str], node: ast.Call) -> str:
        count = _whole_literal(node.args[1])
        if count is None:
            return f"{helper}({args[0]}, {args[1]})"
        return f"{by_int}({args[0]}, {count * scale})"

    return write


def _matches(args: Sequence[str], node: ast.Call) -> str:
    pattern = node.args[1]
    assert isinstance(pattern, ast.String), "the checker accepts only a literal pattern"
    return f"_matches({args[0]}, _re_compile({pattern.value!r}))"


CALLS: dict[str, Call] = {
    "round": _round,
    "floor": _helper("_floor"),
    "ceil": _helper("_ceil"),
    "min": _helper("min"),
    "max": _helper("max"),
    "clamp": _helper("_clamp"),
    "abs": _helper("abs"),
    "hours": lambda a, _n: f"({a[0]} / _SIXTY)",
    "to_minutes": lambda a, _n: f"({a[0]} * _SIXTY)",
    "matches": _matches,
    "lower": _helper("_lower"),
    "upper": _helper("_upper"),
    "trim": _helper("_trim"),
    "length": _helper("_length"),
    "contains": lambda a, _n: f"({a[1]} in {a[0]})",
    "starts_with": lambda a, _n: f"{a[0]}.startswith({a[1]})",
    "plural": _helper("_plural"),
    "fixed": _helper("_fixed"),
    "join": lambda a, _n: f"{a[1]}.join({a[0]})",
    "lookup": _helper("_lookup_or"),
    "date": _date,
    "add_days": _shift("_add_days", "_add_whole_days"),
    "add_months": _shift("_add_months", "_add_whole_months"),
    "add_years": _shift("_add_years", "_add_whole_months", 12),
    "days_between": _helper("_days_between"),
    "months_between": _helper("_months_between"),
    "start_of_month": _helper("_start_of_month"),
    "end_of_month": _helper("_end_of_month"),
    "day": lambda a, _n: f"_Decimal({a[0]}.day)",
    "mod": _helper("_mod"),
    "year": lambda a, _n: f"_Decimal({a[0]}.year)",
    "month": lambda a, _n: f"_Decimal({a[0]}.month)",
}
"""How every built-in that is not written by the emitter itself (has, default, the aggregates) becomes Python; a test
checks this table and the function table name the same functions."""
