"""The safety net of the back end: scoring with and without `--explain` gives the same result.

Explaining is a mode of the one scoring path, not a second scorer, so every status, credit, reason and total must be
identical whether or not the trace is kept. Run over every embedded example of the bundled specs and every example
member log, each scored on the day it is meant for.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import Evaluator, load_specs
from ceruleng.inputs import read_members
from ceruleng.testing import member_document

ROOT = Path(__file__).parent.parent
SPECS = load_specs([str(ROOT / "rules")])
EXAMPLES = [(spec, example) for spec in SPECS.values() for example in spec.model.examples]
LOGS = sorted(p for p in (ROOT / "examples").iterdir() if p.suffix in (".yaml", ".json", ".jsonl", ".csv"))


def _without_traces(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_traces(item) for key, item in value.items() if key != "trace"}
    if isinstance(value, list):
        return [_without_traces(item) for item in value]
    return value


def _both_ways(document: Any, as_of: date) -> tuple[Any, Any]:
    plain = Evaluator(SPECS, as_of, explain=False).member(document).to_json()
    explained = Evaluator(SPECS, as_of, explain=True).member(document).to_json()
    return plain, explained


@pytest.mark.parametrize(("spec", "example"), EXAMPLES, ids=[f"{s.id}: {e.name}" for s, e in EXAMPLES])
def test_an_embedded_example_scores_the_same_with_and_without_explain(spec: Any, example: Any) -> None:
    document, as_of = member_document(spec, example)
    plain, explained = _both_ways(document, as_of)
    assert "trace" not in str(plain)
    assert plain == _without_traces(explained)


@pytest.mark.parametrize("log", LOGS, ids=[p.name for p in LOGS])
def test_an_example_member_log_scores_the_same_with_and_without_explain(log: Path) -> None:
    for item in read_members(str(log)):
        plain, explained = _both_ways(item.document, date(2025, 6, 1))
        assert plain == _without_traces(explained)
        traced = [a for c in explained["results"] for a in c["activities"] if a.get("trace")]
        assert traced, "the explained run keeps a trace for the activities a rule was applied to"
