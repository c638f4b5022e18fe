"""Expression text → AST. The only module that imports Lark.

Input: an expression's text and a function mapping a character offset to a `Span` in the spec file (so columns
point inside the YAML value). Output: an `ast.Expr`, or `ExpressionError` carrying `expr-syntax`, `expr-too-long` or
`expr-too-deep` diagnostics. Lark's own exceptions never leave this module.

The grammar (grammar.lark) is loaded once, LALR, with Lark's on-disk cache, and the AST is built by an inline
transformer while parsing, so no parse tree is kept and no recursion depth grows with the expression.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from typing import Any

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ceruleng.errors import Diagnostic, ExpressionError
from ceruleng.expr import ast
from ceruleng.source import Span

MAX_LENGTH = 2000
"""Longest expression accepted, in characters; policy formulas are a line or two."""
MAX_DEPTH = 48
"""Deepest nesting accepted; keeps checking and code generation far from Python's recursion limit."""

Locate = Callable[[int], Span]

_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "text in quotes",
    "$END": "the end of the expression",
}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(r"\\(.)")


class _Builder(Transformer[Token, Any]):
    """Builds AST nodes while the LALR parser reduces; `locate` is set for the duration of one parse."""

    locate: Locate

    def _at(self, item: Token | ast.Expr) -> Span:
        return item.span if isinstance(item, ast.Expr) else self.locate(item.start_pos or 0)

    def number(self, c: list[Token]) -> ast.Expr:
        return ast.Number(self._at(c[0]), Decimal(str(c[0])))

    def string(self, c: list[Token]) -> ast.Expr:
        return ast.String(self._at(c[0]), _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), str(c[0])[1:-1]))

    def true(self, c: list[Token]) -> ast.Expr:
        return ast.Boolean(self._at(c[0]), True)

    def false(self, c: list[Token]) -> ast.Expr:
        return ast.Boolean(self._at(c[0]), False)

    def name(self, c: list[Token]) -> ast.Expr:
        return ast.Name(self._at(c[0]), str(c[0]))

    def list_(self, c: list[Any]) -> ast.Expr:
        return ast.ListOf(self._at(c[0]), tuple(c[1] or ()))

    def atom(self, c: list[Any]) -> ast.Expr:
        """atom: "(" expr ")" — parentheses only group."""
        node: ast.Expr = c[1]
        return node

    def arguments(self, c: list[Any]) -> list[ast.Expr]:
        return [item for item in c if isinstance(item, ast.Expr)]

    def call(self, c: list[Any]) -> ast.Expr:
        return ast.Call(self._at(c[0]), str(c[0]), tuple(c[2] or ()))

    def field(self, c: list[Any]) -> ast.Expr:
        return ast.Field(self._at(c[2]), c[0], str(c[2]))

    def index(self, c: list[Any]) -> ast.Expr:
        return ast.Index(self._at(c[1]), c[0], c[2])

    def neg(self, c: list[Any]) -> ast.Expr:
        return ast.Neg(self._at(c[0]), c[1])

    def not_op(self, c: list[Any]) -> ast.Expr:
        return ast.Not(self._at(c[0]), c[1])

    def conditional(self, c: list[Any]) -> ast.Expr:
        return ast.Conditional(self._at(c[0]), c[1], c[3], c[5])

    def not_in(self, c: list[Any]) -> ast.Expr:
        return ast.NotIn(self._at(c[1]), c[0], c[3])


def _binary(node_type: type[ast.Binary]) -> Callable[[_Builder, list[Any]], ast.Expr]:
    def build(self: _Builder, c: list[Any]) -> ast.Expr:
        return node_type(self._at(c[1]), c[0], c[2])

    build.__doc__ = node_type.__doc__
    return build


for _rule, _node in {
    "add": ast.Add, "sub": ast.Sub, "mul": ast.Mul, "div": ast.Div,
    "eq": ast.Eq, "ne": ast.Ne, "lt": ast.Lt, "le": ast.Le, "gt": ast.Gt, "ge": ast.Ge,
    "in_op": ast.In, "and_op": ast.And, "or_op": ast.Or,
}.items():  # fmt: skip
    setattr(_Builder, _rule, _binary(_node))

_lock = threading.Lock()
_builder = _Builder()
_parser: Lark | None = None


def _get_parser() -> Lark:
    global _parser  # noqa: PLW0603 - built once per process, on first use, so `ceruleng --help` never pays for it
    if _parser is None:
        grammar = resources.files("ceruleng.expr").joinpath("grammar.lark").read_text(encoding="utf-8")
        _parser = Lark(
            grammar,
            parser="lalr",
            keep_all_tokens=True,
            maybe_placeholders=True,
            transformer=_builder,
            cache=True,
        )
    return _parser


