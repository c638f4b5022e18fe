"""End-to-end `eval --format jsonl` against the JSON floors, before and after, side by side in one run.

    python bench/io_bench.py                      # 100,000 activities; before = where this branch left main
    python bench/io_bench.py --before main        # or any revision of this repository
    python bench/io_bench.py --activities 20000 --rounds 1

It writes one deterministic JSON Lines batch (bench/run.py's synthetic membership), then, in alternating rounds so
that every command sees the same load on this shared machine:
- runs `ceruleng eval --format jsonl` of this tree and of the `before` revision (exported with `git archive` to a
  temporary folder; never a worktree) on it, each in its own interpreter, and keeps the best wall time;
- times the floors, each in its own interpreter too: `json.loads` of every input line plus `json.dumps` of an equal
  output (that tree's own output, read back beforehand and not timed), and the same with orjson when it is
  installed (`pip install orjson`; it is the floor the issue names, not a dependency of ceruleng);
- runs a one-member `eval` of each tree: the fixed cost (interpreter start, compiling every spec) inside each
  end-to-end figure, so the per-batch work can be read apart from it.
It prints every figure and the ratios eval / floor. Compare ratios within one run, never across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

AS_OF = "2025-06-01"

FLOOR = r"""
import sys, time
lib = sys.argv[1]
if lib == "orjson":
    import orjson
    loads, dumps = orjson.loads, orjson.dumps
else:
    import json
    loads = json.loads
    dumps = lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8")
with open(sys.argv[3], "rb") as handle:
    output = [loads(line) for line in handle]
start = time.perf_counter()
with open(sys.argv[2], "rb") as handle, open("/dev/null", "wb") as sink:
    for line in handle:
        loads(line)
    for value in output:
        sink.write(dumps(value) + b"\n")
print(time.perf_counter() - start)
"""
"""The floor: read every input line and write an equal output, nothing else (the output is loaded untimed)."""


def export(revision: str, folder: Path) -> Path:
    """The tree of a revision of this repository, as plain files in `folder` (git archive; no worktree)."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, check=True,
                             capture_output=True).stdout
    target = folder / "before"
    target.mkdir()
    archive_path = folder / "before.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(target, filter="data")
    return target


def eval_command(tree: Path, batch: Path, output: str) -> list[str]:
    return [sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", str(batch), "--format", "jsonl",
            "--as-of", AS_OF, "-o", output]


def run_tree(tree: Path, command: list[str]) -> float:
    """Wall time of a command run with `tree` first on the path (its own ceruleng, not the installed one)."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


def floor_time(lib: str, batch: Path, output: Path) -> float:
    done = subprocess.run([sys.executable, "-c", FLOOR, lib, str(batch), str(output)], capture_output=True,
                          text=True, check=True)
    return float(done.stdout)


def has_orjson() -> bool:
    done = subprocess.run([sys.executable, "-c", "import orjson"], capture_output=True, check=False)
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--per-member", type=int, default=10)
    parser.add_argument("--before", help="the revision to compare with (default: where this branch left main)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the best of each is kept)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    options = parser.parse_args()
    before_revision = options.before or subprocess.run(
        ["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()

    import run

    from ceruleng.engine import load_specs

    orjson_floor = has_orjson()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        before = export(before_revision, folder)
        batch = folder / "batch.jsonl"
        run.write_batch(load_specs([str(ROOT / "rules")]), batch, options.activities, options.per_member)
        single = folder / "one.jsonl"
        single.write_bytes(batch.read_bytes().split(b"\n", 1)[0] + b"\n")
        trees = {"after": ROOT, "before": before}
        outputs = {name: folder / f"{name}.jsonl" for name in trees}
        for name, tree in trees.items():  # each tree's own output: the floor writes an equal one
            run_tree(tree, eval_command(tree, batch, str(outputs[name])))
        times: dict[str, list[float]] = {}
        for _ in range(options.rounds):
            for name, tree in trees.items():
                times.setdefault(f"eval_{name}", []).append(run_tree(tree, eval_command(tree, batch, os.devnull)))
                times.setdefault(f"one_member_{name}", []).append(
                    run_tree(tree, eval_command(tree, single, os.devnull)))
                times.setdefault(f"stdlib_floor_{name}", []).append(floor_time("stdlib", batch, outputs[name]))
                if orjson_floor:
                    times.setdefault(f"orjson_floor_{name}", []).append(floor_time("orjson", batch, outputs[name]))
        best = {key: min(values) for key, values in times.items()}
        sizes = {name: path.stat().st_size for name, path in outputs.items()}
        report(options, before_revision, best, sizes, batch.stat().st_size, orjson_floor)


def report(options: Any, revision: str, best: dict[str, float], sizes: dict[str, int], batch_size: int,
           orjson_floor: bool) -> None:
    figures: dict[str, Any] = {"activities": options.activities, "input_bytes": batch_size, "before": revision,
                               **{f"seconds_{key}": value for key, value in best.items()},
                               **{f"output_bytes_{key}": value for key, value in sizes.items()}}
    print(f"eval --format jsonl, {options.activities:,} activities ({batch_size / 1e6:.1f} MB in), best of "
          f"{options.rounds} alternating rounds; before = {revision[:12]}")
    print(f"{'':34}{'before':>10}{'after':>10}{'after/before':>14}")

    def line(label: str, key: str, unit: str = "s") -> None:
        was, now = best[f"{key}_before"], best[f"{key}_after"]
        print(f"{label:34}{was:>9.2f}{unit}{now:>9.2f}{unit}{now / was:>14.2f}")

    line("eval, end to end", "eval")
    line("eval, one member (fixed cost)", "one_member")
    line("stdlib floor (loads + dumps)", "stdlib_floor")
    if orjson_floor:
        line("orjson floor (loads + dumps)", "orjson_floor")
    print(f"{'output size':34}{sizes['before'] / 1e6:>8.1f}MB{sizes['after'] / 1e6:>8.1f}MB"
          f"{sizes['after'] / sizes['before']:>14.2f}")
    for name in ("before", "after"):
        whole, fixed = best[f"eval_{name}"], best[f"one_member_{name}"]
        ratios = {"stdlib": whole / best[f"stdlib_floor_{name}"]}
        work = {"stdlib": (whole - fixed) / best[f"stdlib_floor_{name}"]}
        if orjson_floor:
            ratios["orjson"] = whole / best[f"orjson_floor_{name}"]
            work["orjson"] = (whole - fixed) / best[f"orjson_floor_{name}"]
        figures[f"ratio_{name}"] = ratios
        figures[f"work_ratio_{name}"] = work
        shown = ", ".join(f"{value:.2f}x the {lib} floor" for lib, value in ratios.items())
        less = ", ".join(f"{value:.2f}x the {lib} floor" for lib, value in work.items())
        print(f"{name:>6}: end to end {shown}; less the one-member fixed cost {less}")
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
