"""Our schema validator against the reference (jsonschema), and the published schemas themselves."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ceruleng.schema import SCHEMA_NAMES, SUPPORTED_KEYWORDS, Validator, load_schema, schema_text
from ceruleng.yamlsrc import load_yaml

ROOT = Path(__file__).parent.parent


def _keywords(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            if key in ("properties", "$defs", "patternProperties"):
                for item in value.values():
                    yield from _keywords(item)
            elif key in ("items", "additionalProperties", "propertyNames") or key == "not":
                yield from _keywords(value)
            elif key in ("oneOf", "anyOf", "allOf"):
                for item in value:
                    yield from _keywords(item)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_published_schemas_are_valid_2020_12_and_use_only_supported_keywords(name: str) -> None:
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(_keywords(schema)) <= SUPPORTED_KEYWORDS


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_the_repository_files(name: str) -> None:
    assert json.loads(schema_text(name)) == json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())


def _spec_documents() -> Iterator[tuple[str, Any]]:
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        document, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
        assert document is not None
        yield path.name, document.data


def _mutations(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Broken variants of a valid spec: every kind of schema violation we report."""
    yield "valid", data
    for label, change in [
        ("unknown top-level key", lambda d: d.update(titel="x")),
        ("missing id", lambda d: d.pop("id")),
        ("wrong type", lambda d: d.update(title=5)),
        ("bad enum", lambda d: d["categories"][0].update(outcome="maybe")),
        ("bad pattern", lambda d: d.update(id="Has Spaces")),
        ("out of range", lambda d: d["unit"].update(places=9)),
        ("empty list", lambda d: d.update(categories=[])),
        ("duplicate item", lambda d: d["categories"][0].update(types=["x", "x"])),
        ("const", lambda d: d.update(ceruleng=2)),
        ("source of wrong shape", lambda d: d["categories"][0].update(source="just text")),
        ("source list with bad item", lambda d: d["categories"][0].update(source=[{"doc": "x"}])),
        ("cycle with two lengths", lambda d: d.update(cycle={"length": {"years": 1, "months": 2}, "source": []})),
    ]:
        variant = copy.deepcopy(data)
        change(variant)
        yield label, variant


def _numbers(plain: Any, original: Any) -> Any:
    """The data as jsonschema reads JSON: our Decimals become JSON numbers (a float is fine for a type check)."""
    if isinstance(original, dict):
        return {key: _numbers(plain[key], value) for key, value in original.items()}
    if isinstance(original, list):
        return [_numbers(p, o) for p, o in zip(plain, original, strict=True)]
    if isinstance(original, Decimal):
        return float(original)  # noqa: RUF100 - test-only: the reference validator reads JSON numbers
    return plain


CASES = [(f"{name}: {label}", variant) for name, data in _spec_documents() for label, variant in _mutations(data)]


@pytest.mark.parametrize(("label", "data"), CASES, ids=[label for label, _ in CASES])
def test_our_validator_agrees_with_jsonschema(label: str, data: Any) -> None:
    schema = load_schema("spec")
    plain = json.loads(json.dumps(data, default=str), parse_float=float)
    reference = {tuple(error.absolute_path) for error in
                 jsonschema.Draft202012Validator(schema).iter_errors(_numbers(plain, data))}
    ours = list(Validator(schema).problems(data))
    assert bool(reference) == bool(ours), (reference, ours)
    if label.endswith("valid"):
        assert not ours
