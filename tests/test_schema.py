"""The schema stage: jsonschema's errors as our diagnostics, and the published schemas themselves.

`tests/schema_cases/` holds one spec per JSON Schema keyword we map (named after the keyword, `<keyword>--<variant>`
for more), each with the text `ceruleng check` prints for it beside it (`.txt`, compared byte for byte). The goldens
were written by the hand-made validator jsonschema replaced; after an intended change of the output, regenerate them
with `CERULENG_UPDATE_GOLDEN=1 python -m pytest tests/test_schema.py` and review the difference.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ceruleng.schema import MAPPED_KEYWORDS, SCHEMA_NAMES, load_schema, schema_problems, schema_text
from ceruleng.yamlsrc import load_yaml

ROOT = Path(__file__).parent.parent
CASES = Path(__file__).parent / "schema_cases"
UPDATE = os.environ.get("CERULENG_UPDATE_GOLDEN") == "1"

_NAME_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
"""Keywords whose value maps names (not keywords) to schemas."""
_DATA = ("enum", "const", "default", "examples", "required", "type", "title", "description")
"""Keywords whose value is data, not a schema."""


def _keywords(schema: Any) -> Iterator[str]:
    """Every keyword used anywhere in a schema: every key of every schema object, however deep."""
    if isinstance(schema, list):
        for item in schema:
            yield from _keywords(item)
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        yield key
        if key in _NAME_MAPS:
            for item in value.values():
                yield from _keywords(item)
        elif key not in _DATA:
            yield from _keywords(value)


def _references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref":
                yield value
            yield from _references(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _references(item)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_published_schemas_are_valid_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(schema_text(name)))


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_keyword_our_schemas_use_has_a_diagnostic(name: str) -> None:
    """A keyword added to a schema without a mapping to our diagnostics fails here, not in a user's `check`."""
    schema = load_schema(name)
    assert set(_keywords(schema)) - MAPPED_KEYWORDS == set()
    assert all(reference.startswith("#/$defs/") for reference in _references(schema))  # what the mapping resolves


def test_the_keyword_walk_finds_keywords_at_any_depth() -> None:
    nested = {"properties": {"a": {"items": {"oneOf": [{"not": {"multipleOf": 2}}]}}}, "enum": [{"x": 1}]}
    assert {"properties", "items", "oneOf", "not", "multipleOf", "enum"} == set(_keywords(nested))


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_the_repository_files(name: str) -> None:
    assert json.loads(schema_text(name)) == json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())


def test_schema_numbers_are_never_floats() -> None:
    def numbers(value: Any) -> Iterator[Any]:
        if isinstance(value, dict | list):
            for item in value.values() if isinstance(value, dict) else value:
                yield from numbers(item)
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            yield value

    assert not [number for name in SCHEMA_NAMES for number in numbers(load_schema(name)) if isinstance(number, float)]


# ---- one case per keyword, through the command line ---------------------------------------------------------------

