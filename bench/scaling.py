"""Scaling checks: the cost of hostile inputs grows linearly (or not at all) with their size.

    python bench/scaling.py

For each input class the same work is timed at sizes n, 2n, 4n, 8n (best of a few runs) and two growth exponents
are printed: over the whole range, log(t(8n) / t(n)) / log(8), and at the top, log(t(8n) / t(4n)) / log(2): 1 is
linear, 0 constant, 2 quadratic. The verdict reads the top one: growth is what happens as inputs get bigger, and
the whole range also holds the step a working set makes when it outgrows the processor's caches (measured here: a
0.8 MB text costs 5x a 0.4 MB one, and a 1.6 MB one 2x that, which is linear growth past a one-off step). The script
exits non-zero if a top exponent is above its bound (1.4 for "linear", 0.5 for "constant"), so a quadratic
regression shows as a failure here rather than as a timed unit test. Absolute times are printed for the record;
compare them only within a run.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ceruleng import batch
from ceruleng.errors import did_you_mean
from ceruleng.inputs import parse_json, read_members
from ceruleng.patterns import compile_linear


def best(work: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _old_ranges(path: str) -> int:
    """The block finder before this change (`pending += data`): quadratic in one line's length."""
    blocks = 0
    with open(path, "rb") as handle:
        pending = b""
        while True:
            data = handle.read(batch.CHUNK_BYTES)
            if not data:
                return blocks + bool(pending)
            pending += data
            cut = pending.rfind(b"\n") + 1
            if cut:
                blocks += 1
                pending = pending[cut:]


def one_long_line(folder: Path) -> Callable[[int], Callable[[], object]]:
    def make(size: int) -> Callable[[], object]:
        path = folder / f"line-{size}.jsonl"
        path.write_bytes(b'{"member": "M-1", "notes": "' + b"x" * size + b'"}\n{"member": "M-2"}\n')
        return lambda: list(batch._ranges(str(path)))
    return make


def one_long_line_old(folder: Path) -> Callable[[int], Callable[[], object]]:
    def make(size: int) -> Callable[[], object]:
        path = folder / f"line-{size}.jsonl"
        path.write_bytes(b'{"member": "M-1", "notes": "' + b"x" * size + b'"}\n')
        return lambda: _old_ranges(str(path))
    return make


def long_integer(size: int) -> Callable[[], object]:
    text = '{"member": "M-1", "activities": [{"minutes": ' + "9" * size + "}]}"
    return lambda: parse_json(text)


def long_exponent_number(size: int) -> Callable[[], object]:
    text = '{"member": "M-1", "activities": [{"minutes": 1.' + "5" * size + "e99999999999999999999}]}"
    return lambda: parse_json(text)


def long_name(size: int) -> Callable[[], object]:
    word = "asap-pace" * (size // 9)
    return lambda: did_you_mean(word, ["asap-pace", "ace", "aca", "nasba-cpe", "ny-cle"])


WORST_PATTERNS = ["[ab]*a[ab]{990}[ab]{990}!", "([a-z]{0,20}){0,45}!", "(.*){220}!", "(x?){30}x{30}",
                  "[a-z]{0,20}" * 6 + "!"]
"""Near the largest allowed program (2,000 steps): the first makes RE2's DFA explode into states (so it falls back to
its slower, still linear, NFA) on random text of a and b; the last two explode a backtracking matcher."""


def _random_ab(size: int) -> str:
    import random

    rng = random.Random(size)
    return "".join(rng.choice("ab") for _ in range(size))


def _compiled(pattern: str) -> object:
    found = compile_linear(pattern)
    assert hasattr(found, "fullmatch"), (pattern, found)
    return found


def matches_text(size: int) -> Callable[[], object]:
    pattern: object = _compiled(WORST_PATTERNS[0])
    text = "a" * size
    return lambda: [pattern.fullmatch(text) for _ in range(20)]  # type: ignore[attr-defined]


def worst_single_match() -> None:
    """The figures docs/language.md quotes: one match at the 200-character limit, and at 100,000 characters."""
    for pattern in WORST_PATTERNS:
        compiled: object = _compiled(pattern)
        size = compiled.programsize  # type: ignore[attr-defined]
        short_text, long_text = _random_ab(200), _random_ab(100_000)
        short = best(lambda c=compiled, t=short_text: c.fullmatch(t), 5)  # type: ignore[misc]
        long = best(lambda c=compiled, t=long_text: c.fullmatch(t), 2)  # type: ignore[misc]
        print(f"  matches {pattern[:32]:32} {size:5} steps: 200 chars {short * 1000:7.3f} ms, "
              f"100,000 chars {long * 1000:8.1f} ms")


def csv_cell(folder: Path) -> Callable[[int], Callable[[], object]]:
    def make(size: int) -> Callable[[], object]:
        path = folder / f"cell-{size}.csv"
        path.write_text("member,credentials,id,type,date,title\n"
                        f'M-1,asap-pace@2023-06-15,A1,training,2025-02-11,"{"x" * size}"\n'
                        "M-2,asap-pace@2023-06-15,A2,training,2025-02-11,short\n", encoding="utf-8")
        return lambda: list(read_members(str(path)))
    return make


def main() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        checks: list[tuple[str, Callable[[int], Callable[[], object]], int, float, bool]] = [
            ("JSON Lines blocks, one line of n bytes (--jobs N)", one_long_line(folder), 4_000_000, 1.4, True),
            ("  the same, before this change (for reference)", one_long_line_old(folder), 4_000_000, 9.9, True),
            ("JSON, an integer of n digits", long_integer, 200_000, 1.4, True),
            ("JSON, n digits with an exponent past Decimal's", long_exponent_number, 200_000, 1.4, True),
            ("did you mean, a name of n characters", long_name, 100_000, 0.5, False),
            ("matches, text of n characters, a 1,850-step pattern", matches_text, 20_000, 1.4, True),
            ("CSV, one cell of n characters", csv_cell(folder), 250_000, 1.4, True),
        ]
        for label, make, base, bound, linear in checks:
            times = [best(make(base * factor)) for factor in (1, 2, 4, 8)]
            overall = math.log(max(times[3], 1e-9) / max(times[0], 1e-9)) / math.log(8)
            top = math.log(max(times[3], 1e-9) / max(times[2], 1e-9)) / math.log(2)
            verdict = "ok" if top <= bound else "TOO STEEP"
            failures += verdict != "ok"
            kind = "linear" if linear else "constant"
            print(f"{label:54} n={base:>9,}: " + " ".join(f"{t * 1000:8.2f}" for t in times)
                  + f" ms  exponent {overall:4.2f}, at the top {top:4.2f} (bound {bound}, {kind}) {verdict}")
        worst_single_match()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
