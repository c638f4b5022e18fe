"""Stage 2, validate: plain data from the loader → schema diagnostics at the line of the offending key.

Input: a `LoadedDocument` and one of the published JSON Schemas in `schemas/`. Output: diagnostics with stable codes
(`schema-unknown-key`, `schema-missing-key`, `schema-type`, `schema-enum`, `schema-pattern`, `schema-range`,
`schema-size`, `schema-const`), each at the key or value it concerns, with a "did you mean" where one is likely.

The validating is jsonschema's (`Draft202012Validator`, taught that the loader's `Decimal` is a JSON number); this
module only turns its errors into our diagnostics: `_KEYWORDS` maps every keyword our schemas use to a code and a
message, and a test fails when a schema uses a keyword without a mapping. jsonschema is imported on the first
validation only (~80 ms), so `ceruleng --help` and a cached `ceruleng check` never pay for it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceruleng.errors import Diagnostic, did_you_mean
from ceruleng.surrogates import UnencodableText

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

    from ceruleng.yamlsrc import LoadedDocument

SCHEMA_NAMES = ("spec", "activities", "result")

DataPath = tuple[str | int, ...]


def schema_text(name: str) -> str:
    """The text of a published schema: from the installed package, or the repository's top-level schemas/."""
    filename = f"{name}.schema.json"
    packaged = resources.files("ceruleng").joinpath("schemas", filename)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "schemas" / filename).read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A published schema as data; a non-integer number in it is a `Decimal` (never a float), like the loader's."""
    schema: dict[str, Any] = json.loads(schema_text(name), parse_float=Decimal)
    return schema


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One violation: where (a data path), what (code, message), and whether it concerns the key at that path."""

    path: DataPath
    code: str
    message: str
    hint: str | None = None
    at_key: bool = False


_TYPE_WORDS = {
    "object": "a mapping (key: value)", "array": "a list", "string": "text", "number": "a number",
    "integer": "a whole number", "boolean": "true or false", "null": "nothing (null)",
}  # fmt: skip


def json_type(value: Any) -> str:
    """The JSON type of a loaded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str | UnencodableText):
        return "string"  # unencodable text is reported by spec_value_problems, not twice
    if isinstance(value, list):
        return "array"
    return "object"


def _is_number(_checker: object, value: Any) -> bool:
    return json_type(value) in ("number", "integer")


def _is_integer(_checker: object, value: Any) -> bool:
    """An int, or a Decimal with nothing after the point (`2.0`): JSON Schema counts 2.0 as an integer too."""
    kind = json_type(value)
    return kind == "integer" or (kind == "number" and value == value.to_integral_value())


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value[:60]}{'…' if len(value) > 60 else ''}'"
    if isinstance(value, dict | list):
        return _TYPE_WORDS[json_type(value)]
    return json.dumps(value, default=str)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _json_key(value: Any) -> Any:
    """A hashable stand-in, equal for equal JSON values: `true` is not `1`, `1` is `1.0` (as jsonschema compares)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _json_key(item)) for key, item in value.items()))
    return ("value", value)


@dataclass(frozen=True, slots=True)
class _Failure:
    """One jsonschema error, read into typed fields, with the schema node that holds the failing keyword."""

    keyword: str
    expected: Any
    """The keyword's value in the schema: the 2 of `minItems: 2`, the list of `enum`."""
    value: Any
    path: DataPath
    node: dict[str, Any]
    """The schema object holding the keyword, its `$ref`s merged (for `properties` and `description`)."""
    context: list[ValidationError]
    """For `oneOf`: the errors of every branch."""


