"""Scoring memberships on Dask: JSON Lines batches in, a bag of result lines out, written to one file in input order.

Stage: batch scoring on a cluster (the `dask` extra: `pip install 'ceruleng[dask]'`, dask[bag] and distributed).
Input: JSON Lines files (or a bag of `(file, line number, line)` triples) and the specs (paths, or a `SpecSet`).
Output: a `dask.bag.Bag` of text, one item per member line: its result exactly as `ceruleng eval --format jsonl`
writes it (the same bytes, file name and line number included, without the newline), partitions in input order;
`write_jsonl` writes such a bag to one file atomically, in that order.

How: the client only cuts each file into blocks of whole lines (offsets and first line numbers, as `eval --jobs N`
does) and checks the specs; each task reads its block, scores it with `lines.score_lines` (the path every engine
shares) and renders it. Specs travel as a `SpecSet`: their texts and the files they read, compiled once per worker
process. Workers read the files by their absolute paths, so the paths must be on a filesystem they share with the
client (results name each file as it was given).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import dask.bag as db
from dask.bag import Bag
from dask.base import compute
from dask.delayed import Delayed, delayed

from ceruleng.batch import line_ranges
from ceruleng.errors import InputError
from ceruleng.inputs import require_input
from ceruleng.lines import read_block, score_lines
from ceruleng.outputs import replaced_file
from ceruleng.scoring.encode import check_options
from ceruleng.specset import SpecSet, SpecSource

__all__ = ["SpecSet", "SpecSource", "score_jsonl", "write_jsonl"]

BLOCK_BYTES = 1024 * 1024
"""Bytes of input per partition (a few thousand members): tasks long enough (a second or so) that Dask's overhead
per task does not show, and small enough that a worker's memory stays flat."""

Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


def score_jsonl(paths_or_bag: Paths | Bag, rules: SpecSet | Paths, as_of: date | None = None,
                explain: bool = False, *, seed: int = 0, period: str | date = "due",
                blocksize: int = BLOCK_BYTES, reasons: str = "text", categories: str = "used") -> Bag:
    """A bag of result lines for JSON Lines files (or for a bag of `(file, line number, line)` triples), one per
    member line, as `eval --format jsonl --as-of AS_OF` writes it; partitions keep the input's order.

    `rules`: a SpecSet, or spec files and folders (checked here: SpecError or InputError now, not on a worker).
    `as_of` defaults to today (taken here, so every worker scores the same day). Files are read as JSON Lines
    whatever their suffix, in partitions of about `blocksize` bytes; a missing file is an InputError now.
    `reasons` and `categories` are `eval --reasons` and `--categories` (a bad value is a ValueError now).
    """
    check_options(reasons, categories)
    specs = rules if isinstance(rules, SpecSet) else SpecSet.load(_path_list(rules))
    options = {"as_of": as_of or date.today(), "explain": explain, "seed": seed, "period": period,
               "reasons": reasons, "categories": categories}
    shared = delayed(specs, pure=True)  # one copy in the graph, whatever the number of partitions
    if isinstance(paths_or_bag, Bag):
        return paths_or_bag.map_partitions(_score_lines, shared, **options)  # type: ignore[no-any-return]
    blocks = _blocks(_path_list(paths_or_bag), blocksize)
    partitions = db.from_sequence(blocks, npartitions=max(len(blocks), 1))
    return partitions.map_partitions(_score_blocks, shared, **options)  # type: ignore[no-any-return]


def write_jsonl(bag: Bag, path: str | os.PathLike[str], *, ahead: int | None = None) -> int:
    """Write a bag of lines to `path`, one per line, partitions in order; returns the number of lines.

    The file appears whole or not at all (`outputs.replaced_file`): a failed task leaves no partial file. At most
    two groups of `ahead` partitions (default: two per worker thread) are computed ahead of the writer, so neither
    the cluster's memory nor the client's grows with the batch.
    """
    written = 0
    with replaced_file(Path(path)) as handle:
        for lines in _in_order(bag.to_delayed(), ahead):
            if lines:
                handle.write("\n".join(lines))
                handle.write("\n")
                written += len(lines)
    return written


# ---- tasks -------------------------------------------------------------------------------------------------------


def _score_blocks(blocks: Iterable[tuple[str, str, int, int, int]], specs: SpecSet, **options: Any) -> list[str]:
    """A partition of blocks (file as named, path to read, offset, length, first line) → its result lines."""
    lines = (line for file, path, offset, length, first in blocks
             for line in read_block(path, offset, length, first, file))
    return list(score_lines(lines, specs, **options))


def _score_lines(lines: Iterable[Any], specs: SpecSet, **options: Any) -> list[str]:
    return list(score_lines(lines, specs, **options))


# ---- the client's side -------------------------------------------------------------------------------------------


def _path_list(paths: Paths) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(path) for path in paths]


def _blocks(paths: Sequence[str], size: int) -> list[tuple[str, str, int, int, int]]:
    """Every file's blocks of whole lines, in order; InputError for a file that is missing or unreadable."""
    if size < 1:
        raise ValueError(f"blocksize must be at least 1 byte, got {size}")
    blocks: list[tuple[str, str, int, int, int]] = []
    for path in paths:
        if path == "-":
            raise InputError("-: standard input cannot be scored on Dask; name a file the workers can read")
        require_input(path)
        where = os.path.abspath(path)  # workers may not share the client's working folder
        blocks.extend((path, where, offset, length, first) for offset, length, first in line_ranges(path, size))
    return blocks


def _in_order(parts: list[Delayed], ahead: int | None) -> Iterator[list[str]]:
    """Each partition's lines, in order, computing a bounded number ahead: on a distributed cluster as futures
    (the next group runs while this one is written), otherwise one group at a time with `dask.compute`."""
    client = _client()
    if client is None:
        step = ahead or 2 * (os.cpu_count() or 1)
        for start in range(0, len(parts), step):
            yield from compute(*parts[start:start + step])
        return
    step = ahead or 2 * max(sum(client.nthreads().values()), 1)
    groups = (parts[start:start + step] for start in range(0, len(parts), step))
    pending: deque[deque[Any]] = deque()
    for group in groups:
        pending.append(deque(client.compute(group)))
        if len(pending) > 1:
            yield from _results(pending.popleft())
    while pending:
        yield from _results(pending.popleft())


def _results(futures: deque[Any]) -> Iterator[list[str]]:
    while futures:
        result: list[str] = futures.popleft().result()  # and the future is dropped: the cluster may forget it
        yield result


def _client() -> Any:
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client: the local schedulers
        return None
