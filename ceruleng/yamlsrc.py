"""Stage 1, load: YAML text → plain data with the position of every node.

Input: bytes or text of a spec or an activity file. Output: a `LoadedDocument` (dicts, lists, str, int, Decimal, bool,
None) with a span for every value and every mapping key, plus diagnostics. This is the only module that touches YAML.

Why not `yaml.safe_load`: it turns `1.5` into a float (we never hold a float), `2025-02-11` into a date before the spec
says how to read dates, `no` into False (YAML 1.1), silently keeps the last of two duplicate keys, and expands alias
bombs without limit. Here the C parser (when built) composes the node graph and a small walker builds the values:
YAML 1.2 core scalars only, numbers as `Decimal` from their text, duplicate keys, merge keys and non-core tags
reported, nesting depth and alias expansion bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from msgspec import Struct, field
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from ceruleng.errors import Diagnostic
from ceruleng.source import SourceText, Span
from ceruleng.surrogates import LONE_SURROGATE, UnencodableText, escape_surrogates
from ceruleng.values import int_or_decimal, parse_number_text

try:  # the C parser is ~3x faster; the pure-Python one is a correct fallback
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]  # not re-exported in the stubs
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

Path = tuple[str | int, ...]

MAX_DEPTH = 100
"""Deepest nesting accepted; real specs and activity files stay under 10 levels."""

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_ALLOWED_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP}


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema: decimal numbers, true/false, null. Dates, `yes`, `0x10`, `1_000` stay text."""


_CORE_FORMS = {
    _BOOL: re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    _INT: re.compile(r"^[-+]?[0-9]+$"),
    _FLOAT: re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    _NULL: re.compile(r"^(?:~|null|Null|NULL|)$"),
}
"""How each core type is written (ASCII digits only: `[0-9]` never matches another script's digits)."""
_CoreResolver.add_implicit_resolver(_BOOL, _CORE_FORMS[_BOOL], list("tTfF"))
_CoreResolver.add_implicit_resolver(_INT, _CORE_FORMS[_INT], list("-+0123456789"))
_CoreResolver.add_implicit_resolver(_FLOAT, _CORE_FORMS[_FLOAT], list("-+0123456789."))
_CoreResolver.add_implicit_resolver(_NULL, _CORE_FORMS[_NULL], ["~", "n", "N", ""])


class _Loader(_Parser, _CoreResolver):
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _CoreResolver.__init__(self)


class ScalarSource(Struct, frozen=True):
    """Where a text scalar's characters stand in the file, so expression columns can be mapped back."""

    start: int
    end: int
    style: str | None


class LoadedDocument(Struct):
    """A YAML document as plain data plus positions, keyed by path (a tuple of keys and list indexes)."""

    source: SourceText
    data: Any
    spans: dict[Path, Span] = field(default_factory=dict)
    key_spans: dict[Path, Span] = field(default_factory=dict)
    scalars: dict[Path, ScalarSource] = field(default_factory=dict)

    def span(self, path: Path) -> Span:
        """The span of the value at `path`, or of its nearest ancestor that has one."""
        while path not in self.spans and path:
            path = path[:-1]
        return self.spans.get(path, Span(self.source.path, 1, 1))

    def key_span(self, path: Path) -> Span:
        """The span of the key that names `path` (falls back to the value's span)."""
        return self.key_spans.get(path) or self.span(path)

    def span_in_scalar(self, path: Path, offset: int) -> Span:
        """The span of character `offset` (0-based) of the text value at `path`.

        Exact for plain, quoted (without escapes) and literal block scalars; otherwise the scalar's start, which is
        still the right line for one-line values.
        """
        info = self.scalars.get(path)
        value = self.data_at(path)
        if info is None or not isinstance(value, str):
            return self.span(path)
        raw = self.source.text[info.start : info.end]
        if info.style in (None, "") and raw == value:
            return self.source.span_at(info.start + offset)
        if info.style in ("'", '"') and raw[1:-1] == value:
            return self.source.span_at(info.start + 1 + offset)
        if info.style in ("|", ">"):
            return self._span_in_block(info, value, offset)
        return self.span(path)

    def _span_in_block(self, info: ScalarSource, value: str, offset: int) -> Span:
        line_in_value = value.count("\n", 0, offset)
        column_in_line = offset - (value.rfind("\n", 0, offset) + 1)
        header = self.source.span_at(info.start)
        raw_lines = self.source.text[info.start : info.end].split("\n")[1:]
        content = [line for line in raw_lines if line.strip()]
        indent = len(content[0]) - len(content[0].lstrip(" ")) if content else 0
        return Span(self.source.path, header.line + 1 + line_in_value, indent + column_in_line + 1)

    def data_at(self, path: Path) -> Any:
        node = self.data
        for key in path:
            node = node[key]
        return node


