"""Counting across activities as the language says it: each spec in tests/ledger/ shows one capability of the ledger
alone (tags, limits over any selection of credit, rules over the period's totals, repeats, tiers and credit per
year, carry-over with filters), with its edge cases — ties in date order, one entry cut by two limits, carry-over of
a tagged entry, a repeat in the next period — as embedded examples, run through the same runner as `ceruleng test`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import check_file, load_specs
from ceruleng.testing import run_example

HERE = Path(__file__).parent / "ledger"
SPECS = load_specs([str(HERE)])
CASES = [(spec, example) for spec in SPECS.values() for example in spec.model.examples]


@pytest.mark.parametrize("path", sorted(HERE.glob("*.yaml")), ids=lambda p: p.name)
def test_a_ledger_spec_checks_clean(path: Path) -> None:
    checked = check_file(str(path))
    assert not checked.diagnostics, [f"{d.span}: {d.code}: {d.message}" for d in checked.diagnostics]
    assert checked.spec is not None and checked.spec.model.examples


@pytest.mark.parametrize(("spec", "example"), CASES, ids=[f"{s.id}: {e.name}" for s, e in CASES])
def test_a_ledger_example(spec: Any, example: Any) -> None:
    run = run_example(SPECS, spec, example)
    assert run.passed, "\n".join(f"{f.span}: {f.message}" for f in run.failures)
