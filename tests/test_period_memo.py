"""A scorer remembers the period each credential's result is about (its memo, keyed by the day scored and the
credential's certification date and attributes); remembering must never change a result, and the memo stays
bounded however many members pass.

Run over every embedded example of the bundled specs and of the generality specs (every layout the language has:
by length, chained by `end`, birth-month and calendar years, grace, look-back): each example scored in one
evaluator that has already scored every other example (so its period comes from the memo, laid out for another
member) gives exactly what a fresh evaluator gives it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import ceruleng.scoring.scorer as scorer_module
from ceruleng.engine import Evaluator, load_specs
from ceruleng.testing import example_period, member_document

ROOT = Path(__file__).parent.parent
SPECS = load_specs([str(ROOT / "rules"), str(ROOT / "tests" / "generality")])
RUNS: dict[tuple[date, Any], list[dict[str, Any]]] = defaultdict(list)
for _spec in SPECS.values():
    for _example in _spec.model.examples:
        _document, _as_of = member_document(_spec, _example)
        RUNS[(_as_of, example_period(_example))].append(_document)


def _fresh(document: dict[str, Any], as_of: date, period: Any) -> Any:
    return Evaluator(SPECS, as_of, period=period).member(document).to_json()


@pytest.mark.parametrize(("as_of", "period"), list(RUNS), ids=[f"{d}/{p}" for d, p in RUNS])
def test_a_remembered_period_gives_what_a_fresh_scorer_gives(as_of: date, period: Any) -> None:
    documents = RUNS[(as_of, period)]
    shared = Evaluator(SPECS, as_of, period=period)
    for document in [*documents, *reversed(documents)]:  # the second pass finds every period remembered
        assert shared.member(document).to_json() == _fresh(document, as_of, period), document["member"]


def test_the_memo_is_bounded_and_starting_afresh_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scorer_module, "LAYOUTS_KEPT", 3)
    spec = SPECS["asap-pace"]
    as_of = date(2025, 6, 1)
    shared = Evaluator(SPECS, as_of)
    for day in range(12):
        certified = (date(2019, 3, 1) + timedelta(days=97 * (day % 7))).isoformat()
        document = {"member": f"M{day}", "credentials": [{"spec": spec.id, "certified_on": certified}],
                    "activities": [{"id": "a", "type": "webinar", "date": "2025-01-15", "hours": 2}]}
        assert shared.member(document).to_json() == _fresh(document, as_of, "due")
        assert len(shared.scorer(spec)._reported) <= 3
