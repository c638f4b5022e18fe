"""Scoring whole inputs, streamed: one member read, scored and written before the next, on one or N processes.

Input: loaded specs, activity paths, the as-of day, options, and a writer. Output: every member's result written in
input order, and whether any input was malformed.

Why it is built this way:
- Sequential (`--jobs 1`): read one member, score it, write it. Memory does not grow with the batch.
- Parallel (`--jobs N`, JSON Lines only): the parent reads raw lines in chunks and hands them to N worker
  processes, which parse, score and *render* them (so results never cross a process boundary as objects); the
  parent writes rendered chunks in input order. At most a few chunks per worker are in flight, so memory stays flat
  however long the file is. Workers inherit the compiled specs when the platform forks; otherwise they compile them
  once from the same rule paths.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from ceruleng.compiler import CompiledSpec
from ceruleng.engine import Evaluator
from ceruleng.inputs import detect_format, parse_line, read_members
from ceruleng.report.results import RunSummary, Writer

CHUNK_LINES = 256
"""JSON Lines per task: large enough to amortise inter-process overhead, small enough to keep memory flat."""
IN_FLIGHT_PER_WORKER = 4


def score_inputs(specs: Mapping[str, CompiledSpec], rules: tuple[str, ...], paths: tuple[str, ...],
                 input_format: str | None, as_of: date, explain: bool, seed: int, jobs: int,
                 writer: Writer, progress: Any = None) -> bool:
    """Score every input into `writer`; returns whether any input was malformed."""
    workers = (os.cpu_count() or 1) if jobs == 0 else jobs
    evaluator = Evaluator(specs, as_of, explain, seed)
    malformed = False
    for path in paths:
        parallel = workers > 1 and path != "-" and detect_format(path, input_format) == "jsonl"
        if parallel:
            malformed |= _parallel(evaluator, rules, path, workers, writer, progress)
            continue
        for result in evaluator.members(read_members(path, input_format)):
            writer.write(result)
            malformed = malformed or result.malformed
            if progress is not None:
                progress.tick(1, result.activity_count)
    return malformed


# ---- parallel ----------------------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(specs: Mapping[str, CompiledSpec] | None, rules: tuple[str, ...], as_of: date, explain: bool,
                 seed: int, render: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    if specs is None:
        from ceruleng.engine import load_specs

        specs = load_specs(rules)
    _worker["evaluator"] = Evaluator(specs, as_of, explain, seed)
    _worker["render"] = render


def _score_chunk(path: str, first_line: int, lines: list[bytes]) -> tuple[list[str], RunSummary, bool, int]:
    """Parse, score and render a chunk of JSON Lines in a worker."""
    evaluator: Evaluator = _worker["evaluator"]
    render = _worker["render"]
    pieces = []
    summary = RunSummary()
    malformed = False
    activities = 0
    for offset, raw in enumerate(lines):
        item = parse_line(path, first_line + offset, raw)
        if item is None:
            continue
        result = evaluator.member(item.document, item.file, item.line, item.problem)
        summary.add(result)
        malformed = malformed or result.malformed
        activities += result.activity_count
        pieces.append(render(result))
    return pieces, summary, malformed, activities


def _chunks(path: str) -> Iterator[tuple[int, list[bytes]]]:
    """(first line number, lines) chunks of a JSON Lines file, read lazily."""
    from ceruleng.errors import InputError

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        chunk: list[bytes] = []
        first = 1
        for number, line in enumerate(handle, start=1):
            if not chunk:
                first = number
            chunk.append(line)
            if len(chunk) >= CHUNK_LINES:
                yield first, chunk
                chunk = []
        if chunk:
            yield first, chunk


def _parallel(evaluator: Evaluator, rules: tuple[str, ...], path: str, workers: int, writer: Writer,
              progress: Any) -> bool:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    inherited = evaluator.specs if context.get_start_method() == "fork" else None
    malformed = False
    pool = context.Pool(workers, _init_worker,
                        (inherited, rules, evaluator.as_of, evaluator.explain, evaluator.seed, writer.render))
    try:
        pending: deque[Any] = deque()
        for first, lines in _chunks(path):
            pending.append(pool.apply_async(_score_chunk, (path, first, lines)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                malformed |= _drain(pending.popleft(), writer, progress)
        while pending:
            malformed |= _drain(pending.popleft(), writer, progress)
    except BaseException:
        _abandon(pool)
        raise
    pool.close()
    pool.join()
    return malformed


def _abandon(pool: Any) -> None:
    """Stop the workers at once when the run is ending early (broken pipe, Ctrl-C, an error).

    `Pool.terminate()` can deadlock here: its feeder thread may be blocked writing a chunk to a worker pipe that
    nobody will read again, and terminate joins that thread. The process is about to exit, so kill the workers and
    cancel the pool's own shutdown instead; its helper threads are daemons and end with the process.
    """
    from multiprocessing.pool import TERMINATE

    handler = getattr(pool, "_worker_handler", None)
    if handler is not None:  # first stop the thread that replaces dead workers, or it would fork new ones
        handler._state = TERMINATE
        with contextlib.suppress(Exception):
            pool._change_notifier.put(None)
        handler.join(timeout=2.0)
    for process in list(getattr(pool, "_pool", ())):
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    finalizer = getattr(pool, "_terminate", None)
    if finalizer is not None:
        finalizer.cancel()


def _drain(task: Any, writer: Writer, progress: Any) -> bool:
    pieces, summary, malformed, activities = task.get()
    for piece in pieces:
        writer.write_piece(piece)
    writer.summary.merge(summary)
    if progress is not None:
        progress.tick(summary.members, activities)
    return bool(malformed)
