"""Windows as the language says them: each spec in tests/windows/ shows one way bodies lay periods out or count over
them (calendar and fiscal years, even-year periods, birth-month years with a first period and a look-back, cycles
ending in the birth month, rolling windows, grace, parts of a period, pro-rating), with its edge cases as embedded
examples. Every spec must check clean and every example must pass — through the same runner as `ceruleng test`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import check_file, load_specs
from ceruleng.testing import run_example

HERE = Path(__file__).parent / "windows"
SPECS = load_specs([str(HERE)])
CASES = [(spec, example) for spec in SPECS.values() for example in spec.model.examples]


@pytest.mark.parametrize("path", sorted(HERE.glob("*.yaml")), ids=lambda p: p.name)
def test_a_window_spec_checks_clean(path: Path) -> None:
    checked = check_file(str(path))
    shown = [f"{d.span}: {d.code}: {d.message}" for d in checked.diagnostics]
    expected = {"rolling.yaml": {"window-before-history"}}.get(path.name, set())  # the lint a rolling window earns
    assert {d.code for d in checked.diagnostics} == expected, shown
    assert checked.spec is not None and checked.spec.model.examples


@pytest.mark.parametrize(("spec", "example"), CASES, ids=[f"{s.id}: {e.name}" for s, e in CASES])
def test_a_window_example(spec: Any, example: Any) -> None:
    run = run_example(SPECS, spec, example)
    assert run.passed, "\n".join(f"{f.span}: {f.message}" for f in run.failures)
