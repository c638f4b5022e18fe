"""Versioning without copies, as the language says it: each spec in tests/versions/ shows one capability alone — a
dated version of a category that states only what changed, rule values (rounding mode and increment included) from
dated parameters, tables with named value columns, reason templates that format numbers and join text — with its
edge cases as embedded examples, run through the same runner as `ceruleng test`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import check_file, load_specs
from ceruleng.testing import run_example

HERE = Path(__file__).parent / "versions"
SPECS = load_specs([str(HERE)])
CASES = [(spec, example) for spec in SPECS.values() for example in spec.model.examples]


@pytest.mark.parametrize("path", sorted(HERE.glob("*.yaml")), ids=lambda p: p.name)
def test_a_versions_spec_checks_clean(path: Path) -> None:
    checked = check_file(str(path))
    assert not checked.diagnostics, [f"{d.span}: {d.code}: {d.message}" for d in checked.diagnostics]
    assert checked.spec is not None and checked.spec.model.examples


@pytest.mark.parametrize(("spec", "example"), CASES, ids=[f"{s.id}: {e.name}" for s, e in CASES])
def test_a_versions_example(spec: Any, example: Any) -> None:
    run = run_example(SPECS, spec, example)
    assert run.passed, "\n".join(f"{f.span}: {f.message}" for f in run.failures)
