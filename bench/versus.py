"""Two checkouts of ceruleng measured side by side: is this tree slower or faster than another (e.g. previous main)?

    python bench/versus.py OTHER_TREE [--rounds 3] [run.py options, default --quick]

Runs `bench/run.py --json` of each tree alternately (this tree, the other, this, ...), each in its own interpreter
with its own tree first on the path, so both see the same machine load; prints every figure of both trees (the best
of the rounds for speeds, the lowest for times and memory) and the ratio this/other. Machines here are shared and
noisy: compare within one run of this script, never across runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent

HIGHER_IS_BETTER = ("per_s", "ratio_inverse", "in_process_all")


def _flatten(figures: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, int | float):
            flat[name] = float(value)
    return flat


def _run(tree: Path, options: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, str(tree / "bench" / "run.py"), "--json", out.name, *options], cwd=tree,
                       check=True, stdout=subprocess.DEVNULL)
        return _flatten(json.loads(Path(out.name).read_text()))


def _better(name: str, values: list[float]) -> float:
    return max(values) if any(part in name for part in HIGHER_IS_BETTER) else min(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree of previous main)")
    parser.add_argument("--rounds", type=int, default=3)
    args, options = parser.parse_known_args()  # the rest goes to bench/run.py
    options = [option for option in options if option != "--"] or ["--quick"]
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for _ in range(args.rounds):
        runs["this"].append(_run(HERE, options))
        runs["other"].append(_run(args.other.resolve(), options))
    names = sorted(set(runs["this"][0]) & set(runs["other"][0]))
    print(f"{'figure':<40} {'this tree':>14} {'other tree':>14} {'this/other':>11}")
    for name in names:
        mine = _better(name, [run[name] for run in runs["this"]])
        theirs = _better(name, [run[name] for run in runs["other"]])
        print(f"{name:<40} {mine:>14,.3f} {theirs:>14,.3f} {mine / theirs if theirs else float('nan'):>11.3f}")


if __name__ == "__main__":
    main()
