"""Expression text → AST. The only module that imports Lark.

Input: an expression's text and a function mapping a character offset to a `Span` in the spec file (so columns
point inside the YAML value). Output: an `ast.Expr`, or `ExpressionError` carrying `expr-syntax`, `expr-too-long` or
`expr-too-deep` diagnostics. Lark's own exceptions never leave this module.

The grammar (grammar.lark) is loaded once, LALR, and the AST is built by an inline transformer while parsing, so
no parse tree is kept and no recursion depth grows with the expression.

Where the parser comes from: never from Lark's on-disk cache (`cache=True` pickles the parser into the shared
temporary folder under a predictable name, and `pickle.load`s whatever it finds there: anyone who can write that
folder could run code as the user). Instead the LALR tables ship inside the package as JSON, `parse_tables.json`,
generated from grammar.lark (`write_tables()`; a test keeps the two in step): data that `json` reads, which cannot
run anything. They are used only when their recorded fingerprint (the grammar's text, the options, Lark's version)
matches the grammar and Lark in use; otherwise the parser is built from the grammar itself (about 40 ms), still
without any cache. Loading the tables takes a few milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ceruleng.errors import Diagnostic, ExpressionError
from ceruleng.expr import ast
from ceruleng.source import Span
from ceruleng.values import MAX_PLACES, checked_decimal, format_number

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


_OPTIONS: dict[str, Any] = {"parser": "lalr", "keep_all_tokens": True, "maybe_placeholders": True}


def _grammar() -> str:
    return resources.files("ceruleng.expr").joinpath("grammar.lark").read_text(encoding="utf-8")


def _fingerprint(grammar: str) -> str:
    """What the shipped tables must have been built from: the grammar's text, the options, Lark's version."""
    return hashlib.sha256(f"{grammar}|{sorted(_OPTIONS.items())}|{lark.__version__}".encode()).hexdigest()


def _get_parser() -> Lark:
    global _parser  # noqa: PLW0603 - built once per process, on first use, so `ceruleng --help` never pays for it
    if _parser is None:
        grammar = _grammar()
        tables = _shipped_tables()
        if tables.get("fingerprint") == _fingerprint(grammar):
            _parser = Lark._load_from_dict(  # type: ignore[no-untyped-call]  # Lark leaves it unannotated
                _decoded(tables["data"]), _decoded(tables["memo"]), transformer=_builder)
        else:  # the grammar was edited, or another Lark is installed: build from the grammar (never a cache)
            _parser = Lark(grammar, transformer=_builder, cache=False, **_OPTIONS)
    return _parser


_TABLES = "parse_tables.json"


def _shipped_tables() -> dict[str, Any]:
    try:
        tables = json.loads(resources.files("ceruleng.expr").joinpath(_TABLES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return tables if isinstance(tables, dict) else {}


def _encoded(value: Any) -> Any:
    """Lark's serialised parser → JSON: tuples and dicts with non-text keys are tagged so they come back as such."""
    if isinstance(value, dict):
        if all(isinstance(key, str) and not key.startswith("#") for key in value):
            return {key: _encoded(item) for key, item in value.items()}
        return {"#d": [[_encoded(key), _encoded(item)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"#t": [_encoded(item) for item in value]}
    if isinstance(value, list):
        return [_encoded(item) for item in value]
    return value


def _decoded(value: Any) -> Any:
    """The inverse of `_encoded`."""
    if isinstance(value, dict):
        if len(value) == 1 and "#d" in value:
            return {_decoded(key): _decoded(item) for key, item in value["#d"]}
        if len(value) == 1 and "#t" in value:
            return tuple(_decoded(item) for item in value["#t"])
        return {key: _decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def tables_source() -> str:
    """The text of parse_tables.json for the current grammar and Lark.

    Lark numbers the symbols in an order that differs from run to run, so two generations differ in their bytes;
    they are the same automaton, which is what tests/test_parser_tables.py checks (the shipped tables parse every
    expression of a corpus, and random text, exactly as a parser built from the grammar does).
    """
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    grammar = _grammar()
    data, memo = Lark(grammar, cache=False, **_OPTIONS).memo_serialize([TerminalDef, Rule])
    tables = {"about": "The expression parser's LALR tables, generated from grammar.lark by "
                       "ceruleng.expr.parser.write_tables(); do not edit.",
              "fingerprint": _fingerprint(grammar), "data": _encoded(data), "memo": _encoded(memo)}
    return json.dumps(tables, separators=(",", ":")) + "\n"


def write_tables() -> Path:
    """Regenerate parse_tables.json beside this module (after editing grammar.lark or upgrading Lark)."""
    target = Path(__file__).with_name(_TABLES)
    target.write_text(tables_source(), encoding="utf-8")
    return target


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
    out_of_range = list(_numbers_out_of_range(node))
    if out_of_range:
        raise ExpressionError(out_of_range)
    return node


def _numbers_out_of_range(node: ast.Expr) -> Iterator[Diagnostic]:
    """Number literals outside the range every number obeys (the same bound as spec and record numbers)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Number):
            try:
                checked_decimal(current.value)
            except ValueError as exc:
                digits = len(current.value.as_tuple().digits)
                shown = f"a number of {digits:,} digits" if digits > 40 else format_number(current.value)
                yield Diagnostic("number-out-of-range", f"{shown} {exc}", current.span,
                                 hint=f"a spec number is below 10**12 and has at most {MAX_PLACES} decimal places")
        stack.extend(ast.children(current))


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