def load_yaml(text: str, path: str) -> tuple[LoadedDocument | None, list[Diagnostic]]:
    """Parse one YAML document. Returns (None, diagnostics) when the text is not YAML at all."""
    source = SourceText(path, text)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_diagnostic(exc, source)]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_diagnostic(exc, source)]
    except yaml.YAMLError as exc:
        return None, [Diagnostic("yaml-syntax", _one_line(str(exc)), Span(path, 1, 1))]
    except RecursionError:
        return None, [_too_deep(Span(path, 1, 1))]
    document = LoadedDocument(source=source, data=None)
    if root is None:
        return document, []
    builder = _Builder(document, budget=2 * len(text) + 10_000)
    document.data = builder.build(root, (), 0)
    return document, builder.diagnostics


def _reader_diagnostic(exc: yaml.reader.ReaderError, source: SourceText) -> Diagnostic:
    """A character YAML does not allow (NUL, another control character, U+FFFE), at its line and column. libyaml
    gives only its offset in the UTF-8 bytes it was fed, so that offset is turned back into a character index."""
    index = exc.position
    if isinstance(exc.position, int) and not source.text.isascii():
        index = len(source.text.encode("utf-8", "surrogatepass")[: exc.position].decode("utf-8", "ignore"))
    span = source.span_at(min(max(index, 0), len(source.text))) if isinstance(index, int) else Span(source.path, 1, 1)
    character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
    return Diagnostic("yaml-syntax", f"character {character} is not allowed in YAML ({exc.reason})", span,
                      hint="delete it; in a double-quoted string it can be written as an escape such as \\x00")


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, source: SourceText) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    span = Span(source.path, mark.line + 1, mark.column + 1) if mark else Span(source.path, 1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if "nesting depth" in problem:  # newer libyaml bounds nesting itself, before our builder sees the tree
        return _too_deep(span)
    hint = None
    if "\t" in source.line(span.line)[: span.column] or "tab" in problem:
        hint = "YAML indentation must use spaces, not tabs"
    else:
        hint = _mistake_hint(problem, exc, source, span) or exc.context
    return Diagnostic("yaml-syntax", _one_line(problem), span, hint=hint)


# ---- hints for the most common YAML mistakes: say what to type --------------------------------------------------

_KEY_LINE = re.compile(r"^(?P<lead>\s*(?:-\s+)*)(?P<key>[^\s#'\"\[{][^#]*?|\"[^\"]*\"|'[^']*')"
                       r":(?:\s+(?P<value>.*?))?\s*$")
"""A `key: value` line (the key possibly after list dashes); `value` is None for a key alone on its line."""
_INDICATORS = {"@": "'@'", "`": "a backtick", "%": "'%'", "*": "'*'", "&": "'&'", "!": "'!'", "|": "'|'",
               ">": "'>'"}


def _mistake_hint(problem: str, exc: yaml.MarkedYAMLError, source: SourceText, span: Span) -> str | None:
    """A hint that says what to type, for the mistakes policy writers make most; None for the others."""
    line = source.line(span.line)
    context = exc.context or ""
    if problem.startswith("mapping values are not allowed"):
        return _colon_hint(source, span)
    if problem.startswith(("did not find expected key", "did not find expected '-' indicator",
                           "expected <block end>")):  # the last: PyYAML's pure-Python parser
        return _after_value_hint(line, span) or _alignment_hint(source, span)
    if (problem.startswith("found character") and "cannot start any token" in problem) or \
            problem.startswith("found undefined alias"):
        return _indicator_hint(line, span)
    opened = exc.context_mark
    if "quoted scalar" in context and opened is not None:
        return (f"the quote opened at line {opened.line + 1}, column {opened.column + 1} is never closed: end the "
                "value with the same quote")
    if "flow" in context and opened is not None:
        closing = "]" if "sequence" in context else "}"
        return f"close the {'list' if closing == ']' else 'mapping'} opened at line {opened.line + 1}, column " \
               f"{opened.column + 1} with '{closing}' (or quote the value if the bracket is text)"
    return None


def _quoted(value: str) -> str:
    """A value in the quotes that need no escaping inside it."""
    if '"' not in value and "\\" not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"


def _colon_hint(source: SourceText, span: Span) -> str | None:
    """`reason: Note: this` (a value holding ': '), or a key indented under a value it cannot belong to."""
    match = _KEY_LINE.match(source.line(span.line))
    if match is None:
        return None
    value = match["value"]
    if value is not None and match.start("value") < span.column - 1:
        return (f"quote the value: it holds ': ', which YAML reads as the start of another key — write: "
                f"{match['lead'].lstrip()}{match['key']}: {_quoted(value)}")
    above = _line_above(source, span.line)
    if above is None:
        return None
    number, text = above
    previous = _KEY_LINE.match(text)
    own = match.start("key")
    if previous is not None and previous["value"] and own > previous.start("key"):
        return (f"align '{match['key']}' with '{previous['key']}' on line {number}: indent it "
                f"{previous.start('key')} spaces, not {own} (only a key with nothing after its ':' can have keys "
                "under it)")
    if ": " not in text and re.search(r"\S:\S", text):
        fixed = re.sub(r"(\S):(\S)", r"\1: \2", text.strip(), count=1)
        return f"put a space after the ':' on line {number} — write: {fixed}"
    return None


def _alignment_hint(source: SourceText, span: Span) -> str | None:
    """A key or a list dash indented differently from its siblings: align it with the nearest line above that
    starts the same way at the indentation closest to its own (its likely sibling)."""
    line = source.line(span.line)
    dash = re.match(r"^(\s*)-\s", line)
    own = len(dash[1]) if dash else None
    key = _KEY_LINE.match(line)
    if dash is None and key is not None:
        own = key.start("key")
    if own is None:
        return None
    best: tuple[int, int, int, str] | None = None
    for number, text in _lines_above(source, span.line):
        if dash is not None:
            found = re.match(r"^(\s*)-\s", text)
            column, name = (len(found[1]), "-") if found else (None, "")
        else:
            found = _KEY_LINE.match(text)
            column, name = (found.start("key"), found["key"]) if found else (None, "")
        if column is not None and (best is None or abs(column - own) < best[0]):
            best = (abs(column - own), number, column, name)
        if not text[:1].isspace():
            break  # a top-level key: the block ends here
    if best is None or best[2] == own:
        return None
    _, number, column, name = best
    what = "this '-' with the one" if dash is not None else f"'{key['key'] if key else ''}' with '{name}'"
    return f"align {what} on line {number}: indent it {column} spaces, not {own}"


def _lines_above(source: SourceText, number: int, limit: int = 200) -> Iterator[tuple[int, str]]:
    """The lines above `number` that hold something other than a comment, nearest first."""
    for above in range(number - 1, max(number - limit, 0), -1):
        text = source.line(above)
        if text.strip() and not text.lstrip().startswith("#"):
            yield above, text


def _after_value_hint(line: str, span: Span) -> str | None:
    """Text after a value's closing quote or bracket (`reason: "hi" there`, `explain: {credits} earned`)."""
    match = _KEY_LINE.match(line)
    if match is None or not match["value"] or match.start("value") >= span.column - 1:
        return None
    value = match["value"]
    if value[0] in "\"'":
        what = "its closing quote"
    elif value[0] in "[{":
        what = f"the '{']' if value[0] == '[' else '}'}' that closes it (a value starting with '{value[0]}' is " \
               f"read as a {'list' if value[0] == '[' else 'mapping'})"
    else:
        return None
    return (f"the value ends at {what}: quote the whole value — write: {match['lead'].lstrip()}{match['key']}: "
            f"{_quoted(value)}")


def _indicator_hint(line: str, span: Span) -> str | None:
    """A plain value starting with a character YAML reserves (`@`, a backtick, `%`, `*`)."""
    found = line[span.column - 1 : span.column]
    match = _KEY_LINE.match(line)
    if found not in _INDICATORS or match is None or not match["value"] or match.start("value") != span.column - 1:
        return None
    return (f"a value cannot start with {_INDICATORS[found]} unquoted — write: {match['lead'].lstrip()}"
            f"{match['key']}: {_quoted(match['value'])}")


def _line_above(source: SourceText, number: int) -> tuple[int, str] | None:
    """The nearest line above `number` that holds something other than a comment."""
    return next(_lines_above(source, number), None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _too_deep(span: Span) -> Diagnostic:
    return Diagnostic(
        "yaml-too-deep",
        f"nesting deeper than {MAX_DEPTH} levels",
        span,
        hint="specs and activity files need only a few levels; this looks generated or corrupt",
    )


def _span_of(node: Node, path: str) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Builder:
    """Walks the composed node graph into plain values, recording spans and collecting diagnostics."""

    def __init__(self, document: LoadedDocument, budget: int) -> None:
        self.document = document
        self.path = document.source.path
        self.diagnostics: list[Diagnostic] = []
        self.budget = budget
        self.built: set[int] = set()
        """Nodes already built once: meeting one again means an alias is being expanded."""
        self.reported: set[str] = set()
        """Codes said once per file however often they recur (an alias bomb, a cut subtree)."""

    def build(self, node: Node, at: Path, depth: int) -> Any:
        """The plain value of `node`. Past the alias budget, aliases stop expanding (null) and past the depth limit
        a subtree is cut (null), each reported once; everything else in the file is still built, so a reader can
        still list what the file holds (an activity file's activities are reported, never lost)."""
        self.budget -= 1
        if self.budget < 0 and id(node) in self.built:
            self._report_once(Diagnostic(
                "yaml-alias-bomb",
                "aliases expand to far more values than the file holds",
                _span_of(node, self.path),
                hint="an anchor is referenced so often that expanding it would exhaust memory",
            ))
            return None
        self.built.add(id(node))
        if depth > MAX_DEPTH:
            self._report_once(_too_deep(_span_of(node, self.path)))
            return None
        self.document.spans[at] = _span_of(node, self.path)
        if node.tag not in _ALLOWED_TAGS:
            self.diagnostics.append(
                Diagnostic(
                    "yaml-tag",
                    f"tag '{node.tag}' is not allowed",
                    _span_of(node, self.path),
                    hint="only plain YAML values (text, numbers, true/false, lists, mappings) are read",
                )
            )
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, at)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*at, index), depth + 1) for index, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        return self._mapping(node, at, depth)

    def _report_once(self, diagnostic: Diagnostic) -> None:
        if diagnostic.code not in self.reported:
            self.reported.add(diagnostic.code)
            self.diagnostics.append(diagnostic)

    def _scalar(self, node: ScalarNode, at: Path) -> Any:
        """A scalar's value. An explicit core tag is honoured only when its text is that type written plainly;
        otherwise (`!!int "0x1f"`, `!!int 2.5`, `!!float .inf`, `!!float xyz`, other scripts' digits, `1_000`)
        the scalar reads as if it had no tag, so a tag can never make a value what its spelling is not.
        Numbers are read from their text at any size (range checks come later, where the field is known)."""
        text: str = node.value
        tag = node.tag
        form = _CORE_FORMS.get(tag)
        if form is not None and not form.match(text):
            tag = _STR if node.style else self._plain_tag(text)
        if tag == _INT:
            return int_or_decimal(text)
        if tag == _FLOAT:
            return parse_number_text(text)
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _NULL:
            return None
        if not text.isascii() and LONE_SURROGATE.search(text):
            return UnencodableText(text)  # "\udc41" in a double-quoted scalar: not a character
        self.document.scalars[at] = ScalarSource(node.start_mark.index, node.end_mark.index, node.style)
        return text

    @staticmethod
    def _plain_tag(text: str) -> str:
        """The tag the core schema gives `text` written as a plain scalar."""
        return next((tag for tag in (_BOOL, _INT, _FLOAT, _NULL) if _CORE_FORMS[tag].match(text)), _STR)

    def _mapping(self, node: MappingNode, at: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            key_span = _span_of(key_node, self.path)
            if key in result:
                first = self.document.key_spans[(*at, key)]
                self.diagnostics.append(
                    Diagnostic(
                        "yaml-duplicate-key",
                        f"duplicate key '{key}' (first defined at line {first.line})",
                        key_span,
                        hint="each key may appear once in a mapping; the first one is kept",
                    )
                )
                continue
            self.document.key_spans[(*at, key)] = key_span
            result[key] = self.build(value_node, (*at, key), depth + 1)
        return result

    def _key(self, node: Node) -> str | None:
        if isinstance(node, ScalarNode) and node.value == "<<" and not node.style:
            self._bad_key(node, "merge keys ('<<') are not supported", "write the keys out, or use an alias")
            return None
        if not isinstance(node, ScalarNode):
            self._bad_key(node, "a mapping key must be plain text", None)
            return None
        key = str(node.value)
        return key if key.isascii() or not LONE_SURROGATE.search(key) else escape_surrogates(key)

    def _bad_key(self, node: Node, message: str, hint: str | None) -> None:
        self.diagnostics.append(Diagnostic("yaml-key", message, _span_of(node, self.path), hint=hint))


def comments(text: str) -> list[tuple[int, str]] | None:
    """Every comment of a YAML text, as (1-based line, text from '#' to the end of the line), in order; None when
    the text cannot be split into YAML tokens. A comment is a '#' between two tokens, so one inside a quoted or
    block scalar is not.

    `ceruleng fmt` compares the comments before and after formatting: a formatter must never drop one.
    """
    found: list[tuple[int, str]] = []
    try:
        loader = _Loader(text)
        try:
            end = 0
            while loader.check_token():
                token = loader.get_token()
                assert token is not None  # check_token said there is one
                found.extend(_comments_between(text, end, token.start_mark.index))
                end = max(end, token.end_mark.index)
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None
    return found + _comments_between(text, end, len(text))


def _comments_between(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """Comments in a stretch of text that holds only white space and comments (a gap between two tokens)."""
    found = []
    at = text.find("#", start, end)
    while at >= 0:
        stop = text.find("\n", at, end)
        stop = end if stop < 0 else stop
        found.append((text.count("\n", 0, at) + 1, text[at:stop].rstrip()))
        at = text.find("#", stop, end)
    return found


def iter_paths(data: Any, at: Path = ()) -> Iterator[Path]:
    """Every path in a plain-data tree, parents before children (used by tests and coverage)."""
    yield at
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_paths(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from iter_paths(value, (*at, index))
