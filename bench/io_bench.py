"""JSON in and out of `eval`, before and after, side by side in one run: input decode, output encode, end to end.

    python bench/io_bench.py                      # 100,000 activities; before = where this branch left main
    python bench/io_bench.py --before main        # or any revision of this repository
    python bench/io_bench.py --activities 20000 --rounds 1

It writes one deterministic JSON Lines batch (bench/run.py's synthetic membership), then, in alternating rounds so
that every command sees the same load on this shared machine:
- times the two stages this work changed, in each tree's own interpreter: `decode` (`inputs.parse_line` of every
  line: UTF-8, BOM, JSON, exact numbers, duplicate keys) and `encode` (`json_text()` of every member result, the
  results scored beforehand and not timed; `encode_explain` the same with `--explain` traces), each the best of
  three passes; the after tree also times `json_text(reasons, categories)` for every pair of `--reasons
  text|codes|none` and `--categories used|all` (`VARIANTS`);
- times the candidate encoders on the after tree's output read back as plain data: `json.dumps`, msgspec and
  orjson (when installed), compact, and spaced as ceruleng writes (`msgspec.json.format(..., indent=0)`);
- runs `ceruleng eval --format jsonl` of this tree and of the `before` revision (exported with `git archive` to a
  temporary folder; never a worktree) on it, each in its own interpreter (and this tree's with every variant,
  whose output sizes it prints too), comparing the before tree's output byte for byte with this tree's (with
  `--categories all` for a before tree that has no such option: it wrote every category);
- times the floors, each in its own interpreter too: `json.loads` of every input line plus `json.dumps` of an equal
  output (that tree's own output, read back beforehand and not timed), and the same with orjson when it is
  installed (`pip install orjson`; it is the floor the issue names, not a dependency of ceruleng);
- runs a one-member `eval` of each tree: the fixed cost (interpreter start, compiling every spec) inside each
  end-to-end figure, so the per-batch work can be read apart from it.
Every figure is CPU time (a process's user + system time; the stages and floors time their own work with
`time.process_time`), the best of the rounds: wall time on this shared machine swings by ×2 with the load. It
prints every figure and the ratios eval / floor. Compare ratios within one run, never across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
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
start = time.process_time()
with open(sys.argv[2], "rb") as handle, open("/dev/null", "wb") as sink:
    for line in handle:
        loads(line)
    for value in output:
        sink.write(dumps(value) + b"\n")
print(time.process_time() - start)
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


STAGES = r"""
import json, sys, time
from datetime import date
from ceruleng.engine import Evaluator, load_specs
from ceruleng.inputs import parse_line
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
specs = load_specs(["rules"])
def best(work):
    times = []
    for _ in range(3):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)
figures = {"decode": best(lambda: [parse_line("batch.jsonl", n, line) for n, line in enumerate(lines, 1)])}
items = [parse_line("batch.jsonl", n, line) for n, line in enumerate(lines, 1)]
for explain in (False, True):
    evaluator = Evaluator(specs, date.fromisoformat(sys.argv[2]), explain=explain)
    results = [evaluator.member(i.document, i.file, i.line, i.problem) for i in items]
    key = "encode_explain" if explain else "encode"
    figures[key] = best(lambda: [r.json_text() for r in results])
    if not explain and sys.argv[3] == "after":
        for reasons, categories in json.loads(sys.argv[4]):
            figures[f"encode_{reasons}_{categories}"] = best(lambda: [r.json_text(reasons, categories)
                                                                       for r in results])
print(json.dumps(figures))
"""
"""Decode and encode of one tree, in its own interpreter: what it prints is {stage: best seconds}."""

ENCODERS = r"""
import json, sys, time
import msgspec
data = [json.loads(line) for line in open(sys.argv[1], "rb")]
encoder = msgspec.json.Encoder()
candidates = {
    "stdlib_dumps": lambda value: json.dumps(value, ensure_ascii=False).encode(),
    "msgspec": encoder.encode,
    "msgspec_spaced": lambda value: msgspec.json.format(encoder.encode(value), indent=0),
}
try:
    import orjson
    candidates["orjson"] = orjson.dumps
    candidates["orjson_spaced"] = lambda value: msgspec.json.format(orjson.dumps(value), indent=0)
except ImportError:
    pass
figures = {}
for name, encode in candidates.items():
    times = []
    for _ in range(3):
        start = time.process_time()
        for value in data:
            encode(value)
        times.append(time.process_time() - start)
    figures[name] = min(times)
