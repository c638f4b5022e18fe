"""Expression AST → canonical text: one space around binary operators and after commas, none inside brackets,
text in double quotes (single when the text holds a double quote and no single one), numbers in plain decimals,
and only the parentheses the grammar needs.

Input: an `ast.Expr` from `ceruleng.expr.parser`. Output: text that parses back to an equal tree
(`parse(print_expr(node)) == node`; spans are not compared), on one line (`print_expr`) or broken into lines at
the loosest operators when it is wider than a limit (`layout`). Line breaks are whitespace to the grammar, so a
broken layout parses to the same tree as the flat one. Used by `fmt` (to rewrite expressions) and by `diff` (to
compare and show expressions independently of how they were spaced).
"""

from __future__ import annotations

import re
from decimal import Decimal

from ceruleng.expr import ast

# Binding levels, loosest first, as grammar.lark nests its rules.
CONDITIONAL, OR, AND, NOT, COMPARISON, SUM, PRODUCT, UNARY, POSTFIX, ATOM = range(1, 11)

_LEVELS: dict[type[ast.Expr], int] = {
    ast.Conditional: CONDITIONAL, ast.Or: OR, ast.And: AND, ast.Not: NOT,
    ast.Eq: COMPARISON, ast.Ne: COMPARISON, ast.Lt: COMPARISON, ast.Le: COMPARISON, ast.Gt: COMPARISON,
    ast.Ge: COMPARISON, ast.In: COMPARISON, ast.NotIn: COMPARISON,
    ast.Add: SUM, ast.Sub: SUM, ast.Mul: PRODUCT, ast.Div: PRODUCT, ast.Neg: UNARY,
    ast.Call: POSTFIX, ast.Field: POSTFIX, ast.Index: POSTFIX,
}  # fmt: skip
"""Atoms (numbers, text, true/false, names, lists) are ATOM: they never need parentheses."""

_OPERANDS: dict[int, tuple[int, int]] = {
    OR: (OR, AND),  # disjunction "or" conjunction: left-associative
    AND: (AND, NOT),
    COMPARISON: (SUM, SUM),  # comparisons do not chain: both sides are sums
    SUM: (SUM, PRODUCT),
    PRODUCT: (PRODUCT, UNARY),
}
"""The least binding level each side of a binary operator accepts without parentheses."""

_METHODS: dict[type[ast.Expr], str] = {
    ast.Number: "number", ast.String: "string", ast.Boolean: "boolean", ast.ListOf: "list_of", ast.Name: "name",
    ast.Field: "field", ast.Index: "index", ast.Call: "call", ast.Neg: "neg", ast.Not: "not_",
    ast.Conditional: "conditional",
}  # fmt: skip

KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "in", "true", "false"})
"""Words the grammar reserves: never a name."""


def level(node: ast.Expr) -> int:
    return _LEVELS.get(type(node), ATOM)


def print_expr(node: ast.Expr) -> str:
    """The canonical one-line text of an expression."""
    return _Printer().text(node)


def print_normalised(node: ast.Expr) -> str:
    """The text two expressions with the same meaning share: canonical, and numbers without trailing zeros (`0.50`
    and `0.5` are one number). What `diff` compares; `fmt` keeps the zeros an author wrote."""
    return _Printer(normalise=True).text(node)


def layout(node: ast.Expr, width: int) -> list[str]:
    """The canonical text as lines no wider than `width` where the expression can be broken: a conditional puts
    `if`, `then` and `else` on lines of their own, `and`/`or` chains and other operators break before the
    operator, calls and lists put one argument on a line. One line when the flat text fits."""
    return _Printer().lines(node, max(width, 20))


