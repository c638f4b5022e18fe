"""The language's capabilities shown one at a time: each spec in tests/windows/, tests/ledger/ and tests/versions/
shows one thing alone, with its edge cases as embedded examples. Every spec must check clean (but for the lint its
capability earns) and every example must pass, through the same runner as `ceruleng test`.

- windows/: how bodies lay periods out or count over them — calendar and fiscal years, even-year periods,
  birth-month years with a first period and a look-back, cycles ending in the birth month, rolling windows, grace,
  parts of a period, pro-rating, the scoring day.
- ledger/: counting across activities — tags, limits over any selection of credit, rules over the period's totals,
  repeats, tiers and credit per year, carry-over with filters — with ties in date order, one entry cut by two
  limits, carry-over of a tagged entry, a repeat in the next period.
- versions/: versioning without copies — a dated version of a category that states only what changed, rule values
  (rounding mode and increment included) from dated parameters, tables with named value columns, reason templates
  that format numbers and join text.
- generality/: policies the language was not written for (PMI PMP, Florida nursing, NCCPA PA-C, engineering PDH),
  paraphrased from memory as a test of how far the model reaches without Python changes — NOT authoritative rules;
  see each spec's sources/ file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import check_file, load_specs
from ceruleng.testing import run_example

TESTS = Path(__file__).parent
FOLDERS = ("windows", "ledger", "versions", "generality")
EXPECTED_LINTS = {"windows/rolling.yaml": {"window-before-history"}}
"""The diagnostics a capability's spec earns by showing it (a rolling window longer than a member's history)."""

SPECS = {folder: load_specs([str(TESTS / folder)]) for folder in FOLDERS}
FILES = [path for folder in FOLDERS for path in sorted((TESTS / folder).glob("*.yaml"))]
CASES = [(folder, spec, example) for folder, specs in SPECS.items() for spec in specs.values()
         for example in spec.model.examples]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_capability_spec_checks_clean(path: Path) -> None:
    checked = check_file(str(path))
    shown = [f"{d.span}: {d.code}: {d.message}" for d in checked.diagnostics]
    expected = EXPECTED_LINTS.get(f"{path.parent.name}/{path.name}", set())
    assert {d.code for d in checked.diagnostics} == expected, shown
    assert checked.spec is not None and checked.spec.model.examples


@pytest.mark.parametrize(("folder", "spec", "example"), CASES, ids=[f"{f}/{s.id}: {e.name}" for f, s, e in CASES])
def test_a_capability_example(folder: str, spec: Any, example: Any) -> None:
    run = run_example(SPECS[folder], spec, example)
    assert run.passed, "\n".join(f"{f.span}: {f.message}" for f in run.failures)
