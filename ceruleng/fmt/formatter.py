"""`ceruleng fmt`: a spec's text → its canonical layout, with every comment, key order and value kept.

Input: a spec file's text. Output: `Formatted` — the canonical text, or why the file was skipped (it is not a
spec) or refused (it cannot be read, or formatting it would change something).

What changes: indentation (two spaces a level, list dashes indented under their key), expressions printed from
their parsed tree (`ceruleng.fmt.printer`: canonical spacing, minimal parentheses, double-quoted text) and quoted
only when YAML needs it, expressions too wide for a line broken at their loosest operators into a `|-` block, flow
collections (`{...}`, `[...]`) that do not fit in 120 columns written as block ones, and `null` spelt out. What
never changes: comments, blank lines, key order, the text of every other value (titles, quotes, reasons, explain
templates — sentences are the author's), how other values were quoted, and the long lines of prose.

Why a second YAML library: PyYAML (`ceruleng.yamlsrc`) reads, but cannot write a file back with its comments;
ruamel.yaml's round-trip mode can, so it is used here and only here (the `fmt` extra). Nothing is trusted: the
new text is read again with ceruleng's own loader and must hold the same data (expressions: the same parsed tree)
and the same comments, in the same order, or the file is refused and left as it was.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from ceruleng.errors import CerulengError, ExpressionError
from ceruleng.expr import ast, parser
from ceruleng.files import looks_like_spec, read_spec_source
from ceruleng.fmt.printer import has_comment, layout, print_expr
from ceruleng.schema import load_schema
from ceruleng.source import Span
from ceruleng.yamlsrc import Path, comments, load_yaml

WIDTH = 120
"""The line length the layout aims at (the project's own)."""
INDENT = 2

EXPRESSION_REF = "#/$defs/expression"
"""How the spec schema marks a value that is an expression (reasons and explain texts are `template`s: sentences,
not expressions, and are left as written)."""


@cache
def expression_paths() -> tuple[tuple[str, ...], ...]:
    """Where a spec holds expressions (`*` any key, `#` any list item), read from the spec schema — the one place
    that says which values are expressions, so a new kind of rule is formatted as soon as the schema has it."""
    schema = load_schema("spec")
    definitions = schema.get("$defs", {})
    found: list[tuple[str, ...]] = []
    pending: list[tuple[Any, tuple[str, ...], frozenset[str]]] = [(schema, (), frozenset())]
    while pending:
        node, at, entered = pending.pop()
        if not isinstance(node, dict):
            continue
        reference = node.get("$ref")
        if reference == EXPRESSION_REF:
            found.append(at)
        elif isinstance(reference, str) and reference.startswith("#/$defs/"):
            name = reference.removeprefix("#/$defs/")
            if name not in entered:  # a definition inside itself (a nested window) adds no new place
                pending.append((definitions.get(name), at, entered | {name}))
        for key, child in (node.get("properties") or {}).items():
            pending.append((child, (*at, key), entered))
        if isinstance(node.get("additionalProperties"), dict):
            pending.append((node["additionalProperties"], (*at, "*"), entered))
        if isinstance(node.get("items"), dict):
            pending.append((node["items"], (*at, "#"), entered))
        for branch in (*node.get("oneOf", ()), *node.get("anyOf", ()), *node.get("allOf", ())):
            pending.append((branch, at, entered))
    return tuple(sorted(set(found)))


@dataclass(frozen=True)
class Formatted:
    """The outcome of formatting one file: the canonical text, or why the file was skipped or refused."""

    path: str
    original: str | None
    text: str | None = None
    skipped: str | None = None
    """Why the file is not formatted because it is not a spec (a member log kept beside specs)."""
    problem: str | None = None
    """Why the file cannot be formatted safely; it is left as it is."""

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.original


def is_expression_path(path: Path) -> bool:
    return any(_matches(pattern, path) for pattern in expression_paths())


def _matches(pattern: tuple[str, ...], path: Path) -> bool:
    if len(pattern) != len(path):
        return False
    for want, got in zip(pattern, path, strict=True):
        if want == "#":
            if not isinstance(got, int):
                return False
        elif want == "*":
            if not isinstance(got, str):
                return False
        elif want != got:
            return False
    return True


def format_file(path: str) -> Formatted:
    """Read and format one file (nothing is written: the caller decides)."""
    found = read_spec_source(path)
    if not isinstance(found, tuple):
        return Formatted(path, None, problem=f"{found.span}: {found.message}")
    raw, text = found
    if not looks_like_spec(raw):
        return Formatted(path, text, skipped="not a spec (no 'ceruleng:' key at the top level)")
    return format_text(text, path)


def format_text(text: str, path: str) -> Formatted:
    """The canonical layout of a spec's text, checked to hold the same data and comments as the original. Lines
    keep the ending the file uses (CR LF, or a CR alone): the layout is made with LF and given the file's back, as
    the YAML writer would otherwise end the lines it writes with LF and the comments it keeps with the original."""
    ending = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
    if ending == "\n":
        return _format_lf(text, path)
    formatted = _format_lf(text.replace("\r\n", "\n").replace("\r", "\n"), path)
    if formatted.text is not None and not formatted.problem and not formatted.skipped:
        return Formatted(path, text, text=formatted.text.replace("\n", ending))
    return Formatted(path, text, problem=formatted.problem, skipped=formatted.skipped)


def _format_lf(text: str, path: str) -> Formatted:
    document, diagnostics = load_yaml(text, path)
    errors = [d for d in diagnostics if d.is_error]
    if document is None or errors:
        first = errors[0]
        return Formatted(path, text, problem=f"{first.span}: {first.message} (fix what `ceruleng check` reports "
                                             "first)")
    if not isinstance(document.data, dict) or "ceruleng" not in document.data:
        return Formatted(path, text, skipped="not a spec (no 'ceruleng:' key at the top level)")
    try:
        new_text = _round_trip(text)
    except Exception as exc:  # any failure of the YAML writer means: refuse, never damage
        return Formatted(path, text, problem=f"cannot format this file without risk ({type(exc).__name__}: "
                                             f"{' '.join(str(exc).split())[:200]})")
    problem = _differences(text, new_text, path)
    if problem is not None:
        return Formatted(path, text, problem=f"formatting would change the file ({problem}); it is left as it is")
    return Formatted(path, text, text=new_text)


# ---- the round trip ------------------------------------------------------------------------------------------------


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-wrap the author's lines; only expressions and flow collections are laid out
    yaml.indent(mapping=INDENT, sequence=INDENT + 2, offset=INDENT)
    yaml.representer.add_representer(type(None), _represent_null)
    return yaml


def _represent_null(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _round_trip(text: str) -> str:
    yaml = _yaml()
    data = yaml.load(text)
    _Layout(yaml).mapping(data, (), 0)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


class _Layout:
    """Walks the round-trip tree with the column each key will have in the canonical layout, rewriting
    expressions and turning flow collections that would be too wide into block ones."""

    def __init__(self, yaml: Any) -> None:
        self.yaml = yaml

    def mapping(self, node: Any, at: Path, column: int, in_flow: bool = False) -> None:
        for key in list(node):
            self.value(node, key, (*at, str(key)), column, column + len(str(key)) + 2, in_flow)

    def sequence(self, node: Any, at: Path, column: int, in_flow: bool = False) -> None:
        """`column` is where the items' content starts (after `- `)."""
        for index in range(len(node)):
            self.value(node, index, (*at, index), column, column, in_flow)

    def value(self, parent: Any, key: Any, at: Path, column: int, value_column: int, in_flow: bool) -> None:
        """`column`: where the key (or the item) starts; `value_column`: where a value on the same line starts."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        value = parent[key]
        if isinstance(value, CommentedMap | CommentedSeq):
            flow = in_flow or self.stays_flow(value, value_column)
            nested = column + INDENT if isinstance(value, CommentedMap) else column + 2 * INDENT
            if isinstance(parent, CommentedSeq) and not in_flow:
                nested = column + (0 if isinstance(value, CommentedMap) else INDENT)
            if isinstance(value, CommentedMap):
                self.mapping(value, at, nested, flow)
            else:
                self.sequence(value, at, nested, flow)
        elif isinstance(value, str) and is_expression_path(at):
            rewritten = self.expression(value, column, value_column, in_flow)
            if rewritten is not None:
                parent[key] = rewritten

    def stays_flow(self, node: Any, value_column: int) -> bool:
        """A flow collection stays one when it fits on its line; a wider one becomes a block collection."""
        if not node.fa.flow_style():
            return False
        out = io.StringIO()
        self.yaml.dump(node, out)
        written = out.getvalue().rstrip("\n")
        if "\n" not in written and value_column + len(written) <= WIDTH:
            return True
        node.fa.set_block_style()
        return False

    def expression(self, text: str, column: int, value_column: int, in_flow: bool) -> Any:
        from ruamel.yaml.scalarstring import LiteralScalarString, PlainScalarString

        if has_comment(text):
            return None  # printing from the tree would drop the comment: keep the author's text
        try:
            node = _parse(text)
        except ExpressionError:
            return None  # `check` reports it; formatting must not hide it
        flat = print_expr(node)
        if in_flow or value_column + len(flat) + 2 <= WIDTH:
            return PlainScalarString(flat)  # the writer quotes it only where YAML needs quotes
        lines = layout(node, WIDTH - column - INDENT)
        return PlainScalarString(flat) if len(lines) == 1 else LiteralScalarString("\n".join(lines))


def _parse(text: str) -> ast.Expr:
    return parser.parse(text, lambda offset: Span("<fmt>", 1, offset + 1))


# ---- nothing changed but the layout ----------------------------------------------------------------------------


def _differences(old_text: str, new_text: str, path: str) -> str | None:
    """What differs between the two texts beyond layout, or None: the data (expressions by their tree), key order,
    and the comments."""
    old, _ = load_yaml(old_text, path)
    new, diagnostics = load_yaml(new_text, path)
    if new is None or any(d.is_error for d in diagnostics):
        return "the result would not read back as the same YAML"
    assert old is not None
    for where in _data_differences(old.data, new.data, ()):
        return f"the value at {'.'.join(map(str, where)) or 'the top'} would change"
    before, after = comments(old_text), comments(new_text)
    if before is None or after is None or [c for _, c in before] != [c for _, c in after]:
        return "a comment would be lost or changed"
    return None


def _data_differences(old: Any, new: Any, at: Path) -> Iterator[Path]:
    if isinstance(old, dict) and isinstance(new, dict):
        if list(old) != list(new):
            yield at
            return
        for key in old:
            yield from _data_differences(old[key], new[key], (*at, key))
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            yield at
            return
        for index, (left, right) in enumerate(zip(old, new, strict=True)):
            yield from _data_differences(left, right, (*at, index))
    elif type(old) is not type(new):
        yield at
    elif isinstance(old, str) and old != new:
        if not (is_expression_path(at) and _same_expression(old, new)):
            yield at
    elif old != new:
        yield at


def _same_expression(old: str, new: str) -> bool:
    try:
        return _parse(old) == _parse(new)
    except CerulengError:
        return False
