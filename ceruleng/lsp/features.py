"""Editor features as pure functions of a `SpecAnalysis` and a cursor: completion, hover, definition, quick fixes,
outline symbols.

Input: an analysis (`ceruleng.lsp.analysis`) and 0-based code-point positions. Output: plain records
(`Completion`, `Fix`, `Symbol`, markdown text, `Range`s) that `ceruleng.lsp.server` turns into protocol messages.
Names and their types come from the compiler's scopes; functions from the function table (`expr.builtins`); keys and
allowed values from the spec schema; declarations, titles and cited sentences from the loaded document's own data
and spans, so hover and go-to-definition still work while a later part of the spec is broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ceruleng.expr.builtins import FUNCTIONS
from ceruleng.expr.checker import Binding
from ceruleng.expr.types import ListType, RecordType, ScaleType
from ceruleng.lsp.analysis import (
    Expression,
    Problem,
    SpecAnalysis,
    enclosing_call,
    identifier_at,
    in_string,
    indent_path,
)
from ceruleng.lsp.positions import Position, Range, span_range
from ceruleng.lsp.schemapath import schema_at
from ceruleng.source import Span
from ceruleng.values import ROUNDING_MODES
from ceruleng.yamlsrc import Path

KEYWORDS = ("and", "or", "not", "in", "if", "then", "else", "true", "false")
_KEY_PREFIX = re.compile(r"^(?P<indent> *(?:- +)*)(?P<word>[\w-]*)$")
_VALUE_PREFIX = re.compile(r"^(?P<indent> *(?:- +)*)(?P<key>[\w-]+):\s+(?P<value>.*)$")


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str
    """function, variable, field, constant, table, keyword, property, value."""
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None


@dataclass(frozen=True)
class Fix:
    title: str
    range: Range
    new_text: str
    problem: Problem


@dataclass(frozen=True)
class Symbol:
    name: str
    detail: str
    kind: str
    """section, category, parameter, table, attribute, scale, let, check."""
    range: Range
    selection: Range
    children: list[Symbol] = field(default_factory=list)


# ---- completion ------------------------------------------------------------------------------------------------


def completions(analysis: SpecAnalysis, position: Position) -> list[Completion]:
    """What may be typed at `position`: names and functions inside an expression, keys and values elsewhere."""
    expression = analysis.expression(position)
    if expression is not None:
        return _expression_completions(analysis, expression)
    before = analysis.lines.line(position.line)[: position.character]
    key = _KEY_PREFIX.match(before)
    if key is not None:
        return _key_completions(analysis, Position(position.line, len(key["indent"])))
    value = _VALUE_PREFIX.match(before)
    if value is not None:
        parent = indent_path(analysis.lines, Position(position.line, len(value["indent"])))
        return _value_completions(analysis, (*parent, value["key"]), inside_list=value["value"].startswith("["))
    return []


def _expression_completions(analysis: SpecAnalysis, expression: Expression) -> list[Completion]:
    text, offset = expression.text, expression.offset
    scope = {**analysis.scope(expression.place.path), **analysis.element_fields(expression)}
    if in_string(text, offset):
        return _string_completions(analysis, expression, scope)
    word = identifier_at(text, offset)
    start = word[1] if word else offset
    if text[:start].rstrip().endswith("."):
        return _field_completions(text[:start].rstrip()[:-1], scope)
    items = [Completion(b.name, _kind(b), f"{b.kind}: {b.type.name}", b.description)
             for b in sorted(scope.values(), key=lambda b: b.name)
             if not b.name.startswith("_") and b.kind != "refused"]  # a cycle_let this rule cannot read
    items += [Completion(f.name, "function", f.signature, f"{f.summary}\n\nExample: `{f.example}`", f"{f.name}(")
              for f in sorted(FUNCTIONS.values(), key=lambda f: f.name)]
    items += [Completion(word, "keyword") for word in KEYWORDS]
    return items


def _kind(binding: Binding) -> str:
    return {"parameter": "constant", "constant": "constant", "table": "table", "field": "field",
            "element": "field"}.get(binding.kind, "variable")


def _field_completions(before_dot: str, scope: dict[str, Binding]) -> list[Completion]:
    match = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", before_dot)
    binding = scope.get(match[0]) if match else None
    record = binding.type if binding is not None else None
    if isinstance(record, ListType):
        record = record.element
    if not isinstance(record, RecordType):
        return []
    return [Completion(name, "field", kind.name, f"the {record.name}'s {name}") for name, kind in record.fields]


def _string_completions(analysis: SpecAnalysis, expression: Expression,
                        scope: dict[str, Binding]) -> list[Completion]:
    """Inside quotes: rounding modes in round()'s third argument, else the values of the scales (and the one_of
    lists) of the names the expression uses."""
    call = enclosing_call(expression.text, expression.offset)
    if call is not None and call[0] == "round" and call[1] == 2:
        return [Completion(mode, "value", "rounding mode") for mode in ROUNDING_MODES]
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression.text))
    values: dict[str, str] = {}
    attributes = analysis.data.get("attributes")
    for name in sorted(used):
        binding = scope.get(name)
        if binding is not None and isinstance(binding.type, ScaleType):
            values.update((value, f"{binding.type.scale} (scale of {name})") for value in binding.type.values)
        declared = attributes.get(name) if isinstance(attributes, dict) else None
        one_of = declared.get("one_of") if isinstance(declared, dict) else None
        if isinstance(one_of, list):
            values.update((str(value), f"a value of {name}") for value in one_of)
    if not values:
        scales = analysis.data.get("scales")
        for scale, entry in scales.items() if isinstance(scales, dict) else ():
            listed = entry.get("values") if isinstance(entry, dict) else None
            values.update((str(v), f"{scale} (scale)") for v in (listed if isinstance(listed, list) else ()))
    return [Completion(value, "value", detail) for value, detail in values.items()]


def _key_completions(analysis: SpecAnalysis, position: Position) -> list[Completion]:
    path = indent_path(analysis.lines, position)
    node = schema_at(path)
    if node is None:
        return []
    present: set[str] = set()
    document = analysis.document
    if document is not None:
        try:
            existing = document.data_at(path)
        except (KeyError, IndexError, TypeError):
            existing = None
        present = set(existing) if isinstance(existing, dict) else set()
    return [Completion(key, "property", "key", description, f"{key}: ")
            for key, description in node.keys().items() if key not in present and key != "$schema"]


_REFERENCE_SECTIONS = {"categories": "category", "activity_types": "activity type", "scales": "scale",
                       "sources": "source document"}


def _value_completions(analysis: SpecAnalysis, path: Path, inside_list: bool) -> list[Completion]:
    section = reference_section((*path, 0) if inside_list else path)
    if section is not None:
        return [Completion(name, "value", _REFERENCE_SECTIONS[section], title)
                for name, title in _section_entries(analysis, section).items()]
    node = schema_at(path)
    return [Completion(value, "value", "allowed value") for value in (node.enum() if node else [])]


def _section_entries(analysis: SpecAnalysis, section: str) -> dict[str, str]:
    data = analysis.data.get(section)
    if section == "categories":
        return {str(item["id"]): str(item.get("title", "")) for item in data if isinstance(item, dict) and "id" in item
                } if isinstance(data, list) else {}
    if not isinstance(data, dict):
        return {}
    return {str(key): str(value.get("title", value.get("description", "")) if isinstance(value, dict) else value)
            for key, value in data.items()}


def reference_section(path: Path) -> str | None:
    """The section a value at `path` names an entry of (category ids, activity types, scales, source documents)."""
    keys = [key for key in path if isinstance(key, str)]
    last = path[-1] if path else None
    if path[:1] == ("categories",) and len(path) == 3 and last == "id":
        return "categories"
    if path[:1] == ("checks",) and len(path) == 4 and path[2] in ("applies_to", "except"):
        return "categories"
    if last == "category" and ("counts" in keys or "expect" in keys):
        return "categories"
    if (path[:1] == ("categories",) and len(path) == 4 and path[2] == "types") or \
            (path[:1] == ("examples",) and last == "type" and "expect" not in keys):
        return "activity_types"
    if last == "scale" and path[:1] in (("attributes",), ("credential_attributes",)):
        return "scales"
    if last == "doc" and "source" in keys:
        return "sources"
    return None


# ---- hover -----------------------------------------------------------------------------------------------------


def hover(analysis: SpecAnalysis, position: Position) -> tuple[str, Range] | None:
    """Markdown about what is under the cursor, and the range it is about."""
    expression = analysis.expression(position)
    if expression is not None:
        return _expression_hover(analysis, expression, position)
    place = analysis.place(position)
    if place is not None:
        section = reference_section(place.path)
        if section is not None:
            text = _entry_hover(analysis, section, place.text)
            if text:
                return text, _place_range(place.start, place.text)
    key = _key_at(analysis, position)
    if key is not None:
        path, span = key
        text = None
        if len(path) == 2 and path[0] in ("parameters", "tables", "attributes", "credential_attributes", "scales",
                                          "let"):
            text = _declaration_hover(analysis, str(path[0]), str(path[1]))
        if text is None:
            node = schema_at(path)
            text = f"**{path[-1]}**\n\n{node.description}" if node is not None and node.description else None
        if text:
            return text, span_range(span, analysis.lines)
    return None


def _place_range(start: Position, text: str) -> Range:
    return Range(start, Position(start.line, start.character + len(text.split("\n", 1)[0])))


def _expression_hover(analysis: SpecAnalysis, expression: Expression,
                      position: Position) -> tuple[str, Range] | None:
    found = identifier_at(expression.text, expression.offset)
    if found is None:
        return None
    word, start = found
    word_start = position.character - (expression.offset - start)
    span = Range(Position(position.line, word_start), Position(position.line, word_start + len(word)))
    after = expression.text[start + len(word):].lstrip()
    if after.startswith("(") and word in FUNCTIONS:
        builtin = FUNCTIONS[word]
        return (f"```\n{builtin.signature}\n```\n{builtin.summary}\n\nExample: `{builtin.example}`", span)
    if expression.text[:start].rstrip().endswith("."):
        return None
    binding = analysis.binding_at(expression, word, start)
    if binding is None:
        return None
    text = f"**{binding.name}** — {binding.kind}, {binding.type.name}"
    if binding.description:
        text += f"\n\n{binding.description}"
    section = _DECLARED_IN.get(binding.kind)
    if section is not None:
        extra = _declaration_hover(analysis, section, binding.name, header=False)
        text += f"\n\n{extra}" if extra else ""
    declaration = definition_of(analysis, binding, expression.place.path)
    if declaration is not None:
        text += f"\n\nDeclared at line {declaration.start.line + 1}."
    return text, span


_DECLARED_IN = {"parameter": "parameters", "constant": "parameters", "table": "tables"}


def _declaration_hover(analysis: SpecAnalysis, section: str, name: str, header: bool = True) -> str | None:
    entries = analysis.data.get(section)
    entry = entries.get(name) if isinstance(entries, dict) else None
    if entry is None:
        return None
    parts = [f"**{name}** — {section.rstrip('s').replace('_', ' ')}"] if header else []
    if isinstance(entry, dict):
        if header and entry.get("description"):
            parts.append(str(entry["description"]))
        if "value" in entry:
            parts.append(f"Value: `{_show(entry['value'])}`")
        parts.extend(_citations(analysis, entry))
    else:
        parts.append(f"`{_show(entry)}`")
    return "\n\n".join(parts) if parts else None


def _entry_hover(analysis: SpecAnalysis, section: str, name: str) -> str | None:
    if section != "categories":
        entries = _section_entries(analysis, section)
        return f"**{name}** — {_REFERENCE_SECTIONS[section]}\n\n{entries[name]}" if name in entries else None
    for item in analysis.data.get("categories") or ():
        if isinstance(item, dict) and str(item.get("id")) == name:
            parts = [f"**{name}** — category", str(item.get("title", ""))]
            parts.extend(_citations(analysis, item))
            return "\n\n".join(part for part in parts if part)
    return None


def _citations(analysis: SpecAnalysis, entry: dict[str, Any]) -> list[str]:
    """The sentences an entry cites, each with the title of the document it comes from."""
    raw = entry.get("source")
    sources = analysis.data.get("sources")
    found = []
    for citation in raw if isinstance(raw, list) else [raw]:
        if isinstance(citation, dict) and citation.get("quote"):
            document = sources.get(citation.get("doc")) if isinstance(sources, dict) else None
            title = document.get("title") if isinstance(document, dict) else citation.get("doc")
            found.append(f"> {citation['quote']}\n\n— {title}")
    return found


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)


def _key_at(analysis: SpecAnalysis, position: Position) -> tuple[Path, Span] | None:
    document = analysis.document
    if document is None:
        return None
    for path, span in document.key_spans.items():
        if span_range(span, analysis.lines).contains(position):
            return path, span
    return None


# ---- definition ------------------------------------------------------------------------------------------------


def definition(analysis: SpecAnalysis, position: Position) -> Range | None:
    """Where the name, category id, activity type, scale or source under the cursor is declared."""
    expression = analysis.expression(position)
    if expression is not None:
        found = identifier_at(expression.text, expression.offset)
        if found is None or expression.text[: found[1]].rstrip().endswith("."):
            return None
        binding = analysis.binding_at(expression, found[0], found[1])
        return definition_of(analysis, binding, expression.place.path) if binding is not None else None
    place = analysis.place(position)
    section = reference_section(place.path) if place is not None else None
    if place is None or section is None:
        return None
    return _entry_range(analysis, section, place.text)


_BINDING_SECTIONS = {"attribute": "attributes", "credential": "credential_attributes", "parameter": "parameters",
                     "constant": "parameters", "table": "tables"}
_SHARED = {"cycle": ("cycle",), "unit": ("unit",), "hours_per_unit": ("unit", "contact_hours")}


def definition_of(analysis: SpecAnalysis, binding: Binding, at: Path) -> Range | None:
    """Where a binding is declared in the current text (names are looked up again, so an edit above is followed)."""
    document = analysis.document
    if document is None:
        return None
    candidates: list[Path] = []
    if binding.kind == "let":
        if at[:1] == ("categories",) and len(at) > 1:
            candidates.append((*at[:2], "let", binding.name))
        candidates.append(("let", binding.name))
    elif binding.kind in _BINDING_SECTIONS:
        candidates.append((_BINDING_SECTIONS[binding.kind], binding.name))
    elif binding.name in _SHARED:
        candidates.append(_SHARED[binding.name])
    for path in candidates:
        if path in document.key_spans:
            return span_range(document.key_spans[path], analysis.lines)
    return None


def _entry_range(analysis: SpecAnalysis, section: str, name: str) -> Range | None:
    document = analysis.document
    if document is None:
        return None
    if section == "categories":
        for index, item in enumerate(analysis.data.get("categories") or ()):
            if isinstance(item, dict) and str(item.get("id")) == name:
                return span_range(document.span(("categories", index, "id")), analysis.lines)
        return None
    path = (section, name)
    return span_range(document.key_spans[path], analysis.lines) if path in document.key_spans else None


# ---- quick fixes -----------------------------------------------------------------------------------------------


def quick_fixes(analysis: SpecAnalysis, within: Range) -> list[Fix]:
    """For every "did you mean" diagnostic touching `within`: replace the misspelt word with the suggestion."""
    fixes = []
    for problem in analysis.problems:
        if problem.suggestion is None or not problem.range.overlaps(within):
            continue
        target = _misspelt(analysis, problem)
        if target is not None:
            fixes.append(Fix(f"Change to '{problem.suggestion}'", target, problem.suggestion, problem))
    return fixes


def _misspelt(analysis: SpecAnalysis, problem: Problem) -> Range | None:
    """The range of the word the diagnostic quotes as wrong: inside the diagnostic's range, on one line."""
    start, end = problem.range.start, problem.range.end
    if start.line != end.line:
        return None
    text = analysis.lines.line(start.line)[start.character : end.character]
    inner = text.strip()
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        inner = inner[1:-1]
    if not inner or f"'{inner}'" not in problem.message or inner == problem.suggestion:
        return None
    column = start.character + text.index(inner)
    return Range(Position(start.line, column), Position(start.line, column + len(inner)))