CASE_NAMES = sorted(path.stem for path in CASES.glob("*.yaml"))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_check_prints_the_golden_diagnostics(case: str) -> None:
    done = subprocess.run([sys.executable, "-m", "ceruleng", "check", "--no-cache", f"{case}.yaml"], cwd=CASES,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.stderr == ""
    golden = CASES / f"{case}.txt"
    if UPDATE:
        golden.write_text(done.stdout, encoding="utf-8", newline="")
    assert done.stdout == golden.read_text(encoding="utf-8"), f"regenerate with CERULENG_UPDATE_GOLDEN=1 ({case})"
    assert done.returncode == (0 if done.stdout.endswith("no problems\n") else 1)


def test_every_mapped_keyword_that_can_fail_has_a_case() -> None:
    from ceruleng.schema import ANNOTATIONS, APPLICATORS

    failing = MAPPED_KEYWORDS - ANNOTATIONS - APPLICATORS
    assert failing - {name.split("--")[0] for name in CASE_NAMES} == set()


def test_every_case_but_the_valid_ones_reports_a_schema_diagnostic() -> None:
    """Guards against regenerating the goldens blindly: a case shows its keyword's diagnostic."""
    valid = {"type--whole-decimal"}
    for case in CASE_NAMES:
        text = (CASES / f"{case}.txt").read_text(encoding="utf-8")
        assert ("error[schema-" in text) == (case not in valid), case


# ---- the specs we ship, broken in every way we report ------------------------------------------------------------

Change = Callable[[dict[str, Any]], Any]

MUTATIONS: list[tuple[str, Change, list[tuple[str, tuple[str | int, ...]]]]] = [
    ("unknown top-level key", lambda d: d.update(titel="x"), [("schema-unknown-key", ("titel",))]),
    ("missing id", lambda d: d.pop("id"), [("schema-missing-key", ())]),
    ("wrong type", lambda d: d.update(title=5), [("schema-type", ("title",))]),
    ("bad enum", lambda d: d["categories"][0].update(outcome="maybe"),
     [("schema-enum", ("categories", 0, "outcome"))]),
    ("bad pattern", lambda d: d.update(id="Has Spaces"), [("schema-pattern", ("id",))]),
    ("out of range", lambda d: d["unit"].update(places=9), [("schema-range", ("unit", "places"))]),
    ("not whole and out of range", lambda d: d["unit"].update(places=Decimal("9.5")),
     [("schema-type", ("unit", "places"))]),
    ("whole, written with a point", lambda d: d["unit"].update(places=Decimal("2.0")), []),
    ("empty list", lambda d: d.update(categories=[]), [("schema-size", ("categories",))]),
    ("duplicate item", lambda d: d["categories"][0].update(types=["x", "x"]),
     [("schema-size", ("categories", 0, "types", 1))]),
    ("const", lambda d: d.update(ceruleng=2), [("schema-const", ("ceruleng",))]),
    ("const is a number, not a boolean", lambda d: d.update(ceruleng=True), [("schema-const", ("ceruleng",))]),
    ("source of wrong shape", lambda d: d["categories"][0].update(source="just text"),
     [("schema-type", ("categories", 0, "source"))]),
    ("source list with bad item", lambda d: d["categories"][0].update(source=[{"doc": "x"}]),
     [("schema-missing-key", ("categories", 0, "source", 0))]),
    ("cycle with two lengths", lambda d: d.update(cycle={"length": {"years": 1, "months": 2}, "source": []}),
     [("schema-size", ("cycle", "length")), ("schema-size", ("cycle", "source"))]),
    ("bad parameter name", lambda d: d.update(parameters={"Bad Name": {"description": "x", "value": 1}}),
     [("schema-pattern", ("parameters", "Bad Name"))]),
]


def _specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        document, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
        assert document is not None
        yield path.name, document.data


SPECS = list(_specs())


@pytest.mark.parametrize(("spec", "data"), SPECS, ids=[name for name, _ in SPECS])
def test_the_shipped_specs_fit_the_schema(spec: str, data: dict[str, Any]) -> None:
    assert schema_problems(data, "spec") == []


@pytest.mark.parametrize(("label", "change", "expected"), MUTATIONS, ids=[label for label, _, _ in MUTATIONS])
def test_each_mistake_in_a_shipped_spec_is_one_diagnostic_at_its_place(
        label: str, change: Change, expected: list[tuple[str, tuple[str | int, ...]]]) -> None:
    for _, data in SPECS:
        broken = copy.deepcopy(data)
        change(broken)
        assert sorted((p.code, p.path) for p in schema_problems(broken, "spec")) == sorted(expected)


# ---- jsonschema only when a check needs it -----------------------------------------------------------------------


def _imports_jsonschema(arguments: list[str], cache_dir: Path) -> bool:
    """Whether a real `ceruleng` run imports jsonschema (from `python -X importtime`, which lists every import)."""
    environment = {**os.environ, "CERULENG_CACHE_DIR": str(cache_dir)}
    environment.pop("CERULENG_NO_CACHE", None)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ceruleng", *arguments], cwd=ROOT,
                          env=environment, capture_output=True, text=True, check=False, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return any(line.rsplit("|", 1)[-1].strip() == "jsonschema" for line in done.stderr.splitlines())


def test_jsonschema_is_imported_only_when_a_check_misses_the_cache(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    spec = str(tmp_path / "rules" / "asap-pace.yaml")
    assert not _imports_jsonschema(["--help"], tmp_path / "cache")
    assert _imports_jsonschema(["check", spec], tmp_path / "cache")  # a miss: validates (and fills the cache)
    assert not _imports_jsonschema(["check", spec], tmp_path / "cache")  # a hit
