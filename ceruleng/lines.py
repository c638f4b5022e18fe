"""Scoring JSON Lines for any engine: numbered lines in, one result line per member out, in the same order.

Stage: read → evaluate → render, for one stream of lines (a block of a file, a partition of a Dask bag or a Spark
RDD, a Ray batch). Input: `(file, line number, line)` triples, the line as bytes or text, with or without its line
ending; the specs (a `SpecSet` or compiled specs) and the options of `ceruleng eval`. Output: per member line, its
result as `ceruleng eval --format jsonl` writes it (without the newline), or as another writer renders it.

This is the one path from a line of a batch to its result: `ceruleng eval --jobs N` runs it in its workers and
`ceruleng.dask` in Dask's, so a line reads, fails and scores the same everywhere — a UTF-8 BOM on line 1, a CRLF
ending, a blank line (no result), a line that is not UTF-8 or not JSON, or that repeats a key (a rejected member
naming its line).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from itertools import count, repeat
from typing import TYPE_CHECKING, Any

from ceruleng.compiled import CompiledSpec
from ceruleng.engine import Evaluator
from ceruleng.inputs import parse_line
from ceruleng.scoring.encode import check_options
from ceruleng.specset import SpecSet

if TYPE_CHECKING:
    from ceruleng.scoring.results import MemberResult

__all__ = ["Line", "read_block", "score_lines"]

Line = tuple[str, int, bytes | str]
"""One line of a batch: the file it came from (as results name it), its 1-based number, and its text."""


def score_lines(lines: Iterable[Line], specs: Mapping[str, CompiledSpec], as_of: date, explain: bool = False, *,
                seed: int = 0, period: str | date = "due", contain: bool = True,
                render: Callable[[MemberResult, Any], str] | None = None,
                observe: Callable[[MemberResult], object] | None = None, reasons: str = "text",
                categories: str = "used") -> Iterator[str]:
    """Each member line's result, in order: by default its JSON text exactly as `eval --format jsonl` writes it
    (one line, no newline); `render(result, document)` renders it otherwise. Blank lines give none.

    `period`, `seed`, `contain`, `reasons` and `categories` are `eval`'s `--period`, `--seed`, (inverted)
    `--debug`, `--reasons` (`text`, `codes` or `none`) and `--categories` (`used` or `all`). `observe` sees
    every result before it is rendered (`eval` counts them for its summary). Never raises for bad input: a line
    that cannot be read is a rejected member naming its file and line.
    """
    check_options(reasons, categories)
    evaluator = _evaluator(specs, as_of, explain, seed, period, contain)
    for entry in lines:
        try:
            file, number, line = entry
        except (TypeError, ValueError):
            raise TypeError(f"score_lines reads (file, line number, line) triples, not {type(entry).__name__}: "
                            f"{str(entry)[:80]}") from None
        item = parse_line(file, number, line if isinstance(line, bytes) else _encoded(line))
        if item is None:
            continue
        result = evaluator.member(item.document, item.file, item.line, item.problem)
        if observe is not None:
            observe(result)
        yield result.json_text(reasons, categories) if render is None else render(result, item.document)


def read_block(path: str, offset: int, length: int, first_line: int, file: str | None = None) -> Iterator[Line]:
    """The numbered lines of one block of whole lines of a JSON Lines file (`batch.line_ranges` finds them),
    read from `path`; results name `file` (default: `path`)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the block ends with a newline
    return zip(repeat(file or path), count(first_line), lines)


def _encoded(line: str) -> bytes:
    """A line given as text, as the bytes it was read from: text decoded with `surrogateescape` (how Python reads
    undecodable bytes) gets its bytes back, so it is reported as not UTF-8 as a file would be; any other lone
    surrogate cannot be UTF-8 either, and is kept so that it reads so."""
    if not isinstance(line, str):
        raise TypeError(f"a line is bytes or text, not {type(line).__name__}")
    try:
        return line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return line.encode("utf-8", "surrogatepass")


_local = threading.local()


def _evaluator(specs: Mapping[str, CompiledSpec], as_of: date, explain: bool, seed: int, period: str | date,
               contain: bool) -> Evaluator:
    """The evaluator of the last call on this thread when it had the same specs and options, else a new one: its
    scorers (and what they remember, such as the periods of common certification dates) then serve every block or
    partition a worker scores, not just one. The same specs means the same object, or a SpecSet of the same
    content (each Dask task may unpickle its own copy)."""
    identity: Any = specs.key if isinstance(specs, SpecSet) else id(specs)
    options = (identity, as_of, explain, seed, period, contain)
    last: tuple[tuple[Any, ...], Mapping[str, CompiledSpec], Evaluator] | None = getattr(_local, "last", None)
    if last is not None and last[0] == options and (isinstance(specs, SpecSet) or last[1] is specs):
        return last[2]
    evaluator = Evaluator(specs, as_of, explain, seed, contain=contain, period=period)
    _local.last = (options, specs, evaluator)  # holds the specs, so their id cannot be reused while remembered
    return evaluator