class _Printer:
    """One method per node type (see ceruleng.expr.ast), each returning the node's text."""

    def __init__(self, normalise: bool = False) -> None:
        self.normalise = normalise

    def text(self, node: ast.Expr) -> str:
        if isinstance(node, ast.Binary):
            return self.binary(node)
        result: str = getattr(self, _METHODS[type(node)])(node)
        return result

    def operand(self, node: ast.Expr, least: int) -> str:
        """A sub-expression, in parentheses when it binds more loosely than its place accepts."""
        text = self.text(node)
        return f"({text})" if level(node) < least else text

    def binary(self, node: ast.Binary) -> str:
        left, right = _OPERANDS[level(node)]
        return f"{self.operand(node.left, left)} {node.symbol} {self.operand(node.right, right)}"

    def number(self, node: ast.Number) -> str:
        text = format_number(node.value)
        return text.rstrip("0").rstrip(".") if self.normalise and "." in text else text

    def string(self, node: ast.String) -> str:
        return quote(node.value)

    def boolean(self, node: ast.Boolean) -> str:
        return "true" if node.value else "false"

    def list_of(self, node: ast.ListOf) -> str:
        return "[" + ", ".join(self.text(item) for item in node.items) + "]"

    def name(self, node: ast.Name) -> str:
        return node.name

    def field(self, node: ast.Field) -> str:
        return f"{self.operand(node.target, POSTFIX)}.{node.name}"

    def index(self, node: ast.Index) -> str:
        return f"{self.operand(node.target, POSTFIX)}[{self.text(node.key)}]"

    def call(self, node: ast.Call) -> str:
        return node.function + "(" + ", ".join(self.text(arg) for arg in node.args) + ")"

    def neg(self, node: ast.Neg) -> str:
        return "-" + self.operand(node.operand, UNARY)

    def not_(self, node: ast.Not) -> str:
        return "not " + self.operand(node.operand, NOT)

    def conditional(self, node: ast.Conditional) -> str:
        return f"if {self.text(node.test)} then {self.text(node.then)} else {self.text(node.otherwise)}"

    # ---- broken layout -------------------------------------------------------------------------------------------

    def lines(self, node: ast.Expr, width: int) -> list[str]:
        flat = self.text(node)
        if len(flat) <= width:
            return [flat]
        if isinstance(node, ast.Conditional):
            return self.conditional_lines(node, width)
        if isinstance(node, ast.Binary):
            return self.binary_lines(node, width)
        if isinstance(node, ast.Call) and node.args:
            return self.bracketed(node.function + "(", node.args, ")", width)
        if isinstance(node, ast.ListOf) and node.items:
            return self.bracketed("[", node.items, "]", width)
        return [flat]

    def operand_lines(self, node: ast.Expr, least: int, width: int) -> list[str]:
        if level(node) >= least:
            return self.lines(node, width)
        inner = self.lines(node, width - 2)
        return ["(" + inner[0], *inner[1:-1], inner[-1] + ")"] if len(inner) > 1 else [f"({inner[0]})"]

    def conditional_lines(self, node: ast.Conditional, width: int) -> list[str]:
        """if TEST / then VALUE / else OTHER, an `else if` chain kept flat at one indentation."""
        result = _prefixed("if ", self.lines(node.test, width - 3))
        result += _prefixed("then ", self.lines(node.then, width - 5))
        otherwise = node.otherwise
        if isinstance(otherwise, ast.Conditional):
            chained = self.conditional_lines(otherwise, width - 5)
            return [*result, "else " + chained[0], *chained[1:]]
        return result + _prefixed("else ", self.lines(otherwise, width - 5))

    def binary_lines(self, node: ast.Binary, width: int) -> list[str]:
        """LEFT / OP RIGHT, a left-associative chain of one operator broken before each operator."""
        left, right = _OPERANDS[level(node)]
        result = self.operand_lines(node.left, left, width)
        right_lines = self.operand_lines(node.right, right, width - len(node.symbol) - 1)
        return result + _prefixed(node.symbol + " ", right_lines)

    def bracketed(self, opening: str, items: tuple[ast.Expr, ...], closing: str, width: int) -> list[str]:
        result = [opening]
        for number, item in enumerate(items):
            item_lines = self.lines(item, width - 2)
            if number < len(items) - 1:
                item_lines[-1] += ","
            result.extend("  " + line for line in item_lines)
        return [*result, closing]


def _prefixed(prefix: str, lines: list[str]) -> list[str]:
    """The first line after `prefix`, the others indented two spaces under it."""
    return [prefix + lines[0], *("  " + line for line in lines[1:])]


def format_number(value: Decimal) -> str:
    """A number as the grammar writes it: plain digits, never an exponent (`1E-7` is `0.0000001`)."""
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


_ESCAPED = {"\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def quote(value: str) -> str:
    """Text as a string literal: double quotes unless the text holds a double quote and no single one."""
    mark = "'" if '"' in value and "'" not in value else '"'
    escaped = "".join(_ESCAPED.get(char, "\\" + char if char == mark else char) for char in value)
    return f"{mark}{escaped}{mark}"


_STRINGS_OR_COMMENT = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|#""")


def has_comment(text: str) -> bool:
    """Whether expression text holds a `#` comment (outside string literals), which printing would drop."""
    return any(match.group() == "#" for match in _STRINGS_OR_COMMENT.finditer(text))
