"""`ceruleng check` wall time of two checkouts side by side: cold (no cache) and warm (every spec a cache hit).

    python bench/check_startup.py OTHER_TREE [--rounds 7] [SPEC_PATH ...]   (default: this tree's rules/)

Times `python -m ceruleng check SPECS`, interpreter start included, in three ways: `--no-cache`; with an empty
CERULENG_CACHE_DIR (a miss that also writes the cache); and warm, a CERULENG_CACHE_DIR filled by one run beforehand
(each tree its own, since a cache entry names the ceruleng that wrote it). Beside them, in-process: every spec's
`engine.check_text` after one first check has imported everything, which is what an editor's `ceruleng lsp` re-runs
on each edit. The two trees run alternately, each
command once per round, so both see the same machine load; the figure is the best of the rounds. Each tree runs with
itself first on the path (PYTHONPATH) under this interpreter, so both use the same installed dependencies. Machines
here are shared and noisy: compare within one run of this script, never across runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
MODES = ("cold --no-cache", "cold, empty cache dir", "warm (cache hit)", "in-process check_text")
IN_PROCESS = """
import sys, time
from pathlib import Path
from ceruleng.engine import check_text
texts = [(Path(path).read_text(encoding="utf-8"), path) for path in sys.argv[1:]]
for text, path in texts:
    check_text(text, path, generate=False)
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for text, path in texts:
        check_text(text, path, generate=False)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def _environment(tree: Path, cache_dir: Path | None) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "CERULENG_NO_CACHE"}
    environment["PYTHONPATH"] = str(tree)
    environment.pop("CERULENG_CACHE_DIR", None)
    if cache_dir is not None:
        environment["CERULENG_CACHE_DIR"] = str(cache_dir)
    return environment


def _check(tree: Path, specs: list[str], cache_dir: Path | None, no_cache: bool = False) -> float:
    command = [sys.executable, "-m", "ceruleng", "check", *(["--no-cache"] if no_cache else []), *specs]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=_environment(tree, cache_dir), capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: check exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return elapsed


def _in_process(tree: Path, specs: list[str]) -> float:
    files = [str(path) for spec in specs for path in ([Path(spec)] if spec.endswith(".yaml") else
                                                      sorted(Path(spec).glob("*.yaml")))]
    done = subprocess.run([sys.executable, "-c", IN_PROCESS, *files], cwd=tree, env=_environment(tree, None),
                          capture_output=True, text=True, check=True)
    return float(done.stdout)


def _assert_imports_itself(tree: Path) -> None:
    probe = [sys.executable, "-c", "import ceruleng; print(ceruleng.__file__)"]
    found = subprocess.run(probe, cwd=tree, env=_environment(tree, None), capture_output=True, text=True,
                           check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(tree):
        raise SystemExit(f"{tree}: runs the ceruleng at {found}, not its own")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree of the code before a change)")
    parser.add_argument("specs", nargs="*", help="spec files or folders to check (default: this tree's rules/)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    trees = {"this": HERE, "other": args.other.resolve()}
    specs = [str(Path(spec).resolve()) for spec in args.specs] or [str(HERE / "rules")]
    for tree in trees.values():
        _assert_imports_itself(tree)
    times: dict[tuple[str, str], list[float]] = {(mode, name): [] for mode in MODES for name in trees}
    with tempfile.TemporaryDirectory(prefix="ceruleng-bench-") as scratch:
        warm = {name: Path(scratch, f"warm-{name}") for name in trees}
        for name, tree in trees.items():
            _check(tree, specs, warm[name])  # fills the cache the warm runs hit
        for round_number in range(args.rounds):
            for name, tree in trees.items():
                times[MODES[0], name].append(_check(tree, specs, None, no_cache=True))
                times[MODES[1], name].append(_check(tree, specs, Path(scratch, f"empty-{name}-{round_number}")))
                times[MODES[2], name].append(_check(tree, specs, warm[name]))
                times[MODES[3], name].append(_in_process(tree, specs))
    print(f"ceruleng check {' '.join(specs)}: best of {args.rounds}, wall seconds (interpreter start included,")
    print("except in-process: all specs checked once more in a warm interpreter)")
    print(f"{'':<24} {'this tree':>10} {'other tree':>11} {'this/other':>11}")
    for mode in MODES:
        mine, theirs = min(times[mode, "this"]), min(times[mode, "other"])
        print(f"{mode:<24} {mine:>10.3f} {theirs:>11.3f} {mine / theirs:>11.3f}")
    print(f"this tree: {trees['this']}\nother tree: {trees['other']}")


if __name__ == "__main__":
    main()
