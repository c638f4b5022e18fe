"""Benchmark of `ceruleng diff --members`: the cost of a diff against the cost of scoring the membership twice.

Standard library plus the project only. Run from the repository root:

    python bench/diff_bench.py              # 100,000 activities (10,000 members x 10)
    python bench/diff_bench.py --quick      # 10,000 activities, for a sanity check

It writes a copy of rules/aca.yaml whose rounding rule changes (quarter hours rounded half-up instead of down),
generates a deterministic ACA membership as JSON Lines, and times, side by side in one run (best of N, the two
measures interleaved so drift on a shared machine hits both):

- end to end: `ceruleng eval --rules OLD` plus `ceruleng eval --rules NEW` (JSON Lines to /dev/null) against
  `ceruleng diff OLD NEW --members FILE` (JSON to /dev/null), with --jobs 1 and --jobs 2;
- in-process: `Evaluator.member` under both specs for every member, against `MemberDiffer.diff` (scoring both and
  comparing), documents parsed beforehand — the part of the diff that is not reading or writing;
- the peak memory of `diff` on a membership a tenth the size and on the full one (streaming keeps it flat).

The target: a diff takes under 2x the time of scoring the membership twice. The ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ceruleng.diffing.impact import ImpactSummary  # noqa: E402 - the project root is on the path above
from ceruleng.diffing.run import MemberDiffer  # noqa: E402
from ceruleng.diffing.specdiff import diff_specs  # noqa: E402
from ceruleng.engine import Evaluator, load_specs  # noqa: E402
from ceruleng.inputs import parse_json  # noqa: E402

AS_OF = date(2025, 6, 1)
KINDS = ["session", "session", "keynote", "workshop", "webinar", "meeting", "lunch", "open-forum", "networking"]


def changed_copy(folder: Path) -> Path:
    text = (ROOT / "rules" / "aca.yaml").read_text(encoding="utf-8")
    old = "      increment: quarter_hour\n      mode: down\n"
    assert text.count(old) == 1
    shutil.copytree(ROOT / "rules" / "sources", folder / "sources")
    target = folder / "aca.yaml"
    target.write_text(text.replace(old, "      increment: quarter_hour\n      mode: half-up\n"), encoding="utf-8")
    return target


def membership(path: Path, members: int, per_member: int) -> None:
    rng = random.Random(20250601)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(members):
            activities: list[dict[str, Any]] = []
            for index in range(per_member):
                activity: dict[str, Any] = {"id": f"A{index}", "type": rng.choice(KINDS),
                                            "date": (date(2024, 6, 1) + timedelta(days=rng.randrange(360))).isoformat(),
                                            "minutes": rng.choice([14, 15, 29, 30, 45, 50, 60, 75, 89, 90, 100, 400])}
                if rng.random() < 0.1:
                    activity.pop("minutes")
                    activity["segments"] = [{"kind": rng.choice(["session", "keynote", "lunch", "break"]),
                                             "minutes": rng.choice([15, 20, 30, 45])} for _ in range(3)]
                activities.append(activity)
            document = {"member": f"M{number}", "credentials": [{"spec": "aca", "certified_on": "2024-01-01"}],
                        "activities": activities}
            handle.write(json.dumps(document) + "\n")


def best(repeats: int, *measures: Callable[[], None]) -> list[float]:
    """The best time of each measure over `repeats` rounds, the measures run in turn within a round."""
    times = [float("inf")] * len(measures)
    for _ in range(repeats):
        for number, measure in enumerate(measures):
            start = time.perf_counter()
            measure()
            times[number] = min(times[number], time.perf_counter() - start)
    return times


def command(*arguments: str) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, capture_output=True,
                              check=False)
        if done.returncode not in (0, 1):
            raise SystemExit(f"ceruleng {' '.join(arguments)} failed: {done.stderr.decode()}")
    return run


_MEASURED = """\
import resource, sys
from ceruleng.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_memory(*arguments: str) -> float:
    """The peak resident memory (MB) of one ceruleng command, run in a process of its own."""
    done = subprocess.run([sys.executable, "-c", _MEASURED, *arguments], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="10,000 activities instead of 100,000")
    options.add_argument("--repeats", type=int, default=3)
    arguments = options.parse_args()
    members = 1000 if arguments.quick else 10_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "new").mkdir()
        old, new = ROOT / "rules" / "aca.yaml", changed_copy(folder / "new")
        batch = folder / "members.jsonl"
        membership(batch, members, 10)
        print(f"membership: {members:,} members, {members * 10:,} activities; change: ACA rounding down → half-up")

        small = folder / "small.jsonl"
        membership(small, members // 10, 10)
        peaks = [peak_memory("diff", str(old), str(new), "--members", str(path), "--as-of", AS_OF.isoformat(),
                             "--format", "json", "-o", "/dev/null") for path in (small, batch)]
        print(f"peak memory of diff --jobs 1: {peaks[0]:.1f} MB ({members:,} activities), {peaks[1]:.1f} MB "
              f"({members * 10:,} activities): growth x{peaks[1] / peaks[0]:.2f} (flat: at most x1.10)")

        for jobs in ("1", "2"):
            eval_old = command("eval", "--rules", str(old), str(batch), "--as-of", AS_OF.isoformat(), "--format",
                               "jsonl", "--jobs", jobs, "-o", "/dev/null")
            eval_new = command("eval", "--rules", str(new), str(batch), "--as-of", AS_OF.isoformat(), "--format",
                               "jsonl", "--jobs", jobs, "-o", "/dev/null")
            run_diff = command("diff", str(old), str(new), "--members", str(batch), "--as-of", AS_OF.isoformat(),
                               "--format", "json", "--jobs", jobs, "-o", "/dev/null")
            first, second, both = best(arguments.repeats, eval_old, eval_new, run_diff)
            twice = first + second
            print(f"end to end, --jobs {jobs}: eval twice {twice:.2f} s ({first:.2f} + {second:.2f}), "
                  f"diff {both:.2f} s: ratio {both / twice:.2f} (target < 2)")

        specs_old, specs_new = load_specs([str(old)]), load_specs([str(new)])
        documents = [parse_json(line) for line in batch.read_text(encoding="utf-8").splitlines()]
        spec_diff = diff_specs({k: v.model for k, v in specs_old.items()}, {k: v.model for k, v in specs_new.items()})
        differ = MemberDiffer(specs_old, specs_new, spec_diff, AS_OF, 0)
        evaluate_old, evaluate_new = Evaluator(specs_old, AS_OF), Evaluator(specs_new, AS_OF)
        counted = ImpactSummary()
        for document in documents:
            differ.diff(document, None, None, None, counted)
        summary = ImpactSummary()

        def score_twice() -> None:
            for document in documents:
                evaluate_old.member(document)
                evaluate_new.member(document)

        def compare() -> None:
            for document in documents:
                differ.diff(document, None, None, None, summary)

        twice, both = best(arguments.repeats, score_twice, compare)
        print(f"in-process: scoring twice {twice:.2f} s, scoring twice and comparing {both:.2f} s: "
              f"ratio {both / twice:.2f} (target < 2)")
        print(f"members whose results change: {counted.members_changed:,} of {members:,}")


if __name__ == "__main__":
    main()
