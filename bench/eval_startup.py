"""Start-up of a one-member `ceruleng eval`, beside `ceruleng --help`, in one run: what the compiled-spec cache buys.

    python bench/eval_startup.py [--rounds 9] [--baseline OTHER_TREE]

Times, interpreter start included (`python -m ceruleng ...`, a fresh process each time):
  --help                      the floor: the interpreter, click and the command line
  eval, cold (--no-cache)     every spec of rules/ checked and compiled (YAML, schema, compiler, back end)
  eval, warm (cache hit)      every spec from the compiled-spec cache
  check rules/, warm          `check`'s own cache, to show it is no slower
for `eval --rules rules examples/pace-member.yaml --as-of 2025-06-01 -o /dev/null`, and prints the ratio of the warm
eval to --help (the target: at most 2). With --baseline, the same commands of another checkout (say, the commit
before the cache) run in the same rounds, so `--help` and `check` can be compared with what they were (a tree whose
eval has no --no-cache has no cache either: its eval runs without the flag, cold both times).

Each round runs every command once, in turn, so all see the same machine load; a figure is the best of the rounds.
Byte-code is written and used (PYTHONDONTWRITEBYTECODE is cleared, and one warm-up run of each command comes first),
as for an installed ceruleng, whose modules pip compiles when it installs them. Each tree has its own cache folder,
filled by the warm-up. Machines here are shared and noisy: compare within one run of this script, never across runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
EVAL = ["eval", "--rules", "rules", "examples/pace-member.yaml", "--as-of", "2025-06-01", "-o", os.devnull]
COMMANDS = {
    "--help": ["--help"],
    "eval, cold (--no-cache)": [*EVAL, "--no-cache"],
    "eval, warm (cache hit)": EVAL,
    "check rules/, warm": ["check", "rules"],
}


def _environment(tree: Path, cache_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("CERULENG_NO_CACHE", "PYTHONDONTWRITEBYTECODE")}
    environment["PYTHONPATH"] = str(tree)
    environment["CERULENG_CACHE_DIR"] = str(cache_dir)
    return environment


def _run(tree: Path, arguments: list[str], cache_dir: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run: the CPU time (user + system of the child) suffers less from a busy machine."""
    command = [sys.executable, "-m", "ceruleng", *arguments]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=_environment(tree, cache_dir), capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(arguments)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _commands(tree: Path, cache_dir: Path) -> dict[str, list[str]]:
    """COMMANDS, without --no-cache for a tree whose eval does not know it (it has no cache to turn off)."""
    command = [sys.executable, "-m", "ceruleng", "eval", "--help"]
    helped = subprocess.run(command, cwd=tree, env=_environment(tree, cache_dir), capture_output=True, text=True,
                            check=False)
    if "--no-cache" in helped.stdout:
        return COMMANDS
    return {label: [part for part in arguments if part != "--no-cache"] for label, arguments in COMMANDS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--baseline", type=Path, help="another checkout to time beside this one")
    options = parser.parse_args()
    trees = {"this tree": HERE}
    if options.baseline is not None:
        trees["baseline"] = options.baseline.resolve()
    with tempfile.TemporaryDirectory(prefix="ceruleng-bench-") as scratch:
        caches = {name: Path(scratch) / f"cache-{index}" for index, name in enumerate(trees)}
        commands = {name: _commands(tree, caches[name]) for name, tree in trees.items()}
        for name, tree in trees.items():  # warm-up: byte-code written, caches filled
            for arguments in commands[name].values():
                _run(tree, arguments, caches[name])
        best = {(name, label, kind): float("inf") for name in trees for label in COMMANDS for kind in (0, 1)}
        for _ in range(options.rounds):
            for name, tree in trees.items():
                for label, arguments in commands[name].items():
                    for kind, seconds in enumerate(_run(tree, arguments, caches[name])):
                        best[name, label, kind] = min(best[name, label, kind], seconds)
    print(f"best of {options.rounds} rounds, interpreter start included (python {sys.version.split()[0]}); "
          "wall / CPU (user + system) seconds")
    print(f"{'':28}" + "".join(f"{name:>22}" for name in trees))
    for label in COMMANDS:
        print(f"{label:28}" + "".join(f"{best[name, label, 0]:>13.3f} / {best[name, label, 1]:.3f}" for name in trees))
    for name in trees:
        for kind, what in enumerate(("wall", "CPU")):
            warm = best[name, "eval, warm (cache hit)", kind] / best[name, "--help", kind]
            cold = best[name, "eval, cold (--no-cache)", kind] / best[name, "--help", kind]
            print(f"{name}, {what}: warm eval / --help = {warm:.2f} (target <= 2); cold eval / --help = {cold:.2f}")
    if "baseline" in trees:
        for label in ("--help", "check rules/, warm"):
            ratios = [best["this tree", label, kind] / best["baseline", label, kind] for kind in (0, 1)]
            print(f"{label}: this tree / baseline = {ratios[0]:.2f} wall, {ratios[1]:.2f} CPU")


if __name__ == "__main__":
    main()
