"""Name resolution and type checking of one parsed expression, before any data is seen.

Input: an `ast.Expr` and a `Scope` of the names the spec declares at that place (attributes, parameters, tables,
lets, the cycle, an element's fields inside sum/count/...). Output: a `Checked` expression (result type, the binding
of every name, the type of every node, loop variables of scoped calls) and diagnostics: `expr-unknown-name`,
`expr-unknown-function`, `expr-arity`, `expr-type`, `unknown-scale-value`, and the builtins' own codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ceruleng.errors import Diagnostic, did_you_mean
from ceruleng.expr import ast
from ceruleng.expr.builtins import FUNCTIONS, CallTypes
from ceruleng.expr.types import (
    ANY,
    BOOLEAN,
    DATE,
    NUMBER,
    TEXT,
    ListType,
    RecordType,
    RowType,
    ScaleType,
    TableType,
    Type,
    fits,
    unify,
)
from ceruleng.source import Span

Owner = str | int | tuple[str | int, ...]
"""Which one of several same-named things a binding means: a let's document path, an aggregate element's nesting
depth, or for a dated parameter the day it is judged on ("activity": the activity's date; "cycle": the cycle's end)."""


@dataclass(frozen=True)
class Binding:
    """What a name means at one place in a spec — never how generated code reads it (that is the back end's).

    `kind` is one of: attribute (an activity attribute), credential (a credential attribute, certified_on included),
    parameter, table, unit (the unit's name and size), cycle, let, credits (in reasons after the credit),
    activities (in alternatives), element and field (inside an aggregate). Two bindings are the same name exactly
    when they are equal, so bindings identify lets for the unused-let warning.
    """

    name: str
    type: Type
    kind: str
    owner: Owner = ""
    optional: bool = False
    description: str = ""


class Scope:
    """Names visible at one place; an inner scope (an element inside sum/count) shadows its parent."""

    def __init__(self, bindings: Iterable[Binding] = (), parent: Scope | None = None) -> None:
        self.bindings = {binding.name: binding for binding in bindings}
        self.parent = parent

    def lookup(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name]
            scope = scope.parent
        return None

    def names(self) -> set[str]:
        inner = set(self.bindings)
        return inner | self.parent.names() if self.parent else inner

    def with_bindings(self, bindings: Iterable[Binding]) -> Scope:
        return Scope(bindings, parent=self)


@dataclass
class Checked:
    """A checked expression: everything the code generator needs, keyed by `id()` of AST nodes."""

    node: ast.Expr
    type: Type
    bindings: dict[int, Binding] = field(default_factory=dict)
    types: dict[int, Type] = field(default_factory=dict)
    element_depths: dict[int, int] = field(default_factory=dict)
    """The nesting depth of each scoped aggregate call (sum, count, ...), which names its loop variable."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def names(self) -> Iterator[Binding]:
        """Bindings of the names the expression reads (each once; an element's field is not the attribute)."""
        seen: set[Binding] = set()
        for binding in self.bindings.values():
            if binding not in seen:
                seen.add(binding)
                yield binding


def check(node: ast.Expr, scope: Scope, expect: Type | None = None, what: str = "the value") -> Checked:
    """Type-check `node` in `scope`; when `expect` is given, the result must fit it (`what` names it in messages)."""
    checker = _Checker(scope)
    result = checker.visit(node, scope)
    checked = checker.result
    checked.node = node
    checked.type = result
    if expect is not None and result is not ANY and not fits(result, expect):
        checker.error("expr-type", f"{what} must be {_article(expect)}, got {result.name}", node)
    return checked


def _article(expected: Type) -> str:
    return f"{'an' if expected.name[0] in 'aeiou' else 'a'} {expected.name}" if expected != TEXT else "text"


class _Checker:
    def __init__(self, scope: Scope) -> None:
        self.result = Checked(node=ast.Boolean(span=_NO_SPAN, value=True), type=ANY)
        self.depth = 0
        self.root = scope

    def error(self, code: str, message: str, node: ast.Expr, hint: str | None = None) -> None:
        self.result.diagnostics.append(Diagnostic(code, message, node.span, hint=hint))

    def visit(self, node: ast.Expr, scope: Scope) -> Type:
        method = getattr(self, f"visit_{type(node).__name__}")
        result: Type = method(node, scope)
        self.result.types[id(node)] = result
        return result

    # ---- atoms -------------------------------------------------------------------------------------------------

    def visit_Number(self, node: ast.Number, scope: Scope) -> Type:
        """number: NUMBER"""
        return NUMBER

    def visit_String(self, node: ast.String, scope: Scope) -> Type:
        """string: STRING"""
        return TEXT

    def visit_Boolean(self, node: ast.Boolean, scope: Scope) -> Type:
        """true | false"""
        return BOOLEAN

    def visit_ListOf(self, node: ast.ListOf, scope: Scope) -> Type:
        """list_: "[" [arguments] "]" — every item must have the same type."""
        element: Type = ANY
        for item in node.items:
            item_type = self.visit(item, scope)
            common = unify(element, item_type)
            if common is None:
                self.error("expr-type", f"list items must all be {element.name}, this one is {item_type.name}", item)
            else:
                element = common
        return ListType(element)

    def visit_Name(self, node: ast.Name, scope: Scope) -> Type:
        """name: NAME — resolved in the innermost scope that declares it."""
        binding = scope.lookup(node.name)
        if binding is None:
            self._unknown_name(node, scope)
            return ANY
        self.result.bindings[id(node)] = binding
        return binding.type

    def _unknown_name(self, node: ast.Name, scope: Scope) -> None:
        if node.name in FUNCTIONS:
            self.error("expr-unknown-name", f"'{node.name}' is a function; call it: {FUNCTIONS[node.name].signature}",
                       node)
            return
        hint = did_you_mean(node.name, scope.names())
        if hint is None:
            known = sorted(name for name in scope.names() if not name.startswith("_"))
            hint = "names here: " + ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        self.error("expr-unknown-name", f"unknown name '{node.name}'", node, hint)

    def visit_Field(self, node: ast.Field, scope: Scope) -> Type:
        """field: postfix "." NAME — a record's field, or that field of every record in a list."""
        target = self.visit(node.target, scope)
        record = target.element if isinstance(target, ListType) else target
        if target is ANY:
            return ANY
        if isinstance(target, TableType) and isinstance(target.value, RowType):
            return self._column(node, target, target.value)
        if isinstance(record, RowType) and record.field(node.name) is None:
            self._unknown_column(node, record)
            return ANY
        if not isinstance(record, RecordType):
            self.error("expr-type", f"'.{node.name}' needs a record such as cycle or a segment, got {target.name}",
                       node)
            return ANY
        field_type = record.field(node.name)
        if field_type is None:
            self.error("expr-unknown-name", f"{record.name} has no field '{node.name}'", node,
                       did_you_mean(node.name, record.field_names) or "fields: " + ", ".join(record.field_names))
            return ANY
        return ListType(field_type) if isinstance(target, ListType) else field_type

    def _column(self, node: ast.Field, table: TableType, row: RowType) -> Type:
        """`rates.rate`: one column of a table with columns, a table of its own (key → that column's value)."""
        column = table.column(node.name)
        if column is None:
            self._unknown_column(node, row)
            return ANY
        return column

    def _unknown_column(self, node: ast.Field, row: RowType) -> None:
        self.error("expr-unknown-name", f"table {row.table} has no column '{node.name}'", node,
                   did_you_mean(node.name, row.field_names) or "columns: " + ", ".join(row.field_names))

    def visit_Index(self, node: ast.Index, scope: Scope) -> Type:
        """index: postfix "[" expr "]" — a table's value for a key."""
        target = self.visit(node.target, scope)
        key = self.visit(node.key, scope)
        if target is ANY:
            return ANY
        if not isinstance(target, TableType):
            self.error("expr-type", f"only tables can be indexed with [...], got {target.name}", node)
            return ANY
        if not fits(key, target.key) and not isinstance(key, ScaleType):
            self.error("expr-type", f"table {target.table} is keyed by {target.key.name}, got {key.name}", node.key)
        return target.value

    # ---- operators ---------------------------------------------------------------------------------------------

    def visit_Neg(self, node: ast.Neg, scope: Scope) -> Type:
        """neg: "-" unary"""
        self._expect(node.operand, scope, NUMBER, "'-' needs a number")
        return NUMBER

    def visit_Not(self, node: ast.Not, scope: Scope) -> Type:
        """not_op: "not" negation"""
        self._expect(node.operand, scope, BOOLEAN, "'not' needs true or false")
        return BOOLEAN

    def visit_Conditional(self, node: ast.Conditional, scope: Scope) -> Type:
        """conditional: "if" expr "then" expr "else" expr — both branches have one type."""
        self._expect(node.test, scope, BOOLEAN, "the condition after 'if' must be true or false")
        then = self.visit(node.then, scope)
        otherwise = self.visit(node.otherwise, scope)
        for scaled, literal in ((then, node.otherwise), (otherwise, node.then)):
            if isinstance(scaled, ScaleType) and isinstance(literal, ast.String):
                # a grade or a grade written out: still a grade, compared by rank (not by its letters)
                self._on_scale(literal, scaled)
                self.result.types[id(literal)] = scaled
                return scaled
        common = unify(then, otherwise)
        if common is None:
            self.error("expr-type", f"'then' gives {then.name} but 'else' gives {otherwise.name}", node.otherwise)
            return then
        return common

    def _arithmetic(self, node: ast.Binary, scope: Scope) -> Type:
        """add | sub | mul | div: numbers only (dates move with add_days/add_months)."""
        left = self.visit(node.left, scope)
        right = self.visit(node.right, scope)
        for side, side_type in ((node.left, left), (node.right, right)):
            if side_type not in (NUMBER, ANY):
                hint = "use add_days(date, n) or days_between(a, b)" if side_type == DATE else None
                self.error("expr-type", f"'{node.symbol}' needs numbers, got {side_type.name}", side, hint)
        if isinstance(node, ast.Div) and isinstance(node.right, ast.Number) and node.right.value == 0:
            self.error("expr-value", "division by zero", node.right)
        return NUMBER

    visit_Add = visit_Sub = visit_Mul = visit_Div = _arithmetic

    def _ordering(self, node: ast.Binary, scope: Scope) -> Type:
        """lt | le | gt | ge: numbers, dates, text, or values of one scale (by rank)."""
        left = self.visit(node.left, scope)
        right = self.visit(node.right, scope)
        if isinstance(left, ScaleType) or isinstance(right, ScaleType):
            self._scale_comparison(node, left, right)
        elif left is not ANY and right is not ANY and (left != right or left not in (NUMBER, DATE, TEXT)):
            self.error("expr-type", f"cannot compare {left.name} with {right.name} using '{node.symbol}'", node)
        return BOOLEAN

    visit_Lt = visit_Le = visit_Gt = visit_Ge = _ordering

    def _scale_comparison(self, node: ast.Binary, left: Type, right: Type) -> None:
        scale = left if isinstance(left, ScaleType) else right
        assert isinstance(scale, ScaleType)
        for side, side_type in ((node.left, left), (node.right, right)):
            if side_type == scale or side_type is ANY:
                continue
            if isinstance(side, ast.String):
                if scale.rank(side.value) is None:
                    self.error("unknown-scale-value", f"'{side.value}' is not on the {scale.scale} scale", side,
                               did_you_mean(side.value, scale.values) or "values: " + ", ".join(scale.values))
                continue
            self.error("expr-type", f"a {scale.name} value compares with another, or with one written in quotes; "
                       f"got {side_type.name}", side)

    def _equality(self, node: ast.Binary, scope: Scope) -> Type:
        """eq | ne: both sides of one type (a scale value may be compared with quoted text)."""
        left = self.visit(node.left, scope)
        right = self.visit(node.right, scope)
        if isinstance(left, ScaleType) or isinstance(right, ScaleType):
            self._scale_comparison(node, left, right)
        elif unify(left, right) is None:
            self.error("expr-type", f"cannot compare {left.name} with {right.name}", node)
        return BOOLEAN

    visit_Eq = visit_Ne = _equality

    def _membership(self, node: ast.Binary, scope: Scope) -> Type:
        """in_op | not_in: a value in a list, or a key in a table."""
        left = self.visit(node.left, scope)
        right = self.visit(node.right, scope)
        if right is ANY or left is ANY:
            return BOOLEAN
        if isinstance(right, ListType):
            if isinstance(left, ScaleType) and right.element in (TEXT, ANY):
                self._scale_list(node.right, left)
            elif unify(left, right.element) is None:
                self.error("expr-type", f"cannot look for {left.name} in a {right.name}", node)
        elif isinstance(right, TableType):
            if not fits(left, right.key) and not isinstance(left, ScaleType):
                self.error("expr-type", f"table {right.table} is keyed by {right.key.name}, got {left.name}", node)
        else:
            self.error("expr-type", f"'{node.symbol}' needs a list or a table on its right, got {right.name}",
                       node.right)
        return BOOLEAN

    visit_In = visit_NotIn = _membership

    def _on_scale(self, literal: ast.String, scale: ScaleType) -> None:
        if scale.rank(literal.value) is None:
            self.error("unknown-scale-value", f"'{literal.value}' is not on the {scale.scale} scale", literal,
                       did_you_mean(literal.value, scale.values) or "values: " + ", ".join(scale.values))

    def _scale_list(self, items: ast.Expr, scale: ScaleType) -> None:
        if isinstance(items, ast.ListOf):
            for item in items.items:
                if isinstance(item, ast.String) and scale.rank(item.value) is None:
                    self.error("unknown-scale-value", f"'{item.value}' is not on the {scale.scale} scale", item,
                               did_you_mean(item.value, scale.values))

    def _logical(self, node: ast.Binary, scope: Scope) -> Type:
        """and_op | or_op: true or false on both sides."""
        self._expect(node.left, scope, BOOLEAN, f"'{node.symbol}' needs true or false")
        self._expect(node.right, scope, BOOLEAN, f"'{node.symbol}' needs true or false")
        return BOOLEAN

    visit_And = visit_Or = _logical

    def _expect(self, node: ast.Expr, scope: Scope, expected: Type, message: str) -> None:
        actual = self.visit(node, scope)
        if actual is not ANY and not fits(actual, expected):
            self.error("expr-type", f"{message}, got {actual.name}", node)

    # ---- calls -------------------------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call, scope: Scope) -> Type:
        """call: NAME "(" [arguments] ")" — only functions in the table exist."""
        builtin = FUNCTIONS.get(node.function)
        if builtin is None:
            self._unknown_function(node, scope)
            for arg in node.args:
                self.visit(arg, scope)
            return ANY
        count = len(node.args)
        if not builtin.min_args <= count <= builtin.max_args:
            wanted = (str(builtin.min_args) if builtin.min_args == builtin.max_args
                      else f"{builtin.min_args} to {builtin.max_args}")
            self.error("expr-arity", f"{node.function}() takes {wanted} argument{'s' if wanted != '1' else ''}, "
                       f"got {count}", node, builtin.signature)
            for arg in node.args:
                self.visit(arg, scope)
            return ANY
        types = self._scoped_args(node, scope) if builtin.scoped else [self.visit(arg, scope) for arg in node.args]
        return builtin.check(CallTypes(node, types, self.error, self._kind))

    def _kind(self, node: ast.Expr) -> str | None:
        binding = self.result.bindings.get(id(node))
        return binding.kind if binding is not None else None

    def _unknown_function(self, node: ast.Call, scope: Scope) -> None:
        hint = did_you_mean(node.function, FUNCTIONS)
        if node.function in scope.names():
            hint = f"'{node.function}' is a value, not a function"
        self.error("expr-unknown-function", f"unknown function '{node.function}'", node,
                   hint or "functions: " + ", ".join(sorted(FUNCTIONS)))

    def _scoped_args(self, node: ast.Call, scope: Scope) -> list[Type | None]:
        """Type a scoped call: the list, then the other arguments with the element's fields (and `it`) as names."""
        listed = self.visit(node.args[0], scope)
        element = listed.element if isinstance(listed, ListType) else ANY
        self.result.element_depths[id(node)] = self.depth
        inner = scope.with_bindings(_element_bindings(element, self.depth))
        self.depth += 1
        try:
            return [listed, *(self.visit(arg, inner) for arg in node.args[1:])]
        finally:
            self.depth -= 1


SPLIT_DEPTH = 99
"""The element depth of a split's parts (aggregates inside their expressions count from 0, so names never clash)."""


def element_scope(scope: Scope, listed: Type, depth: int = SPLIT_DEPTH) -> Scope:
    """The scope inside a rule applied to each element of a list (a split's parts): the element's fields as names,
    and the element itself as `it`."""
    element = listed.element if isinstance(listed, ListType) else ANY
    return scope.with_bindings(_element_bindings(element, depth))


def _element_bindings(element: Type, depth: int) -> list[Binding]:
    bindings = [Binding("it", element, "element", depth, description="the element itself")]
    if isinstance(element, RecordType):
        bindings.extend(
            Binding(name, field_type, "field", depth, description=f"the {element.name}'s {name}")
            for name, field_type in element.fields
        )
    return bindings


_PER_ELEMENT = frozenset({"sum", "count", "any", "all", "longest_run"})
"""Calls whose arguments after the first are evaluated once per element (so not at all for an empty list)."""


def always_read(checked: Checked) -> list[Binding]:
    """The bindings an expression reads on every evaluation, in evaluation order: not those read only inside a branch
    of `if`, the right side of `and`/`or`, the fallback of `default()`, or the per-element arguments of an aggregate.
    (Lets read only on some paths are computed only on those paths.)"""
    found: list[Binding] = []
    stack: list[ast.Expr] = [checked.node]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            binding = checked.bindings.get(id(node))
            if binding is not None and binding not in found:
                found.append(binding)
            continue
        if isinstance(node, ast.Conditional):
            following: list[ast.Expr] = [node.test]
        elif isinstance(node, ast.And | ast.Or):
            following = [node.left]
        elif isinstance(node, ast.Call) and (node.function in _PER_ELEMENT or node.function == "default"):
            following = list(node.args[:1])
        else:
            following = list(ast.children(node))
        stack.extend(reversed(following))
    return found


def present_when(node: ast.Expr, outcome: bool) -> frozenset[str]:
    """Names `has(...)` proves present when `node` evaluates to `outcome` (so their reads need no check)."""
    if isinstance(node, ast.Call) and node.function == "has" and node.args and isinstance(node.args[0], ast.Name):
        return frozenset({node.args[0].name}) if outcome else frozenset()
    if isinstance(node, ast.Not):
        return present_when(node.operand, not outcome)
    if isinstance(node, ast.And):
        left, right = present_when(node.left, outcome), present_when(node.right, outcome)
        return left | right if outcome else left & right
    if isinstance(node, ast.Or):
        left, right = present_when(node.left, outcome), present_when(node.right, outcome)
        return left & right if outcome else left | right
    return frozenset()


_NO_SPAN = Span("", 0, 0)