def terminal_words() -> dict[str, str]:
    """Lark terminal name → how a person would write it (`'('`, `a number`), for syntax messages."""
    words = dict(_TERMINAL_WORDS)
    for terminal in _get_parser().terminals:
        if terminal.name not in words and isinstance(terminal.pattern, lark.lexer.PatternStr):
            words[terminal.name] = f"'{terminal.pattern.value}'"
    return words


def parse(text: str, locate: Locate) -> ast.Expr:
    """Parse one expression. Raises `ExpressionError` with the position of the first problem."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            [Diagnostic("expr-too-long", f"expression is {len(text)} characters long (limit {MAX_LENGTH})",
                        locate(0), hint="split it into named steps under 'let'")]
        )
    if not text.strip():
        raise ExpressionError([Diagnostic("expr-syntax", "expression is empty", locate(0))])
    parser = _get_parser()
    with _lock:
        _builder.locate = locate
        try:
            tree = parser.parse(text)
        except UnexpectedInput as exc:
            raise ExpressionError([_syntax_error(exc, text, locate)]) from None
    assert isinstance(tree, ast.Expr), tree
    node: ast.Expr = tree
    if ast.depth(node) > MAX_DEPTH:
        raise ExpressionError(
            [Diagnostic("expr-too-deep", f"expression nests deeper than {MAX_DEPTH} levels", locate(0),
                        hint="split it into named steps under 'let'")]
        )
    return node


def _syntax_error(exc: UnexpectedInput, text: str, locate: Locate) -> Diagnostic:
    words = terminal_words()
    if isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream or 0
        found = text[offset]
        return Diagnostic("expr-syntax", f"unexpected character '{found}'", locate(offset),
                          hint=_character_hint(text, offset))
    keyword = _keyword_hint(text, exc.token.start_pos or 0, str(exc.token)) \
        if isinstance(exc, UnexpectedToken) and exc.token.type != "$END" else None
    after_number = isinstance(exc, UnexpectedToken) and text[: exc.token.start_pos].rstrip()[-1:].isdigit()
    if isinstance(exc, UnexpectedToken) and exc.token.type == "NAME" and after_number and keyword is None:
        return Diagnostic("expr-syntax", f"unexpected '{exc.token}' after a number", locate(exc.token.start_pos or 0),
                          hint="numbers are written as plain decimals (1500, 0.25), without exponents or units")
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        offset = exc.token.start_pos or 0
        expected = _expected(exc.expected, words)
        return Diagnostic("expr-syntax", f"unexpected '{exc.token}'{expected}", locate(offset),
                          hint=keyword or _token_hint(str(exc.token)))
    assert isinstance(exc, UnexpectedToken | UnexpectedEOF)
    expected = _expected({str(name) for name in exc.expected}, words)
    return Diagnostic("expr-syntax", f"expression ends too early{expected}", locate(len(text.rstrip())))


def _expected(names: set[str] | list[str], words: dict[str, str]) -> str:
    wanted = sorted({words.get(name, name.lower()) for name in names})
    if not wanted or len(wanted) > 6:
        return ""
    return "; expected " + ", ".join(wanted[:-1]) + (" or " if len(wanted) > 1 else "") + wanted[-1]


_KEYWORDS = ("and", "or", "not", "in", "if", "then", "else", "true", "false")
_WORD_BEFORE = re.compile(r"([A-Za-z_]+)\s*$")


def _keyword_hint(text: str, offset: int, token: str) -> str | None:
    """`AND`, `Or`, `NOT x`: a keyword written in capitals is read as a name."""
    before = _WORD_BEFORE.search(text[:offset])
    for word in (token, before[1] if before else ""):
        if word.lower() in _KEYWORDS and word != word.lower():
            return f"write '{word.lower()}' in lower case ('{word}' is read as a name)"
    return None


def _character_hint(text: str, offset: int) -> str | None:
    pair = text[offset : offset + 2]
    if pair in ("&&", "||"):
        word = "and" if pair == "&&" else "or"
        return f"write '{word}' instead of '{pair}' (keywords are words, in lower case)"
    if text[offset] == "=":
        return "compare with '==' (there is no assignment)"
    if text[offset] == "!":
        return "write 'not x' or 'a != b'"
    if text[offset] == "%":
        return "there is no '%'; use round(), floor() or arithmetic"
    if text[offset] in "\"'":
        return f"text in quotes must end with the quote it starts with ({text[offset]})"
    return None


def _token_hint(token: str) -> str | None:
    if token in ("if", "else"):
        return "a conditional is written: if CONDITION then VALUE else OTHER"
    if token in ("<", "<=", ">", ">=", "==", "!="):
        return "comparisons cannot be chained: write a < b and b < c"
    return None
