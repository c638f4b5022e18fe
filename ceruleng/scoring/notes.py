"""The sentences the scorer writes itself (not a spec's): a malformed record, an activity outside the period,
credit carried or looked back for, a rule that failed. Each is coded (`reasoncodes.ENGINE`).

Stage 4, evaluate: used by `scoring.scorer`; holds words and codes only, no scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ceruleng.runtime import Reason
from ceruleng.scoring.results import Sentence


class RepeatedId(str):
    """The problem of a record whose id an earlier one has (its reason's code is `duplicate-id`)."""

    __slots__ = ()


def repeated_id(identifier: Any, first: int) -> str:
    """Why a record whose id an earlier one (at `first`) has is malformed."""
    return RepeatedId(f"id: '{identifier}' is used by an earlier activity (position {first + 1}); ids must be "
                      "unique")


def malformed_reasons(problems: Sequence[str]) -> list[Reason]:
    """The reasons of a malformed record: one per problem."""
    return [said("duplicate-id" if isinstance(problem, RepeatedId) else "malformed", f"Malformed: {problem}.")
            for problem in problems]


def said(code: str, text: str) -> Sentence:
    """An engine sentence already written, with its code (`reasoncodes.ENGINE`)."""
    return Sentence((code, str, text))


def outside_reason(day: date, start: date, end: date) -> str:
    """Why an activity dated outside the reported period does not count there."""
    return f"Completed {day.isoformat()}, outside this cycle ({start.isoformat()} to {end.isoformat()})."


CARRIED_NOTE = said("carried-over", "It counted toward an earlier cycle, whose surplus carries over as the spec "
                     "allows.")
LOOK_BACK_NOTE = said("look-back", "Completed before the first period, in its look-back: it counts toward the "
                       "first period.")

PROBLEMS = {"DivisionByZero": "division by zero", "DivisionUndefined": "division by zero",
            "Overflow": "a number too large", "InvalidOperation": "an invalid operation"}


def problem_words(exc: Exception) -> str:
    """What went wrong computing a rule, in words (the decimal module's own messages are for programmers)."""
    return PROBLEMS.get(type(exc).__name__, str(exc))
