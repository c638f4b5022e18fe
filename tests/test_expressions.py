"""The expression language end to end, one case per entry of tests/expressions/cases.yaml.

Each case is parsed, checked in the scope of scope.yaml, compiled to Python and run: the value, the diagnostic code
and column, or the run-time failure must be the expected one. Adding a case needs no Python.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from expression_runner import run_expression

from ceruleng.errors import ExpressionError
from ceruleng.expr.checker import Binding, Scope
from ceruleng.expr.types import DATE, NUMBER, SEGMENT, TEXT, ListType, ScaleType, Type
from ceruleng.runtime import Missing
from ceruleng.values import ValueProblem, format_value, parse_iso_date

HERE = Path(__file__).parent / "expressions"
GRADES = ScaleType("grade", ("F", "D", "C-", "C", "C+", "B-", "B", "B+", "A-", "A", "A+"))
TYPES: dict[str, Type] = {"number": NUMBER, "text": TEXT, "date": DATE, "grade": GRADES,
                          "segments": ListType(SEGMENT), "text-list": ListType(TEXT)}


def _value(kind: str, raw: Any) -> Any:
    if kind == "number":
        return Decimal(str(raw))
    if kind == "date":
        return parse_iso_date(raw)
    if kind == "segments":
        return [{"kind": s["kind"], "minutes": Decimal(str(s["minutes"]))} for s in raw]
    if kind == "text-list":
        return tuple(raw)
    return raw


SCOPE_SPEC = yaml.safe_load((HERE / "scope.yaml").read_text())
SCOPE = Scope(
    Binding(name, TYPES[entry["type"]], "attribute", optional=entry.get("missing", False))
    for name, entry in SCOPE_SPEC.items()
)
VALUES = {name: None if entry.get("missing") else _value(entry["type"], entry["value"])
          for name, entry in SCOPE_SPEC.items()}
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())["cases"]


def _run(text: str) -> Any:
    return run_expression(text, SCOPE, VALUES, "case")


@pytest.mark.parametrize("case", CASES, ids=[c["expr"] or "<empty>" for c in CASES])
def test_expression(case: dict[str, Any]) -> None:
    text = case["expr"]
    if "error" in case:
        with pytest.raises(ExpressionError) as raised:
            _run(text)
        found = [(d.code, d.span.column) for d in raised.value.diagnostics]
        assert (case["error"], case["column"]) in found, found
        if "hint" in case:
            hints = [d.hint for d in raised.value.diagnostics if d.code == case["error"]]
            assert case["hint"] in hints
        return
    if "raises" in case:
        expected = {"missing": Missing, "arithmetic": (ArithmeticError, ValueProblem)}[case["raises"]]
        with pytest.raises(expected):
            _run(text)
        return
    result = _run(text)
    assert not isinstance(result, float), "a float escaped into a result"
    assert format_value(result) == case["value"]


def _reference_examples() -> list[tuple[str, str]]:
    """`expression → value` pairs from the function table (docs/language.md shows the same examples).

    Examples that need context ("… when …", "… for …") or a table are explained in words, not run here.
    """
    from ceruleng.expr.builtins import FUNCTIONS

    pairs = []
    for builtin in FUNCTIONS.values():
        for example in builtin.example.split("; "):
            expression, arrow, value = example.partition(" → ")
            if arrow and " for " not in value and " when " not in value:
                pairs.append((expression, value.strip('"')))
    return pairs


@pytest.mark.parametrize(("text", "value"), _reference_examples())
def test_the_function_reference_examples_give_what_they_say(text: str, value: str) -> None:
    result = _run(text)
    assert (str(result).lower() if isinstance(result, bool) else format_value(result)) == value


def test_every_function_has_a_python_form() -> None:
    """A function the checker accepts is one the back end can write (or writes itself: has, default, aggregates)."""
    from ceruleng.backend.expressions import CALLS, Emitter
    from ceruleng.expr.builtins import FUNCTIONS

    written_by_emitter = {name.removeprefix("call_") for name in dir(Emitter) if name.startswith("call_")}
    assert set(CALLS) | written_by_emitter == set(FUNCTIONS)
    assert not set(CALLS) & written_by_emitter
