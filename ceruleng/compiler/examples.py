"""Compiler stage: embedded examples must fit the activity schema and name things the spec has.

Input: the spec's examples and the compiled record coercer. Output: `example-invalid-activity` (a record that
would be rejected as malformed, unless the example expects exactly that), `example-duplicate-id`,
`unknown-category` for an expected category the spec lacks, and `example-shape` for an example with neither an
activity nor a log. Running the examples is `ceruleng test`'s job; this stage only makes sure they can run.
"""

from __future__ import annotations

from ceruleng.compiler.state import CompileState
from ceruleng.errors import did_you_mean
from ceruleng.fields import Coercer
from ceruleng.model import Example
from ceruleng.values import parse_iso_date


def check_examples(state: CompileState, coerce: Coercer) -> None:
    """Every example's records must fit the spec's record checker (unless it expects them malformed)."""
    document = state.model.document
    for example in state.model.examples:
        if not example.shaped:
            state.error("example-shape", f"example '{example.name}' has neither 'activity' nor 'activities'",
                        example.span)
            continue
        _check_period(state, example)
        seen: set[str] = set()
        for record in example.records:
            _typed, problems = coerce(record.record)
            if problems and not example.expects_malformed(record):
                state.error("example-invalid-activity", f"example '{example.name}': {problems[0]}",
                            document.span(record.path), "; ".join(problems[1:]) or None)
            activity_id = record.id or ""
            if activity_id in seen:
                state.error("example-duplicate-id", f"example '{example.name}' has two activities with id "
                            f"'{activity_id}'", document.span(record.path))
            seen.add(activity_id)
        for expected in example.expectations:
            for path, category in expected.named_categories():
                if category not in state.category_ids:
                    state.error("unknown-category", f"example '{example.name}' expects unknown category "
                                f"'{category}'", document.span(path), did_you_mean(str(category), state.category_ids))


def _check_period(state: CompileState, example: Example) -> None:
    """`period:` is a word the schema allows or a date; a date the calendar lacks (2025-02-30) is `date-invalid`."""
    if example.period is None or not example.period[:1].isdigit():
        return                                   # a word: the schema allows only eval --period's words
    try:
        parse_iso_date(example.period)
    except ValueError as exc:
        state.error("date-invalid", f"example '{example.name}': period {exc}",
                    state.model.document.span((*example.path, "period")))