# ---- symbols ---------------------------------------------------------------------------------------------------

_SYMBOL_SECTIONS = (("categories", "category"), ("parameters", "parameter"), ("tables", "table"),
                    ("attributes", "attribute"), ("scales", "scale"), ("let", "let"), ("checks", "check"))


def symbols(analysis: SpecAnalysis) -> list[Symbol]:
    """The outline: one symbol per section that has entries, each entry a child (categories by id and title)."""
    document = analysis.document
    if document is None:
        return []
    found = []
    for section, kind in _SYMBOL_SECTIONS:
        entries = analysis.data.get(section)
        children = []
        if isinstance(entries, list):
            for index, item in enumerate(entries):
                if isinstance(item, dict) and "id" in item:
                    selection = _range(analysis, document.span((section, index, "id")))
                    whole = _range(analysis, document.span((section, index)))
                    children.append(Symbol(str(item["id"]), str(item.get("title", "")), kind,
                                           _cover(whole, selection), selection))
        elif isinstance(entries, dict):
            for name, entry in entries.items():
                selection = _range(analysis, document.key_span((section, name)))
                whole = _cover(_range(analysis, document.span((section, name))), selection)
                detail = entry.get("description", "") if isinstance(entry, dict) else str(entry)
                children.append(Symbol(str(name), str(detail), kind, whole, selection))
        if children:
            selection = _range(analysis, document.key_span((section,)))
            whole = _cover(_range(analysis, document.span((section,))), selection)
            found.append(Symbol(section, "", "section", _cover(whole, *[c.range for c in children]), selection,
                                children))
    return found


def _range(analysis: SpecAnalysis, span: Span) -> Range:
    return span_range(span, analysis.lines)


def _cover(first: Range, *others: Range) -> Range:
    """The smallest range holding all the given ones (a key's range and its value's, say)."""
    ranges = (first, *others)
    return Range(min(r.start for r in ranges), max(r.end for r in ranges))
