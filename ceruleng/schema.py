"""Stage 2, validate: plain data from the loader → schema diagnostics at the line of the offending key.

Input: a `LoadedDocument` and one of the published JSON Schemas in `schemas/`. Output: diagnostics with stable codes
(`schema-unknown-key`, `schema-missing-key`, `schema-type`, `schema-enum`, `schema-pattern`, `schema-range`,
`schema-size`, `schema-const`), each at the key or value it concerns, with a "did you mean" where one is likely.

Why not the jsonschema package here: importing it takes ~0.2 s, which alone would break `ceruleng check`'s start-up
budget. This module implements exactly the keywords our schemas use (a test walks the schemas and fails on any other
keyword) and the test suite checks it against jsonschema on every spec in the corpus, valid and broken.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceruleng.errors import Diagnostic, did_you_mean
from ceruleng.surrogates import UnencodableText

if TYPE_CHECKING:
    from ceruleng.yamlsrc import LoadedDocument

SCHEMA_NAMES = ("spec", "activities", "result")

SUPPORTED_KEYWORDS = frozenset({
    "$schema", "$id", "$ref", "$defs", "title", "description", "default", "examples",
    "type", "properties", "additionalProperties", "propertyNames", "required", "enum", "const", "pattern",
    "minimum", "maximum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "maxProperties",
    "items", "uniqueItems", "oneOf", "format",
})  # fmt: skip
"""Every JSON Schema keyword this validator understands; `format` is an annotation only, as in 2020-12."""


def schema_text(name: str) -> str:
    """The text of a published schema: from the installed package, or the repository's top-level schemas/."""
    filename = f"{name}.schema.json"
    packaged = resources.files("ceruleng").joinpath("schemas", filename)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "schemas" / filename).read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One violation: where (a data path), what (code, message), and whether it concerns the key at that path."""

    path: tuple[str | int, ...]
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


def _is_type(value: Any, wanted: str) -> bool:
    actual = json_type(value)
    if wanted == "number":
        return actual in ("number", "integer")
    if wanted == "integer":
        return actual == "integer" or (actual == "number" and value == value.to_integral_value())
    return actual == wanted


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value[:60]}{'…' if len(value) > 60 else ''}'"
    if isinstance(value, dict | list):
        return _TYPE_WORDS[json_type(value)]
    return json.dumps(value, default=str)


class Validator:
    """Validates data against one schema, yielding every problem (not only the first)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema

    def problems(self, data: Any) -> Iterator[SchemaProblem]:
        yield from self._validate(data, self.root, ())

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            reference = schema["$ref"]
            target: dict[str, Any] = self.root
            for part in reference.removeprefix("#/").split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def _validate(self, value: Any, schema: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        schema = self._resolve(schema)
        if "oneOf" in schema:
            yield from self._one_of(value, schema, path)
            return
        types = schema.get("type")
        if types is not None:
            wanted = [types] if isinstance(types, str) else types
            if not any(_is_type(value, t) for t in wanted):
                words = " or ".join(_TYPE_WORDS[t] for t in wanted)
                yield SchemaProblem(path, "schema-type", f"expected {words}, got {_show(value)}")
                return
        yield from self._values(value, schema, path)
        if isinstance(value, dict):
            yield from self._object(value, schema, path)
        elif isinstance(value, list):
            yield from self._array(value, schema, path)
        elif isinstance(value, str):
            yield from self._string(value, schema, path)
        elif json_type(value) in ("number", "integer"):
            yield from self._number(value, schema, path)

    def _one_of(self, value: Any, schema: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        branches = [self._resolve(branch) for branch in schema["oneOf"]]
        results = [list(self._validate(value, branch, path)) for branch in branches]
        if any(not problems for problems in results):
            return
        fitting = [problems for branch, problems in zip(branches, results, strict=True)
                   if not any(p.code == "schema-type" and p.path == path for p in problems)]
        if fitting:
            yield from min(fitting, key=len)
            return
        words = " or ".join(dict.fromkeys(_TYPE_WORDS[t] for b in branches for t in _types_of(b)))
        yield SchemaProblem(path, "schema-type", f"expected {words}, got {_show(value)}")

    def _values(self, value: Any, schema: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        if "const" in schema and value != schema["const"]:
            yield SchemaProblem(path, "schema-const", f"must be {json.dumps(schema['const'])}, got {_show(value)}")
        if "enum" in schema and value not in schema["enum"]:
            choices = [str(choice) for choice in schema["enum"]]
            hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
            yield SchemaProblem(path, "schema-enum", f"{_show(value)} is not one of: {', '.join(choices)}", hint)

    def _object(self, value: dict[str, Any], schema: dict[str, Any],
                path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        properties: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                described = self._resolve(properties.get(key, {})).get("description")
                yield SchemaProblem(path, "schema-missing-key", f"missing required key '{key}'", described)
        yield from self._counts(len(value), schema, path, "key")
        names = schema.get("propertyNames")
        for key, item in value.items():
            if names is not None:
                for problem in self._validate(key, names, (*path, key)):
                    yield SchemaProblem((*path, key), problem.code, f"key {problem.message}", problem.hint, True)
            if key in properties:
                yield from self._validate(item, properties[key], (*path, key))
                continue
            extra = schema.get("additionalProperties", True)
            if extra is False:
                yield SchemaProblem((*path, key), "schema-unknown-key", f"unknown key '{key}'",
                                    did_you_mean(key, properties) or "keys here: " + ", ".join(properties), True)
            elif isinstance(extra, dict):
                yield from self._validate(item, extra, (*path, key))

    def _array(self, value: list[Any], schema: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        yield from self._counts(len(value), schema, path, "item")
        if schema.get("uniqueItems"):
            seen: list[Any] = []
            for index, item in enumerate(value):
                if item in seen:
                    yield SchemaProblem((*path, index), "schema-size", f"{_show(item)} is listed twice")
                seen.append(item)
        if "items" in schema:
            for index, item in enumerate(value):
                yield from self._validate(item, schema["items"], (*path, index))

    def _counts(self, count: int, schema: dict[str, Any], path: tuple[str | int, ...],
                noun: str) -> Iterator[SchemaProblem]:
        low = schema.get("minItems", schema.get("minProperties"))
        high = schema.get("maxProperties")
        if low is not None and count < low:
            yield SchemaProblem(path, "schema-size", f"needs at least {low} {noun}{'s' if low != 1 else ''}")
        if high is not None and count > high:
            yield SchemaProblem(path, "schema-size", f"allows at most {high} {noun}{'s' if high != 1 else ''}")

    def _string(self, value: str, schema: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        if "minLength" in schema and len(value) < schema["minLength"]:
            yield SchemaProblem(path, "schema-size", f"needs at least {schema['minLength']} characters")
        pattern = schema.get("pattern")
        if pattern is not None and not _pattern(pattern).search(value):
            yield SchemaProblem(path, "schema-pattern", f"{_show(value)} is not in the required form",
                                schema.get("description"))

    def _number(self, value: Any, schema: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaProblem]:
        number = Decimal(value)
        if "minimum" in schema and number < Decimal(str(schema["minimum"])):
            yield SchemaProblem(path, "schema-range", f"must be at least {schema['minimum']}, got {value}")
        if "exclusiveMinimum" in schema and number <= Decimal(str(schema["exclusiveMinimum"])):
            yield SchemaProblem(path, "schema-range", f"must be above {schema['exclusiveMinimum']}, got {value}")
        if "maximum" in schema and number > Decimal(str(schema["maximum"])):
            yield SchemaProblem(path, "schema-range", f"must be at most {schema['maximum']}, got {value}")


def _types_of(schema: dict[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return [types] if isinstance(types, str) else list(types)


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@cache
def validator(name: str) -> Validator:
    return Validator(load_schema(name))


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


def _show_number(value: int | Decimal) -> str:
    number = Decimal(value)
    digits = len(number.as_tuple().digits)
    return f"a number of {digits:,} digits" if digits > 40 else str(number)


def validate_document(document: LoadedDocument, name: str) -> tuple[list[Diagnostic], Any | None]:
    """Schema diagnostics for a loaded document, positioned at the offending key or value, and the data later
    stages may go on checking: the document's own when it is valid, a copy without the unknown keys when those are
    its only problems (a misspelt key should not hide every later mistake), otherwise None. A spec is also
    checked for values no spec may hold (`spec_value_problems`)."""
    problems = list(validator(name).problems(document.data))
    if name == "spec":
        problems.extend(spec_value_problems(document.data))
    diagnostics = []
    for problem in problems:
        span = document.key_span(problem.path) if problem.at_key else document.span(problem.path)
        if problem.code == "schema-missing-key":
            span = document.key_span(problem.path) if problem.path else document.span(())
        diagnostics.append(Diagnostic(problem.code, problem.message, span, hint=problem.hint))
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
