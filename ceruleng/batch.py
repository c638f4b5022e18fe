"""Scoring whole inputs, streamed: one member read, scored and written before the next, on one or N processes.

Input: loaded specs, activity paths, the as-of day, options, and a writer. Output: every member's result written in
input order, and whether any input was malformed.

Why it is built this way:
- Sequential (`--jobs 1`): read one member, score it, write it. Memory does not grow with the batch.
- Parallel (`--jobs N`, JSON Lines only): the parent only cuts the file into blocks of whole lines and hands their
  byte ranges (with the first line's number) to N worker processes, which read, parse, score and *render* them (so
  neither lines nor results cross a process boundary as objects); the parent writes the rendered, encoded blocks
  in input order. On two cores the parent shares a core with a worker, so what it does is kept to C-speed work.
  At most a few blocks per worker are in flight, so memory stays flat however long the file is. Workers inherit
  the compiled specs when the platform forks; otherwise they compile them once from the same rule paths.
- A worker leaves each rendered block in a temporary folder of the run's own (`spool`), and only its file name
  travels back through the pool. `multiprocessing.Pool`'s worker-handler thread wakes whenever the result pipe is
  readable, so a block of a megabyte sent through it kept that thread spinning while another read it: on a
  1,000,000-activity batch, about a second of the parent's CPU, taken from the workers on two cores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from ceruleng.compiled import CompiledSpec
from ceruleng.engine import Evaluator
from ceruleng.inputs import MemberInput, detect_format, read_members
from ceruleng.lines import read_block, score_lines
from ceruleng.report.writers import RunSummary, Writer

if TYPE_CHECKING:
    from ceruleng.scoring.results import MemberResult

CHUNK_BYTES = 256 * 1024
"""Size of the blocks of whole lines handed to a worker (a few hundred members): large enough to amortise
inter-process overhead, small enough to keep memory flat."""
IN_FLIGHT_PER_WORKER = 4


def score_inputs(specs: Mapping[str, CompiledSpec], rules: tuple[str, ...], paths: tuple[str, ...],
                 input_format: str | None, as_of: date, explain: bool, seed: int, jobs: int,
                 writer: Writer, progress: Any = None, contain: bool = True, period: str | date = "due") -> bool:
    """Score every input into `writer`; returns whether any input was malformed. (Members a bug cut short are
    counted in `writer.summary.internal`; `contain=False` lets such a bug propagate instead.)"""
    workers = (os.cpu_count() or 1) if jobs == 0 else jobs
    evaluator = Evaluator(specs, as_of, explain, seed, contain=contain, period=period)
    malformed = False
    for path in paths:
        parallel = (workers > 1 and writer.blocks and path != "-"
                    and detect_format(path, input_format) == "jsonl")
        if parallel:
            malformed |= _parallel(evaluator, rules, path, workers, writer, progress)
            continue
        malformed |= score_items(evaluator, read_members(path, input_format), writer, progress)
    return malformed


def score_items(evaluator: Evaluator, items: Iterable[MemberInput], writer: Writer, progress: Any = None) -> bool:
    """Score member inputs one at a time into `writer` (each with its document, for titles); whether any input
    was malformed. The command line and the HTTP service both score through here, so they print the same."""
    malformed = False
    for item in items:
        result = evaluator.member(item.document, item.file, item.line, item.problem)
        writer.write(result, item.document)
        malformed = malformed or result.malformed
        if progress is not None:
            progress.tick(1, result.activity_count)
    return malformed


# ---- parallel ----------------------------------------------------------------------------------------------------


_worker: dict[str, Any] = {}


def _init_worker(specs: Mapping[str, CompiledSpec] | None, rules: tuple[str, ...], as_of: date, explain: bool,
                 seed: int, render: Any, joiner: str, period: str | date, folder: str) -> None:
    worker_signals()
    if specs is None:
        from ceruleng.engine import load_specs

        specs = load_specs(rules)
    _worker["scoring"] = {"specs": specs, "as_of": as_of, "explain": explain, "seed": seed, "period": period,
                          "render": render}
    _worker["joiner"] = joiner
    _worker["folder"] = folder


STOPPING_SIGNALS = frozenset(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
"""The signals that stop a run: blocked while the worker pool starts (`blocks_in_order`), so none lands half-way
through it, and unblocked in each worker once `worker_signals` has set it up."""


def worker_signals() -> None:
    """In a worker, first thing: Ctrl-C is ignored (the parent handles it and stops the pool); SIGTERM and SIGHUP end
    it at once, quietly, unless they were ignored (`nohup`); then the signals blocked while the pool started are
    let through. It was forked with the parent's handlers, which unwind the parent like Ctrl-C
    (`cli._terminate_like_interrupt`); a worker has nothing to unwind, and the parent cleans up after it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:  # ignored (nohup) stays ignored
            signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING_SIGNALS)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """The stopping signals held back while the block runs, then delivered (a signal that came meanwhile is raised
    as the block ends). Starting a pool forks workers and helper threads: a signal in the middle would leave a
    pool that nothing abandons, whose finalizer can hang on a lock a killed worker held, or whose handler forks
    replacements after the parent has gone. Workers and threads inherit the mask; workers unblock their own."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _score_range(path: str, offset: int, length: int, first_line: int) -> tuple[str, tuple[RunSummary, bool, int]]:
    """Read, parse, score and render one block of JSON Lines in a worker; the rendered results are left as one
    block of UTF-8 in the run's folder (`spool`), which the parent writes as it is."""
    summary = RunSummary()
    malformed = False
    activities = 0

    def observe(result: MemberResult) -> None:
        nonlocal malformed, activities
        summary.add(result)
        malformed = malformed or result.malformed
        activities += result.activity_count

    pieces = score_lines(read_block(path, offset, length, first_line), observe=observe, **_worker["scoring"])
    block = _worker["joiner"].join(pieces).encode("utf-8", "backslashreplace")  # scores them all: the counts follow
    return spool(block, _worker["folder"], str(offset)), (summary, malformed, activities)


