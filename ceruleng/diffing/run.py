"""`ceruleng diff --members`: every member scored under the old and the new specs, streamed, on one or N processes.

Input: both sets of compiled specs, the spec diff, member files, the as-of day, and a diff writer. Output: every
member whose results change written in input order, and the `ImpactSummary` of the whole membership.

The same design as `ceruleng.batch`: one member is read, scored twice, compared and written before the next, so
memory stays flat; with `--jobs N` a JSON Lines file is cut into blocks of whole lines (`batch.blocks_in_order`) that
worker processes read, score twice, compare and render, and the parent writes the rendered blocks in order and adds
up their summaries. Scoring twice is the whole cost; comparing is a walk over two result lists.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ceruleng.batch import blocks_in_order, spool, worker_signals
from ceruleng.compiled import CompiledSpec
from ceruleng.diffing.impact import Attribution, ImpactSummary, compare_member
from ceruleng.diffing.specdiff import SpecDiff, diff_specs
from ceruleng.engine import Evaluator
from ceruleng.inputs import detect_format, parse_line, read_members
from ceruleng.report.diff import DiffWriter


class MemberDiffer:
    """Scores one member document under both spec sets and compares the results."""

    def __init__(self, old: Mapping[str, CompiledSpec], new: Mapping[str, CompiledSpec], spec_diff: SpecDiff,
                 as_of: date, seed: int) -> None:
        self.old = Evaluator(old, as_of, False, seed)
        self.new = Evaluator(new, as_of, False, seed)
        self.attribution = Attribution(spec_diff)

    def diff(self, document: Any, file: str | None, line: int | None, problem: str | None,
             summary: ImpactSummary) -> Any:
        before = self.old.member(document, file, line, problem)
        after = self.new.member(document, file, line, problem)
        change = compare_member(before, after, self.attribution)
        summary.add(before, change)
        return change


def diff_members(old: Mapping[str, CompiledSpec], new: Mapping[str, CompiledSpec], spec_diff: SpecDiff,
                 rules: tuple[Sequence[str], Sequence[str]], paths: Sequence[str], input_format: str | None,
                 as_of: date, seed: int, jobs: int, writer: DiffWriter) -> ImpactSummary:
    """Every member of every input compared; `rules` are the old and new spec paths (for spawned workers)."""
    workers = (os.cpu_count() or 1) if jobs == 0 else jobs
    differ = MemberDiffer(old, new, spec_diff, as_of, seed)
    summary = ImpactSummary()
    for path in paths:
        if workers > 1 and path != "-" and detect_format(path, input_format) == "jsonl":
            summary.merge(_parallel(differ, (old, new), rules, path, workers, as_of, seed, writer))
            continue
        for item in read_members(path, input_format):
            change = differ.diff(item.document, item.file, item.line, item.problem, summary)
            if change is not None:
                writer.write(change)
    return summary


# ---- parallel ----------------------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(specs: tuple[Mapping[str, CompiledSpec], Mapping[str, CompiledSpec]] | None,
                 rules: tuple[Sequence[str], Sequence[str]], as_of: date, seed: int, render: Any,
                 joiner: str, folder: str) -> None:
    worker_signals()
    if specs is None:  # spawned, not forked: compile the specs again from their files
        from ceruleng.engine import load_specs

        specs = (load_specs(rules[0]), load_specs(rules[1]))
    old, new = specs
    spec_diff = diff_specs({k: v.model for k, v in old.items()}, {k: v.model for k, v in new.items()})
    _worker.update(differ=MemberDiffer(old, new, spec_diff, as_of, seed), render=render, joiner=joiner,
                   folder=folder)


def _diff_range(path: str, offset: int, length: int, first_line: int) -> tuple[str, ImpactSummary]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    differ: MemberDiffer = _worker["differ"]
    render = _worker["render"]
    summary = ImpactSummary()
    pieces = []
    for number, raw in enumerate(lines, start=first_line):
        item = parse_line(path, number, raw)
        if item is None:
            continue
        change = differ.diff(item.document, item.file, item.line, item.problem, summary)
        if change is not None:
            pieces.append(render(change))
    return spool(_worker["joiner"].join(pieces).encode("utf-8"), _worker["folder"], str(offset)), summary


def _parallel(differ: MemberDiffer, specs: tuple[Mapping[str, CompiledSpec], Mapping[str, CompiledSpec]],
              rules: tuple[Sequence[str], Sequence[str]], path: str, workers: int, as_of: date, seed: int,
              writer: DiffWriter) -> ImpactSummary:
    del differ  # workers build their own (a forked one shares the parent's compiled specs)
    summary = ImpactSummary()
    initargs = (specs, rules, as_of, seed, type(writer).render, writer.joiner)
    with contextlib.closing(blocks_in_order(path, workers, _init_worker, initargs, _diff_range)) as blocks:
        for block, part in blocks:
            writer.write_block(block)
            summary.merge(part)
    return summary
