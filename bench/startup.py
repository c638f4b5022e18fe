"""Start-up time of `ceruleng check` (a cache miss and a cache hit) and `ceruleng --help`, side by side with another
source tree of ceruleng (an older commit), measured alternately in one run so both see the same machine load.

    python bench/startup.py                                  # this tree only
    python bench/startup.py --against /tmp/base              # and another tree (e.g. `git archive BASE | tar -x`)

Each figure is the best wall time of N runs, interpreter start included. A cold check uses `--no-cache` (every spec
is parsed and compiled: this is where the expression parser is built); a warm one reads the check cache. Reported
as seconds and as the ratio this / other.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    "check rules/ (cold: --no-cache)": ["check", "--no-cache", "rules"],
    "check rules/ (warm cache)": ["check", "rules"],
    "--help": ["--help"],
}


def _run(tree: Path, arguments: list[str], cache: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "CERULENG_CACHE_DIR": cache}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another ceruleng source tree to time side by side")
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    trees = {"this": ROOT} | ({"other": options.against.resolve()} if options.against else {})
    with tempfile.TemporaryDirectory() as scratch:
        caches = {name: str(Path(scratch) / name) for name in trees}
        for name, tree in trees.items():  # fill each tree's own check cache (and Python's bytecode caches)
            _run(tree, ["check", "rules"], caches[name])
        best: dict[tuple[str, str], float] = {}
        for _ in range(options.runs):
            for label, arguments in COMMANDS.items():
                for name, tree in trees.items():
                    elapsed = _run(tree, arguments, caches[name])
                    best[(label, name)] = min(best.get((label, name), elapsed), elapsed)
    print(f"best of {options.runs} runs, wall time, interpreter start included")
    for label in COMMANDS:
        line = f"  {label:34} this {best[(label, 'this')]:.3f} s"
        if "other" in trees:
            other = best[(label, "other")]
            line += f"   other {other:.3f} s   this/other {best[(label, 'this')] / other:.2f}"
        print(line)


if __name__ == "__main__":
    main()