print(json.dumps(figures))
"""
"""The candidate encoders on equal plain data (dicts, lists and strings: no Decimal, no date to convert)."""


VARIANTS = [("text", "used"), ("codes", "used"), ("none", "used"), ("text", "all"), ("codes", "all"),
            ("none", "all")]
"""`eval --reasons R --categories C` pairs timed and sized on the after tree (the first is its default)."""


def variant(reasons: str, categories: str) -> list[str]:
    return ["--reasons", reasons, "--categories", categories]


def stages(tree: Path, batch: Path, name: str) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", STAGES, str(batch), AS_OF, name, json.dumps(VARIANTS)], cwd=tree,
                          env=environment, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def encoders(output: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", ENCODERS, str(output)], capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def eval_command(tree: Path, batch: Path, output: str) -> list[str]:
    return [sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", str(batch), "--format", "jsonl",
            "--as-of", AS_OF, "-o", output]


def run_tree(tree: Path, command: list[str]) -> float:
    """CPU time (user + system) of a command run with `tree` first on the path (its own ceruleng, not the
    installed one). CPU time, not wall time: on this shared machine the load swings the wall time of one run by
    ×2, while a process's own CPU time moves far less."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
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
        variants = {pair: folder / f"after-{pair[0]}-{pair[1]}.jsonl" for pair in VARIANTS}
        for pair, path in variants.items():
            run_tree(ROOT, [*eval_command(ROOT, batch, str(path)), *variant(*pair)])
        # a tree from before `--categories` wrote every category: compare it with `all`, a later one default to default
        matched = outputs["after"] if "--categories" in (before / "ceruleng" / "cli.py").read_text() \
            else variants[("text", "all")]
        identical = matched.read_bytes() == outputs["before"].read_bytes()
        times: dict[str, list[float]] = {}
        for _ in range(options.rounds):
            for name, tree in trees.items():
                for stage, seconds in stages(tree, batch, name).items():
                    times.setdefault(f"{stage}_{name}", []).append(seconds)
            for encoder, seconds in encoders(outputs["after"]).items():
                times.setdefault(f"encoder_{encoder}", []).append(seconds)
            for name, tree in trees.items():
                times.setdefault(f"eval_{name}", []).append(run_tree(tree, eval_command(tree, batch, os.devnull)))
                if name == "after":
                    for pair in VARIANTS[1:]:
                        times.setdefault(f"eval_{pair[0]}_{pair[1]}_after", []).append(
                            run_tree(tree, [*eval_command(tree, batch, os.devnull), *variant(*pair)]))
                times.setdefault(f"one_member_{name}", []).append(
                    run_tree(tree, eval_command(tree, single, os.devnull)))
                times.setdefault(f"stdlib_floor_{name}", []).append(floor_time("stdlib", batch, outputs[name]))
                if orjson_floor:
                    times.setdefault(f"orjson_floor_{name}", []).append(floor_time("orjson", batch, outputs[name]))
        best = {key: min(values) for key, values in times.items()}
        sizes = {name: path.stat().st_size for name, path in outputs.items()}
        sizes.update({f"{pair[0]}_{pair[1]}": path.stat().st_size for pair, path in variants.items()})
        report(options, before_revision, best, sizes, batch.stat().st_size, orjson_floor, identical)


def report(options: Any, revision: str, best: dict[str, float], sizes: dict[str, int], batch_size: int,
           orjson_floor: bool, identical: bool) -> None:
    figures: dict[str, Any] = {"activities": options.activities, "input_bytes": batch_size, "before": revision,
                               "outputs_identical": identical,
                               **{f"seconds_{key}": value for key, value in best.items()},
                               **{f"output_bytes_{key}": value for key, value in sizes.items()}}
    print(f"eval --format jsonl, {options.activities:,} activities ({batch_size / 1e6:.1f} MB in), best of "
          f"{options.rounds} alternating rounds; before = {revision[:12]}")
    print(f"{'CPU seconds':34}{'before':>10}{'after':>10}{'after/before':>14}")

    def line(label: str, key: str, unit: str = "s") -> None:
        was, now = best[f"{key}_before"], best[f"{key}_after"]
        print(f"{label:34}{was:>9.2f}{unit}{now:>9.2f}{unit}{now / was:>14.2f}")

    line("decode (parse_line, every line)", "decode")
    line("encode (json_text, every member)", "encode")
    line("encode with --explain traces", "encode_explain")
    line("eval, end to end", "eval")
    line("eval, one member (fixed cost)", "one_member")
    line("stdlib floor (loads + dumps)", "stdlib_floor")
    if orjson_floor:
        line("orjson floor (loads + dumps)", "orjson_floor")
    print(f"{'output size':34}{sizes['before'] / 1e6:>8.1f}MB{sizes['after'] / 1e6:>8.1f}MB"
          f"{sizes['after'] / sizes['before']:>14.2f}")
    print(f"before and after (with --categories all, for a before tree without the option) byte for byte identical: "
          f"{'yes' if identical else 'NO'}")
    default = VARIANTS[0]
    print(f"after, by --reasons and --categories (ratios to the default, --reasons {default[0]} --categories "
          f"{default[1]}):")
    print(f"{'':22}{'encode':>9}{'ratio':>7}{'eval':>9}{'ratio':>7}{'output':>10}{'ratio':>7}")
    base_encode, base_size = best[f"encode_{default[0]}_{default[1]}_after"], sizes[f"{default[0]}_{default[1]}"]
    for reasons, categories in VARIANTS:
        key = f"{reasons}_{categories}"
        encode = best[f"encode_{key}_after"]
        whole = best["eval_after"] if (reasons, categories) == default else best[f"eval_{key}_after"]
        size = sizes[key]
        print(f"{reasons + ' / ' + categories:22}{encode:>8.2f}s{encode / base_encode:>7.2f}"
              f"{whole:>8.2f}s{whole / best['eval_after']:>7.2f}{size / 1e6:>8.1f}MB{size / base_size:>7.2f}")
    encoders = {key.removeprefix("encoder_"): value for key, value in best.items() if key.startswith("encoder_")}
    print("encoders on the same plain data (after's output read back), time / json.dumps: " + ", ".join(
        f"{name} {value:.2f}s ({value / encoders['stdlib_dumps']:.2f})" for name, value in encoders.items()))
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