class _Translator:
    """Turns jsonschema's errors for one document into `SchemaProblem`s, as many as a person has mistakes: one per
    unknown key, per missing key and per repeated item (jsonschema reports each of those once per mapping or list)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.nodes: dict[tuple[str | int, ...], tuple[dict[str, Any], list[str]]] = {}

    def problems(self, errors: Iterable[ValidationError]) -> list[SchemaProblem]:
        found: list[tuple[str, tuple[Any, ...], SchemaProblem]] = []
        required_done: set[tuple[Any, ...]] = set()
        for error in errors:
            keyword = str(error.validator)
            schema_path = tuple(error.absolute_schema_path)
            node = schema_path[:-1]
            if keyword == "required":  # one error per missing key; `required` reports them all at once
                if (node, tuple(error.absolute_path)) in required_done:
                    continue
                required_done.add((node, tuple(error.absolute_path)))
            found.extend((keyword, node, problem) for problem in self._translate(error, schema_path))
        # A value of the wrong type is one mistake: drop what the same schema node says besides about the same value
        # (an integer's range when the number is not whole). Keywords deeper in the schema apply to values of one
        # type only, so they cannot fire on a value whose type failed.
        mistyped = {(node, problem.path) for keyword, node, problem in found if keyword == "type"}
        return [problem for keyword, node, problem in found
                if keyword == "type" or (node, problem.path) not in mistyped]

    def _translate(self, error: ValidationError, schema_path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        keyword = str(error.validator)
        translate = _KEYWORDS.get(keyword)
        if translate is None:  # a test keeps every keyword of our schemas mapped
            raise AssertionError(f"no diagnostic for the JSON Schema keyword {keyword!r}")
        if schema_path not in self.nodes:
            self.nodes[schema_path] = self._node(schema_path)
        node, applicators = self.nodes[schema_path]
        value: Any = error.instance
        path: DataPath = tuple(error.absolute_path)
        failure = _Failure(keyword, error.validator_value, value, path, node, list(error.context or ()))
        if "propertyNames" not in applicators:
            yield from translate(self, failure)
            return
        for problem in translate(self, failure):  # the value checked was a key of the mapping at `path`
            yield SchemaProblem((*path, value), problem.code, f"key {problem.message}", problem.hint, True)

    def resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A schema with its `$ref` chain merged in, the referring schema's own keywords winning (so a property's
        description beats the shared definition's)."""
        while "$ref" in schema:
            target: dict[str, Any] = self.root
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
        return schema

    def _node(self, schema_path: Iterable[str | int]) -> tuple[dict[str, Any], list[str]]:
        """The schema object holding the failing keyword (`$ref`s merged), and the applicators on the way to it.

        jsonschema's schema path leaves out `$ref` hops, so it is walked from the root, merging references."""
        tokens = list(schema_path)[:-1]
        node = self.resolved(self.root)
        applicators: list[str] = []
        index = 0
        while index < len(tokens):
            keyword = str(tokens[index])
            applicators.append(keyword)
            child = node[keyword]
            if keyword in ("properties", "patternProperties", "$defs", "oneOf", "anyOf", "allOf", "prefixItems"):
                index += 1
                child = child[tokens[index]]
            node = self.resolved(child)
            index += 1
        return node, applicators

    def required(self, failure: _Failure) -> Iterator[SchemaProblem]:
        properties: dict[str, Any] = failure.node.get("properties", {})
        for key in failure.expected:
            if key not in failure.value:
                described = self.resolved(properties.get(key, {})).get("description")
                yield SchemaProblem(failure.path, "schema-missing-key", f"missing required key '{key}'", described)

    def one_of(self, failure: _Failure) -> Iterator[SchemaProblem]:
        """The problems of the branch the value was most likely meant for: of the branches whose type it has, the
        one with the fewest problems (the first of equals); when it has the type of none, one 'expected X or Y'."""
        if not failure.context:  # valid under more than one branch: our schemas' branches exclude each other
            return
        by_branch: dict[int, list[ValidationError]] = {index: [] for index in range(len(failure.expected))}
        for error in failure.context:
            by_branch[int(error.relative_schema_path[0])].append(error)
        results = [self.problems(errors) for errors in by_branch.values()]
        fitting = [problems for problems in results
                   if not any(p.code == "schema-type" and p.path == failure.path for p in problems)]
        if fitting:
            yield from min(fitting, key=len)
            return
        types = [self.resolved(branch).get("type", []) for branch in failure.expected]
        names = list(dict.fromkeys(name for kind in types for name in _listed(kind)))
        yield SchemaProblem(failure.path, "schema-type", f"expected {_type_words(names)}, got {_show(failure.value)}")


def _listed(kind: str | list[str]) -> list[str]:
    return [kind] if isinstance(kind, str) else list(kind)


_Translate = Callable[[_Translator, _Failure], Iterator[SchemaProblem]]


def _at_value(code: str, message: Callable[[_Failure], str],
              hint: Callable[[_Failure], str | None] = lambda failure: None) -> _Translate:
    """A keyword that reports one problem, at the value that failed it."""

    def translate(_: _Translator, failure: _Failure) -> Iterator[SchemaProblem]:
        yield SchemaProblem(failure.path, code, message(failure), hint(failure))

    return translate


