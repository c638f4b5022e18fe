"""Compiler stage: embedded examples must fit the activity schema and name things the spec has.

Input: the spec's examples and the compiled record coercer. Output: `example-invalid-activity` (a record that
would be rejected as malformed, unless the example expects exactly that), `example-duplicate-id`,
`unknown-category` for an expected category the spec lacks, and `example-shape` for an example with neither an
activity nor a log. Running the examples is `ceruleng test`'s job; this stage only makes sure they can run.
"""

from __future__ import annotations

from typing import Any

from ceruleng.compiler.state import CompileState
from ceruleng.errors import did_you_mean
from ceruleng.fields import Coercer
from ceruleng.model import Example


def example_activities(example: Example) -> list[tuple[tuple[Any, ...], Any]]:
    """The example's activity records with their document paths."""
    data = example.data
    if "activity" in data:
        return [((*example.path, "activity"), data["activity"])]
    return [((*example.path, "activities", index), item) for index, item in enumerate(data.get("activities", ()))]


def _expected_malformed(example: Example, index: int, record: Any) -> bool:
    expect = example.data.get("expect")
    results = expect if isinstance(expect, list) else [expect]
    for result in results:
        if not isinstance(result, dict):
            continue
        if result.get("malformed") and "activity" in example.data:
            return True
        activity_id = str(record.get("id")) if isinstance(record, dict) else None
        expected = (result.get("activities") or {}).get(activity_id) or {}
        if expected.get("malformed"):
            return True
    return False


def check_examples(state: CompileState, coerce: Coercer) -> None:
    """Every example's records must fit the spec's record checker (unless it expects them malformed)."""
    document = state.model.document
    for example in state.model.examples:
        records = example_activities(example)
        if not records:
            state.error("example-shape", f"example '{example.name}' has neither 'activity' nor 'activities'",
                        example.span)
            continue
        seen: set[str] = set()
        for index, (path, written) in enumerate(records):
            record = ({**written, "id": "A1"} if isinstance(written, dict) and "id" not in written
                      and "activity" in example.data else written)
            _typed, problems = coerce(record)
            if problems and not _expected_malformed(example, index, record):
                state.error("example-invalid-activity", f"example '{example.name}': {problems[0]}",
                            document.span(path), "; ".join(problems[1:]) or None)
            activity_id = str(record.get("id")) if isinstance(record, dict) else ""
            if activity_id in seen:
                state.error("example-duplicate-id", f"example '{example.name}' has two activities with id "
                            f"'{activity_id}'", document.span(path))
            seen.add(activity_id)
        _check_expected_categories(state, example)


def _check_expected_categories(state: CompileState, example: Example) -> None:
    expect = example.data.get("expect")
    results = expect if isinstance(expect, list) else [expect]
    for number, result in enumerate(results):
        if not isinstance(result, dict):
            continue
        base = (*example.path, "expect", number) if isinstance(expect, list) else (*example.path, "expect")
        named = [((*base, "category"), result.get("category"))]
        named += [((*base, "activities", key, "category"), value.get("category"))
                  for key, value in (result.get("activities") or {}).items() if isinstance(value, dict)]
        named += [((*base, "categories", key), key) for key in result.get("categories") or {}]
        for path, category in named:
            if category is not None and category not in state.category_ids:
                state.error("unknown-category", f"example '{example.name}' expects unknown category '{category}'",
                            state.model.document.span(path), did_you_mean(str(category), state.category_ids))
