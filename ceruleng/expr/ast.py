"""The expression AST: frozen dataclasses, one per grammar rule, each with the span of its first character.

Input: built by `expr.parser` from the Lark parse. Output: consumed by `expr.checker` (types, names) and
`expr.codegen` (Python source). Nodes hold no behaviour; visitors dispatch on the node class. Imports only `source`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from ceruleng.source import Span


@dataclass(frozen=True, slots=True)
class Expr:
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Number(Expr):
    """number: NUMBER (exact decimal, read from its text)"""

    value: Decimal


@dataclass(frozen=True, slots=True)
class String(Expr):
    """string: STRING"""

    value: str


@dataclass(frozen=True, slots=True)
class Boolean(Expr):
    """true | false"""

    value: bool


@dataclass(frozen=True, slots=True)
class ListOf(Expr):
    """list_: "[" [arguments] "]" """

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """name: NAME"""

    name: str


@dataclass(frozen=True, slots=True)
class Field(Expr):
    """field: postfix "." NAME"""

    target: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Index(Expr):
    """index: postfix "[" expr "]" """

    target: Expr
    key: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """call: NAME "(" [arguments] ")" """

    function: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    """neg: "-" unary"""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Not(Expr):
    """not_op: "not" negation"""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Conditional(Expr):
    """conditional: "if" expr "then" expr "else" expr"""

    test: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    left: Expr
    right: Expr
    symbol: ClassVar[str] = ""
    """How the operator is written (for messages); each subclass sets it."""


class Add(Binary):
    """add: sum "+" product"""

    __slots__ = ()
    symbol = "+"


class Sub(Binary):
    """sub: sum "-" product"""

    __slots__ = ()
    symbol = "-"


class Mul(Binary):
    """mul: product "*" unary"""

    __slots__ = ()
    symbol = "*"


class Div(Binary):
    """div: product "/" unary"""

    __slots__ = ()
    symbol = "/"


class Eq(Binary):
    """eq: sum "==" sum"""

    __slots__ = ()
    symbol = "=="


class Ne(Binary):
    """ne: sum "!=" sum"""

    __slots__ = ()
    symbol = "!="


class Lt(Binary):
    """lt: sum "<" sum"""

    __slots__ = ()
    symbol = "<"


class Le(Binary):
    """le: sum "<=" sum"""

    __slots__ = ()
    symbol = "<="


class Gt(Binary):
    """gt: sum ">" sum"""

    __slots__ = ()
    symbol = ">"


class Ge(Binary):
    """ge: sum ">=" sum"""

    __slots__ = ()
    symbol = ">="


class In(Binary):
    """in_op: sum "in" sum"""

    __slots__ = ()
    symbol = "in"


class NotIn(Binary):
    """not_in: sum "not" "in" sum"""

    __slots__ = ()
    symbol = "not in"


class And(Binary):
    """and_op: conjunction "and" negation"""

    __slots__ = ()
    symbol = "and"


class Or(Binary):
    """or_op: disjunction "or" conjunction"""

    __slots__ = ()
    symbol = "or"


ORDERING = (Lt, Le, Gt, Ge)
MEMBERSHIP = (In, NotIn)


def children(node: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of a node, in source order."""
    if isinstance(node, Binary):
        yield node.left
        yield node.right
    elif isinstance(node, Neg | Not):
        yield node.operand
    elif isinstance(node, Conditional):
        yield from (node.test, node.then, node.otherwise)
    elif isinstance(node, Call):
        yield from node.args
    elif isinstance(node, ListOf):
        yield from node.items
    elif isinstance(node, Field):
        yield node.target
    elif isinstance(node, Index):
        yield node.target
        yield node.key


def depth(node: Expr) -> int:
    """Nesting depth, computed without recursion so a hostile expression cannot exhaust the stack."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def names_used(node: Expr) -> Iterator[Name]:
    """Every Name node in the tree (depth-first, source order)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Name):
            yield current
        stack.extend(reversed(list(children(current))))
