"""Every worked example embedded in the bundled specs, as a pytest case (the same runner as `ceruleng test`)."""

from __future__ import annotations

import pytest

from ceruleng.engine import load_specs
from ceruleng.testing import ExampleRun, run_example

SPECS = load_specs(["rules"])
CASES = [(spec, example) for spec in SPECS.values() for example in spec.model.examples]


@pytest.mark.parametrize(("spec", "example"), CASES, ids=[f"{s.id}: {e.name}" for s, e in CASES])
def test_embedded_example(spec, example) -> None:  # type: ignore[no-untyped-def]
    run: ExampleRun = run_example(SPECS, spec, example)
    assert run.passed, "\n".join(f"{f.span}: {f.message}" for f in run.failures)


def test_every_bundled_spec_has_examples() -> None:
    assert all(spec.model.examples for spec in SPECS.values())