def spool(block: bytes, folder: str, name: str) -> str:
    """In a worker: leave a rendered block in the run's temporary folder for the parent (`unspool`); its path."""
    path = os.path.join(folder, name)
    try:
        with open(path, "wb") as handle:
            handle.write(block)
    except OSError as exc:
        from ceruleng.errors import InputError

        raise InputError(f"cannot hold results in the temporary folder {folder}: {exc.strerror or exc} (TMPDIR "
                         "chooses another)") from None
    return path


def unspool(path: str) -> bytes:
    """In the parent: a block a worker left (`spool`), removed once read."""
    with open(path, "rb") as handle:
        block = handle.read()
    os.unlink(path)
    return block


@contextlib.contextmanager
def spool_folder() -> Iterator[str]:
    """A temporary folder of this run's own for the blocks in flight (a few per worker), in the system's temporary
    folder (`tempfile.gettempdir()`: `$TMPDIR` and its fallbacks), removed with what is left in it whenever the
    process unwinds (an error, a closed pipe, Ctrl-C; SIGTERM and SIGHUP too, see `cli._terminate_like_interrupt`)."""
    try:
        folder = tempfile.TemporaryDirectory(prefix="ceruleng-blocks-")
    except OSError as exc:
        from ceruleng.errors import InputError

        raise InputError(f"cannot make a temporary folder for the workers' results: {exc.strerror or exc} (TMPDIR "
                         "chooses another)") from None
    with folder as name:
        yield name