def _unknown_keys(_: _Translator, failure: _Failure) -> Iterator[SchemaProblem]:
    properties: dict[str, Any] = failure.node.get("properties", {})
    cut = _cut_by_commas(failure.value, properties)
    for key in failure.value:
        if key not in properties:
            hint = cut.get(key) or did_you_mean(key, properties) or "keys here: " + ", ".join(properties)
            yield SchemaProblem((*failure.path, key), "schema-unknown-key", f"unknown key '{key}'", hint, True)


def _cut_by_commas(mapping: dict[str, Any], properties: dict[str, Any]) -> dict[Any, str]:
    """Hints for prose cut by commas inside `{...}` (`{title: Of service, at most 4, of which 2 mentoring}`): each
    rest of the text reads as a key of its own, with no value. Every piece of one cut text gets the same fix, the
    whole text quoted (quoting up to the next comma only would still break)."""
    keys = list(mapping)
    hints: dict[Any, str] = {}
    for index, key in enumerate(keys):
        previous = keys[index - 1] if index else None
        if (previous is None or previous not in properties or not isinstance(mapping[previous], str)
                or not _rest_of_text(mapping, properties, key) or " " not in key.strip()):
            continue
        run = [key]
        for later in keys[index + 1:]:
            if not _rest_of_text(mapping, properties, later):
                break
            run.append(later)
        whole = ", ".join([mapping[previous], *run])
        for piece in run:
            hints[piece] = (f"a comma inside {{...}} ends a value: if '{piece}' is the rest of {previous}, quote "
                            f'the whole text: {previous}: "{whole}"')
    return hints


def _rest_of_text(mapping: dict[str, Any], properties: dict[str, Any], key: Any) -> bool:
    """Whether `key` could be a piece of text a comma cut off: not a key of the schema, text, and no value."""
    return isinstance(key, str) and key not in properties and mapping[key] is None


def _repeated_items(_: _Translator, failure: _Failure) -> Iterator[SchemaProblem]:
    seen: set[Any] = set()
    for index, item in enumerate(failure.value):
        key = _json_key(item)
        if key in seen:
            yield SchemaProblem((*failure.path, index), "schema-size", f"{_show(item)} is listed twice")
        seen.add(key)


def _literal(value: Any) -> str:
    """A schema's value as the schema writes it (its non-integer numbers are Decimals, which json cannot write)."""
    return str(value) if isinstance(value, Decimal) else json.dumps(value)


def _type_words(kind: str | list[str]) -> str:
    return " or ".join(_TYPE_WORDS[name] for name in _listed(kind))


def _not_one_of(failure: _Failure) -> str:
    return f"{_show(failure.value)} is not one of: {', '.join(str(choice) for choice in failure.expected)}"


def _closest_choice(failure: _Failure) -> str | None:
    choices = [str(choice) for choice in failure.expected]
    return did_you_mean(failure.value, choices) if isinstance(failure.value, str) else None


_KEYWORDS: dict[str, _Translate] = {
    "type": _at_value("schema-type", lambda f: f"expected {_type_words(f.expected)}, got {_show(f.value)}"),
    "oneOf": _Translator.one_of,
    "const": _at_value("schema-const", lambda f: f"must be {_literal(f.expected)}, got {_show(f.value)}"),
    "enum": _at_value("schema-enum", _not_one_of, _closest_choice),
    "required": _Translator.required,
    "additionalProperties": _unknown_keys,
    "minProperties": _at_value("schema-size", lambda f: f"needs at least {_plural(f.expected, 'key')}"),
    "maxProperties": _at_value("schema-size", lambda f: f"allows at most {_plural(f.expected, 'key')}"),
    "minItems": _at_value("schema-size", lambda f: f"needs at least {_plural(f.expected, 'item')}"),
    "uniqueItems": _repeated_items,
    "minLength": _at_value("schema-size", lambda f: f"needs at least {f.expected} characters"),
    "pattern": _at_value("schema-pattern", lambda f: f"{_show(f.value)} is not in the required form",
                         lambda f: f.node.get("description")),
    "minimum": _at_value("schema-range", lambda f: f"must be at least {f.expected}, got {f.value}"),
    "exclusiveMinimum": _at_value("schema-range", lambda f: f"must be above {f.expected}, got {f.value}"),
    "maximum": _at_value("schema-range", lambda f: f"must be at most {f.expected}, got {f.value}"),
}
"""Every JSON Schema keyword our schemas use that can fail, as our diagnostic."""

