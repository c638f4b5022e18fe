"""Scoring whole inputs: every member document of every activity file, in order, streamed.

Input: loaded specs, activity paths, the as-of day and options. Output: an iterator of `MemberResult` in input
order. One member is read, scored and handed to the writer before the next is read, so memory stays flat however
long a JSON Lines batch is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

from ceruleng.compiler import CompiledSpec
from ceruleng.engine import Evaluator
from ceruleng.inputs import read_members
from ceruleng.results import MemberResult


def score_inputs(specs: Mapping[str, CompiledSpec], rules: tuple[str, ...], paths: tuple[str, ...],
                 input_format: str | None, as_of: date, explain: bool, seed: int,
                 jobs: int) -> Iterator[MemberResult]:
    """Member results for every input, in order."""
    evaluator = Evaluator(specs, as_of, explain, seed)
    for path in paths:
        yield from evaluator.members(read_members(path, input_format))