def _ranges(path: str, size: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(offset, length, first line number) of consecutive blocks of whole lines of a JSON Lines file, each about
    `size` bytes (default CHUNK_BYTES) or one line if a line is longer.

    Only offsets are found here (the workers read the bytes): each chunk read is searched once for its last newline
    and counted once, and nothing is kept between chunks, so the time is linear in the file's length however long
    one line is (a line of a gigabyte is one block).
    """
    from ceruleng.errors import InputError

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        start, position, line = 0, 0, 1
        step = size or CHUNK_BYTES
        while True:
            data = handle.read(step)
            if not data:
                if position > start:
                    yield start, position - start, line
                return
            cut = data.rfind(b"\n") + 1
            position += len(data)
            if cut == 0:
                continue  # no line ends in this chunk: the block grows
            end = position - len(data) + cut
            yield start, end - start, line
            line += data.count(b"\n", 0, cut)  # the block's newlines are all in this chunk: earlier ones had none
            start = end


def _parallel(evaluator: Evaluator, rules: tuple[str, ...], path: str, workers: int, writer: Writer,
              progress: Any) -> bool:
    malformed = False
    initargs = (evaluator.specs, rules, evaluator.as_of, evaluator.explain, evaluator.seed, writer.render,
                writer.joiner, evaluator.period)
    with contextlib.closing(blocks_in_order(path, workers, _init_worker, initargs, _score_range)) as blocks:
        for block, (summary, bad, activities) in blocks:
            writer.write_block(block)
            writer.summary.merge(summary)
            if progress is not None:
                progress.tick(summary.members, activities)
            malformed |= bool(bad)
    return malformed


def blocks_in_order(path: str, workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...],
                    work: Callable[[str, int, int, int], tuple[str, Any]]) -> Generator[tuple[bytes, Any], None, None]:
    """Each block of whole lines of a JSON Lines file (`_ranges`) worked on by a pool of `workers` processes, in
    input order: (the rendered block, what else the work returned). The one way `eval` and `diff --members` run
    on N processes.

    `initializer(*initargs, folder)` sets a worker up; `initargs` starts with the compiled specs, which a forked
    worker inherits and a spawned one gets as None (it compiles them from the rule paths). `work(path, offset,
    length, first_line)` returns `(spool(block, folder, ...), anything)`. At most `IN_FLIGHT_PER_WORKER` blocks
    per worker are pending; a worker that dies stops the run (`_wait_alive`); an early end (an error, Ctrl-C, a
    closed pipe, `close()` of this generator) kills the workers at once (`_abandon`), and the folder of blocks goes.
    """
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    if context.get_start_method() != "fork":
        initargs = (None, *initargs[1:])
    with spool_folder() as folder:
        pool = None
        try:
            with _signals_held():  # a signal that came while the pool started is raised here, where it is abandoned
                pool = context.Pool(workers, initializer, (*initargs, folder))
            processes = list(getattr(pool, "_pool", ()))
            pending: deque[Any] = deque()
            for offset, length, first_line in _ranges(path):
                pending.append(pool.apply_async(work, (path, offset, length, first_line)))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield _taken(pending.popleft(), processes)
            while pending:
                yield _taken(pending.popleft(), processes)
            pool.close()
            pool.join()
        except BaseException:
            if pool is not None:
                _abandon(pool)
            raise


def _taken(task: Any, processes: list[Any]) -> tuple[bytes, Any]:
    _wait_alive(task, processes)
    name, rest = task.get()
    return unspool(name), rest


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


def _wait_alive(task: Any, processes: list[Any]) -> None:
    """Wait for a block, watching the workers: a pool whose worker is killed replaces it and loses its block, so
    waiting alone could hang for ever. A worker that ended stops the run with an InputError (exit 2: the output
    is incomplete)."""
    while not task.ready():
        task.wait(0.2)
        for process in processes:
            code = process.exitcode
            if code is not None and not task.ready():
                from ceruleng.errors import InputError

                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                raise InputError(f"a worker process {how}; the run stopped and its output is incomplete")


line_ranges = _ranges
"""Blocks of whole lines of a JSON Lines file, for other commands that stream one (`diff --members --jobs N`)."""