APPLICATORS = frozenset({"$ref", "$defs", "properties", "items", "propertyNames"})
"""Keywords that only apply other schemas: what fails is a keyword of those (`additionalProperties`, an applicator
too when it holds a schema, is in `_KEYWORDS` for when it is `false`)."""

ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default", "examples", "format"})
"""Keywords that never fail (`format` is an annotation in 2020-12 unless a format checker is asked for)."""

MAPPED_KEYWORDS = frozenset(_KEYWORDS) | APPLICATORS | ANNOTATIONS
"""Every keyword a schema of ours may use; a test walks the schemas against it."""


@cache
def _validator(name: str) -> Validator:
    """jsonschema's 2020-12 validator for a published schema, reading the loader's Decimals as JSON numbers."""
    from jsonschema import Draft202012Validator, validators  # here: only a check that misses the cache needs it

    checker = Draft202012Validator.TYPE_CHECKER.redefine_many({"number": _is_number, "integer": _is_integer})
    validator_class: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]  # untyped in the stubs
        Draft202012Validator, type_checker=checker)
    return validator_class(load_schema(name))


def schema_problems(data: Any, name: str) -> list[SchemaProblem]:
    """Every way `data` breaks the published schema `name`, one problem per mistake."""
    validator = _validator(name)
    return _Translator(load_schema(name)).problems(validator.iter_errors(data))


def spec_value_problems(data: Any) -> Iterator[SchemaProblem]:
    """Values no spec may hold, wherever they stand (embedded examples and table rows included): a number outside
    the range every input number obeys (`number-out-of-range`: 10**12 or more, or more than 12 decimal places —
    1e400, 7e2000000, a 5,000-digit integer), and text holding a lone surrogate (`yaml-encoding`). Found before
    anything computes with them. Iterative: a document nests at most yamlsrc.MAX_DEPTH levels, but needs no stack."""
    from ceruleng.values import MAX_PLACES, checked_decimal  # local: a cached `check` imports this module too

    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*path, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in reversed(list(enumerate(value))))
        elif isinstance(value, UnencodableText):
            yield SchemaProblem(path, "yaml-encoding", f"text {_show(str(value))} holds a lone surrogate, which is "
                                "not a character", "remove the \\u escape of a surrogate (\\ud800-\\udfff)")
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            try:
                checked_decimal(Decimal(value))
            except ValueError as exc:
                yield SchemaProblem(path, "number-out-of-range", f"{_show_number(value)} {exc}",
                                    f"a spec number is below 10**12 and has at most {MAX_PLACES} decimal places")


def _encodable(data: Any) -> Any:
    """A copy of `data` with each unencodable text as its escaped form: jsonschema measures and matches strings, and
    the surrogate is already reported once (`yaml-encoding`), not again as a wrong type."""
    if isinstance(data, dict):
        return {_encodable(key): _encodable(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_encodable(item) for item in data]
    return str(data) if isinstance(data, UnencodableText) else data


def _show_number(value: int | Decimal) -> str:
    number = Decimal(value)
    digits = len(number.as_tuple().digits)
    return f"a number of {digits:,} digits" if digits > 40 else str(number)


def validate_document(document: LoadedDocument, name: str) -> tuple[list[Diagnostic], Any | None]:
    """Schema diagnostics for a loaded document, positioned at the offending key or value, and the data later
    stages may go on checking: the document's own when it is valid, a copy without the unknown keys when those are
    its only problems (a misspelt key should not hide every later mistake), otherwise None. A spec is also
    checked for values no spec may hold (`spec_value_problems`)."""
    values = list(spec_value_problems(document.data)) if name == "spec" else []
    checked = _encodable(document.data) if any(problem.code == "yaml-encoding" for problem in values) else document.data
    problems = schema_problems(checked, name) + values
    diagnostics = []
    for problem in problems:
        span = document.key_span(problem.path) if problem.at_key else document.span(problem.path)
        if problem.code == "schema-missing-key":
            span = document.key_span(problem.path) if problem.path else document.span(())
        diagnostics.append(Diagnostic(problem.code, problem.message, span, hint=problem.hint))
    diagnostics.sort(key=lambda diagnostic: diagnostic.span.sort_key())  # jsonschema's order is not the document's
    if not problems:
        return diagnostics, document.data
    if any(problem.code != "schema-unknown-key" for problem in problems):
        return diagnostics, None
    data = copy.deepcopy(document.data)
    for problem in problems:
        parent = data
        for key in problem.path[:-1]:
            parent = parent[key]
        del parent[problem.path[-1]]
    return diagnostics, data
