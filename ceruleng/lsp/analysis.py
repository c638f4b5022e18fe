"""One version of one spec text, analysed for the editor: diagnostics, the place at a cursor, names in scope there.

Input: the text (and the analysis of an earlier version, to fall back on). Output: `SpecAnalysis` — `check`'s
diagnostics as editor ranges (with the "did you mean" word, for quick fixes), and for a cursor position the scalar it
is in (its document path, whether the schema makes it an expression or a reason template, the offset inside it) and
the bindings an expression may use there. Everything comes from `ceruleng.engine.analyze_text`: the loader's spans,
the compiler's scopes and checked expressions; nothing is parsed a second time.

Text that does not load (a YAML error half-way through typing) still gets diagnostics; names then come from the
last version that compiled, and places from the line's indentation (`indent_path`), because the line being typed is
exactly the part the loader cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ceruleng.engine import Analysis, analyze_text
from ceruleng.errors import Severity, sorted_diagnostics
from ceruleng.expr import ast
from ceruleng.expr.builtins import FUNCTIONS
from ceruleng.expr.checker import Binding, Checked, Scope
from ceruleng.expr.types import NUMBER, SCORED_ACTIVITY, ListType, RecordType, Simple
from ceruleng.fields import STANDARD_ATTRIBUTES
from ceruleng.lsp.positions import Lines, Position, Range, span_range
from ceruleng.lsp.schemapath import TEMPLATE, schema_at
from ceruleng.templates import Placeholder, TemplateSyntaxError, split
from ceruleng.yamlsrc import LoadedDocument, Path

_SUGGESTION = re.compile(r"did you mean '([^']+)'\?")
_KEY_LINE = re.compile(r"^(?P<indent>\s*(?:-\s+)*)(?P<key>[^\s:#'\"][^:#]*?):(?:\s+|$)(?P<value>.*)$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORD_WORDS = frozenset({"and", "or", "not", "in", "if", "then", "else"})
"""Words a "(" may follow that are not calls (`x in (...)` is not a call of `in`)."""


@dataclass(frozen=True)
class Problem:
    """A diagnostic, placed for an editor."""

    range: Range
    severity: Severity
    code: str
    message: str
    hint: str | None
    suggestion: str | None
    """The word a "did you mean" hint offers (a quick fix replaces the range's word with it)."""


@dataclass(frozen=True)
class Place:
    """The scalar value under a cursor: where it is in the document, what the schema makes it, where the cursor is."""

    path: Path
    kind: str | None
    """'expression', 'template' or None (any other value)."""
    text: str
    offset: int
    """The cursor's offset inside `text`."""
    start: Position
    """Where `text` starts (for a one-line value: its first character)."""


@dataclass(frozen=True)
class Expression:
    """The expression the cursor is in (a whole value, or one placeholder of a template)."""

    place: Place
    text: str
    offset: int
    base: int
    """Offset of `text` inside the place's text (a placeholder's first character)."""


@dataclass
class SpecAnalysis:
    """Everything the features read for one version of a spec."""

    text: str
    path: str
    result: Analysis
    lines: Lines
    problems: list[Problem]
    names: Analysis | None = None
    """The analysis whose scopes give names: this one when it compiled, else the last one that did."""
    declared: dict[str, Binding] = field(default_factory=dict)
    """Names read straight from the document's sections, when no version has compiled yet."""

    @property
    def document(self) -> LoadedDocument | None:
        return self.result.document

    @property
    def data(self) -> dict[str, Any]:
        document = self.result.document
        return document.data if document is not None and isinstance(document.data, dict) else {}

    # ---- places ------------------------------------------------------------------------------------------------

    def place(self, position: Position) -> Place | None:
        """The scalar under `position`: from the loaded document when it loaded, else from the line itself."""
        document = self.document
        if document is not None and document.scalars:
            found = self._loaded_place(document, position)
            if found is not None:
                return found
        return self._line_place(position)

    def _loaded_place(self, document: LoadedDocument, position: Position) -> Place | None:
        index = self.lines.index(position)
        best: tuple[Path, int] | None = None
        for path, info in document.scalars.items():
            if info.start <= index <= info.end and (best is None or info.start >= best[1]):
                best = (path, info.start)
        if best is None:
            return None
        path = best[0]
        value = document.data_at(path)
        if not isinstance(value, str):
            return None
        offset = _offset_in_scalar(document, path, value, position)
        if offset is None:
            return None
        node = schema_at(path)
        start = document.span_in_scalar(path, 0)
        return Place(path, node.kind if node else None, value, offset,
                     self.lines.clamp(Position(start.line - 1, start.column - 1)))

    def _line_place(self, position: Position) -> Place | None:
        """A one-line `key: value` read from the line and its indentation (for text the loader could not read)."""
        line = self.lines.line(position.line)
        match = _KEY_LINE.match(line)
        if match is None:
            return None
        start = match.start("value")
        value = match["value"]
        quote = value[:1] if value[:1] in ("'", '"') else ""
        if quote:
            start += 1
            value = value[1:].removesuffix(quote)
        elif " #" in value:
            value = value.split(" #", 1)[0]
        value = value.rstrip()
        offset = position.character - start
        if not 0 <= offset <= len(value):
            return None
        parent = indent_path(self.lines, Position(position.line, len(match["indent"])))
        path: Path = (*parent, match["key"].strip())
        node = schema_at(path)
        return Place(path, node.kind if node else None, value, offset, Position(position.line, start))

    def expression(self, position: Position) -> Expression | None:
        """The expression under the cursor: a whole expression value, or the placeholder of a template it is in."""
        place = self.place(position)
        if place is None or place.kind is None:
            return None
        if place.kind != TEMPLATE:
            return Expression(place, place.text, place.offset, 0)
        placeholder = _placeholder(place.text, place.offset)
        if placeholder is None:
            return None
        return Expression(place, placeholder.text, place.offset - placeholder.offset, placeholder.offset)

    # ---- names -------------------------------------------------------------------------------------------------

    def scope(self, path: Path) -> dict[str, Binding]:
        """The names an expression at `path` may use, innermost last (a category's lets over the spec's)."""
        names = self.names
        if names is None or names.global_scope is None or names.cycle_scope is None:
            return dict(self.declared)
        head = path[0] if path else None
        if head in {"requirement", "cycle", "cycle_let"} or (head == "categories" and "cap" in path[2:3]):
            found = _flatten(names.cycle_scope)
            if path[1:2] == ("alternatives",):
                found["activities"] = Binding("activities", ListType(SCORED_ACTIVITY), "acts", "activities",
                                              description="this cycle's scored activities")
            return found
        found = _flatten(names.global_scope)
        if head == "categories" and len(path) > 2 and path[2] not in ("when", "checks"):
            for let_path, binding in names.lets.items():
                if let_path[:3] == (*path[:2], "let") and let_path != path:
                    found[binding.name] = binding
            if path[2] == "explain" or (path[2] in ("minimum", "maximum") and path[-1] == "reason"):
                found["credits"] = Binding("credits", NUMBER, "c", "credits",
                                           description="the credit this activity earns")
        return found

    def binding_at(self, expression: Expression, name: str, offset: int) -> Binding | None:
        """The binding of the name starting at `offset`: the checker's own when the expression checked (it knows
        the element fields inside sum/count), else the one in scope there."""
        start = _position_of(self, expression, offset)
        for checked in self._checked(expression):
            for node in _walk(checked.node):
                if isinstance(node, ast.Name) and node.name == name and \
                        (node.span.line - 1, node.span.column - 1) == (start.line, start.character):
                    binding = checked.bindings.get(id(node))
                    if binding is not None:
                        return binding
        return self.element_fields(expression).get(name) or self.scope(expression.place.path).get(name)

    def element_fields(self, expression: Expression) -> dict[str, Binding]:
        """Inside the later arguments of sum/count/any/all/longest_run: `it` and the element's fields."""
        call = enclosing_call(expression.text, expression.offset)
        if call is None:
            return {}
        function, argument, first = call
        builtin = FUNCTIONS.get(function)
        if builtin is None or not builtin.scoped or argument == 0:
            return {}
        listed = self.scope(expression.place.path).get(first.strip())
        element = listed.type.element if listed is not None and isinstance(listed.type, ListType) else None
        if element is None:
            return {}
        found = {"it": Binding("it", element, "it", "element", description="the element itself")}
        if isinstance(element, RecordType):
            found.update((name, Binding(name, kind, name, "field", description=f"the {element.name}'s {name}"))
                         for name, kind in element.fields)
        return found

    def _checked(self, expression: Expression) -> list[Checked]:
        path = expression.place.path
        if expression.place.kind == TEMPLATE:
            return list(self.result.placeholders.get(path, ()))
        found = self.result.expressions.get(path)
        return [found] if found is not None else []


def analyse(text: str, path: str, previous: SpecAnalysis | None = None) -> SpecAnalysis:
    """Analyse one version of a spec; `previous` lends its names when this version does not compile."""
    result = analyze_text(text, path)
    lines = Lines(text)
    analysis = SpecAnalysis(text, path, result, lines, _problems(result, lines))
    if result.global_scope is not None:
        analysis.names = result
    elif previous is not None and previous.names is not None:
        analysis.names = previous.names
    else:
        analysis.declared = declared_names(analysis.data)
    return analysis


def diagnose(text: str, path: str) -> tuple[Lines, list[Problem]]:
    """Only `check`'s diagnostics, as editor ranges: the quickest answer to an edit (no scopes for the features)."""
    lines = Lines(text)
    return lines, _problems(analyze_text(text, path, scopes=False), lines)


def _problems(result: Analysis, lines: Lines) -> list[Problem]:
    return [Problem(span_range(d.span, lines), d.severity, d.code, d.message, d.hint, _suggestion(d.hint))
            for d in sorted_diagnostics(result.checked.diagnostics)]


def _suggestion(hint: str | None) -> str | None:
    match = _SUGGESTION.search(hint or "")
    return match[1] if match else None


def _flatten(scope: Scope) -> dict[str, Binding]:
    chain: list[Scope] = []
    current: Scope | None = scope
    while current is not None:
        chain.append(current)
        current = current.parent
    found: dict[str, Binding] = {}
    for level in reversed(chain):  # outermost first, so inner bindings win
        found.update(level.bindings)
    return found


def declared_names(data: dict[str, Any]) -> dict[str, Binding]:
    """Names a spec declares, read from its sections without compiling (for a spec that never compiled)."""
    found: dict[str, Binding] = {}
    sections = (("attributes", "attribute"), ("credential_attributes", "credential"), ("parameters", "parameter"),
                ("tables", "table"), ("let", "let"))
    for name, attribute in STANDARD_ATTRIBUTES.items():
        found[name] = Binding(name, Simple(attribute.type), name, "attribute", description=attribute.description)
    for section, kind in sections:
        entries = data.get(section)
        for name, entry in entries.items() if isinstance(entries, dict) else ():
            declared = entry if isinstance(entry, dict) else {}
            label = str(declared.get("scale") or declared.get("type") or kind)
            found[str(name)] = Binding(str(name), Simple(label), str(name), kind,
                                       description=str(declared.get("description", "")))
    return found


def _offset_in_scalar(document: LoadedDocument, path: Path, value: str, position: Position) -> int | None:
    """The offset in `value` that `position` stands at, by inverting the loader's own `span_in_scalar` (which
    places offsets in order, so a binary search finds it)."""
    target = (position.line + 1, position.character + 1)

    def at(offset: int) -> tuple[int, int]:
        span = document.span_in_scalar(path, offset)
        return span.line, span.column

    if value and at(0) == at(len(value)):  # the loader cannot place characters inside (escapes, folded lines)
        return None
    low, high = 0, len(value)
    while low < high:
        middle = (low + high) // 2
        if at(middle) < target:
            low = middle + 1
        else:
            high = middle
    return low if at(low) == target else None


def _placeholder(text: str, offset: int) -> Placeholder | None:
    """The placeholder of a template the offset is in; a placeholder still being typed counts up to the cursor."""
    for candidate in (text, text[:offset] + "}"):
        try:
            parts = split(candidate)
        except TemplateSyntaxError:
            continue
        for part in parts:
            if isinstance(part, Placeholder) and part.offset <= offset <= part.offset + len(part.text):
                return part
    return None


def enclosing_call(text: str, offset: int) -> tuple[str, int, str] | None:
    """(function, argument index, first argument's text) of the innermost call whose parentheses hold `offset`.

    A bracket count over the characters before the cursor (quotes skipped), not a parse: the expression being typed
    is usually incomplete, and only the call around the cursor matters.
    """
    stack: list[list[int]] = []  # [index of "(" or "[", commas so far, index of the first comma]
    quote = ""
    for index, char in enumerate(text[:offset]):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            stack.append([index, 0, -1, char == "("])
        elif char in ")]" and stack:
            stack.pop()
        elif char == "," and stack:
            stack[-1][1] += 1
            if stack[-1][2] < 0:
                stack[-1][2] = index
    if quote:
        return None
    for opening, commas, first_comma, is_call in reversed(stack):  # list brackets and plain parentheses are skipped
        name = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", text[:opening].rstrip()) if is_call else None
        if name is not None and name[0] not in _KEYWORD_WORDS:
            first = text[opening + 1 : first_comma if first_comma >= 0 else offset]
            return name[0], commas, first
    return None


def in_string(text: str, offset: int) -> bool:
    """Whether `offset` is inside a quoted string of an expression."""
    quote = ""
    for char in text[:offset]:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
    return bool(quote)


def identifier_at(text: str, offset: int) -> tuple[str, int] | None:
    """The name touching `offset` in an expression, and where it starts."""
    for match in _IDENTIFIER.finditer(text):
        if match.start() <= offset <= match.end():
            return match[0], match.start()
        if match.start() > offset:
            break
    return None


def indent_path(lines: Lines, position: Position) -> Path:
    """The document path of the mapping a key at `position` would belong to, read from indentation.

    Used for key completion and for lines the loader could not read: walking up from the cursor's key column, a
    line whose key stands further left is the parent (`key:`), and a line whose "- " stands further left is the list
    item the cursor is in. A list may also stand at its key's own indentation (`key:` then `- item` below it).
    """
    path: list[str | int] = []
    target = position.character
    current = lines.line(position.line)[:position.character]
    dashes = re.match(r"^( *)((?:- +)*)", current)
    after_item = False
    if dashes is not None and dashes[2]:
        path.append(0)
        target, after_item = len(dashes[1]), True
    for number in range(min(position.line, len(lines)) - 1, -1, -1):
        if target <= 0 and not after_item:
            break
        line = lines.line(number)
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        match = _KEY_LINE.match(line)
        key_column = len(match["indent"]) if match else indent
        item = stripped.startswith("-")
        if item and indent < target <= key_column:
            path.append(0)
            target, after_item = indent, True
            continue
        if not (key_column < target or (after_item and key_column == target and not item)):
            continue
        if match is None:
            return ()
        path.append(match["key"].strip())
        if item:
            path.append(0)
            target, after_item = indent, True
        else:
            target, after_item = key_column, False
    return tuple(reversed(path))


def _walk(root: ast.Expr) -> list[ast.Expr]:
    found, stack = [], [root]
    while stack:  # iterative: expression depth is bounded, but no recursion is needed either
        node = stack.pop()
        found.append(node)
        stack.extend(ast.children(node))
    return found


def _position_of(analysis: SpecAnalysis, expression: Expression, offset: int) -> Position:
    document = analysis.document
    place = expression.place
    if document is not None and place.path in document.scalars:
        span = document.span_in_scalar(place.path, expression.base + offset)
        return Position(span.line - 1, span.column - 1)
    return Position(place.start.line, place.start.character + expression.base + offset)
