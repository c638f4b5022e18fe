"""The ceruleng benchmark: speed against a hand-written scorer, start-up time, and memory while streaming.

Standard library plus the project only. Run from the repository root:

    python bench/run.py                  # the full run (100,000 members x 10 activities; 1M-activity batches)
    python bench/run.py --quick          # a smaller, faster run for a sanity check
    python bench/run.py --only pace,ledger   # only the comparisons with a hand-written scorer

It (a) generates a deterministic synthetic membership across the bundled specs, (b) scores it with ceruleng
in-process, (c) scores the PACE members with the hand-written scorer in bench/handwritten_pace.py, asserting that
both give the same category, status and credits for every activity and the same totals, and (d) prints activities/s
for each and their ratio measured in the same run, the wall time of `ceruleng check rules/` and `ceruleng --help`,
and the throughput and peak memory of `ceruleng eval` on 100,000- and 1,000,000-activity JSON Lines batches with
--jobs 1 and --jobs 2. Machines here are shared and noisy: compare ratios from one run, not absolute figures across
runs. Timings take the best of several repetitions.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import handwritten_ledger  # noqa: E402 - bench/ is on the path above
import handwritten_pace  # noqa: E402

from ceruleng.engine import Evaluator, load_specs  # noqa: E402
from ceruleng.inputs import parse_json  # noqa: E402

AS_OF = date(2025, 6, 1)
PACE_TOPICS = ["Interpersonal Communication", "Task and Project Management", "Management Skills",
               "Computer and Internet Technology", "Wellness"]  # fmt: skip
GRADES = ["A", "B+", "B", "C+", "C", "D"]


# ---- synthetic membership ----------------------------------------------------------------------------------------


def _day(rng: random.Random, start: date, span_days: int) -> date:
    return start + timedelta(days=rng.randrange(span_days))


def current_cycle_start(certified_on: date, years: int = 2) -> date:
    """Where the cycle containing AS_OF starts (activities are logged mostly for the current cycle).

    Certification dates here are never 29 February, so whole years can be added with `replace`.
    """
    start = certified_on
    while start.replace(year=start.year + years) <= AS_OF:
        start = start.replace(year=start.year + years)
    return start


def pace_activity(rng: random.Random, number: int, certified_on: date) -> dict[str, Any]:
    """A realistic PACE activity: mostly creditable, some rejected, a few malformed."""
    kind = rng.choices(["webinar", "training", "adult-education", "college-course", "certification", "apc",
                        "apc-workshop", "lunch", "orientation"], [30, 25, 10, 8, 5, 5, 5, 7, 5])[0]
    cycle_start = current_cycle_start(certified_on)
    activity: dict[str, Any] = {"id": f"A{number}", "type": kind,
                                "date": _day(rng, cycle_start - timedelta(days=30), 760).isoformat()}
    if kind in ("webinar", "training", "adult-education"):
        activity["minutes"] = rng.choice([30, 45, 59, 60, 75, 90, 119, 120, 180, 270, 480])
        activity["topic"] = rng.choice(PACE_TOPICS)
        if kind == "webinar":
            activity["provider"] = rng.choice(["Lorman", "Lorman", "ASAP", "Coursera"])
        if rng.random() < 0.1:
            activity.pop("minutes")
            activity["segments"] = [{"kind": rng.choice(["session", "session", "break", "lunch"]),
                                     "minutes": rng.choice([15, 30, 45, 60])} for _ in range(rng.randint(2, 5))]
    elif kind == "college-course":
        activity.update(grade=rng.choice(GRADES), topic=rng.choice(PACE_TOPICS))
    elif kind == "certification":
        activity["certification"] = rng.choice(["CAP", "MOS Master", "MOS Expert", "PMP"])
    elif kind == "apc":
        activity["selected_credits"] = rng.choice([0.5, 0.8, 1.2, 1.6, 2.0])
    elif kind == "apc-workshop":
        activity["length"] = rng.choice(["half-day", "full-day"])
    roll = rng.random()
    if roll < 0.01:
        activity["minutes"] = "ninety"  # a malformed record now and then
    elif roll < 0.015:
        activity["grade"] = "Pass"
    elif roll < 0.02:
        activity["id"] = "A0"  # a repeated id
    return activity


def generic_activity(rng: random.Random, number: int, spec: Any, certified_on: date) -> dict[str, Any]:
    """An activity for any spec, built from its declarations: a type it knows and values its attributes accept."""
    model = spec.model
    kind = rng.choice(list(model.activity_types))
    activity: dict[str, Any] = {"id": f"A{number}", "type": kind,
                                "date": _day(rng, current_cycle_start(certified_on), 700).isoformat(),
                                "minutes": rng.choice([15, 25, 45, 50, 60, 75, 90, 100, 140, 180])}
    for name, attribute in model.attributes.items():
        if rng.random() < 0.5:
            continue
        if attribute.one_of:
            activity[name] = rng.choice(attribute.one_of)
        elif attribute.scale:
            activity[name] = rng.choice(model.scales[attribute.scale].values)
        elif attribute.type in ("number", "integer"):
            low = int(attribute.minimum or 0)
            activity[name] = rng.randint(low, low + 3)
        elif attribute.type == "boolean":
            activity[name] = rng.random() < 0.5
        elif attribute.type == "date":
            activity[name] = _day(rng, current_cycle_start(certified_on), 700).isoformat()
    if "MM/DD/YYYY" in model.date_formats and rng.random() < 0.5:
        day = date.fromisoformat(activity["date"])
        activity["date"] = f"{day.month:02d}/{day.day:02d}/{day.year}"
    return activity


def membership(specs: dict[str, Any], members: int, per_member: int, seed: int = 20261122) -> Iterator[dict[str, Any]]:
    """A deterministic membership: half PACE members (compared with the hand-written scorer), the rest spread over
    the other bundled specs, some holding PACE and ACE at once."""
    rng = random.Random(seed)
    others = [spec_id for spec_id in specs if spec_id != "asap-pace"]
    for number in range(members):
        certified_on = _day(rng, date(2019, 1, 1), 2200)
        if certified_on.month == 2 and certified_on.day == 29:
            certified_on = certified_on.replace(day=28)
        if number % 2 == 0 or not others:
            credentials = [{"spec": "asap-pace", "certified_on": certified_on.isoformat()}]
            activities = [pace_activity(rng, i, certified_on) for i in range(per_member)]
        else:
            spec_id = others[number // 2 % len(others)]
            credentials = [{"spec": spec_id, "certified_on": certified_on.isoformat()}]
            if spec_id == "ace" and "asap-pace" in specs and number % 10 == 1:
                credentials.append({"spec": "asap-pace", "certified_on": certified_on.isoformat()})
            activities = [generic_activity(rng, i, specs[spec_id], certified_on) for i in range(per_member)]
        yield {"member": f"M{number:07d}", "credentials": credentials, "activities": activities}


# ---- measurements ------------------------------------------------------------------------------------------------


def best_of(runs: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def best_of_pair(runs: int, first: Callable[[], Any], second: Callable[[], Any]) -> tuple[float, float]:
    """Best CPU times of two workloads run alternately, so both see the same machine load."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for work, bucket in ((first, times[0]), (second, times[1])):
            start = time.process_time()
            work()
            bucket.append(time.process_time() - start)
    return min(times[0]), min(times[1])


def race(evaluator: Evaluator, by_hand: Callable[[dict[str, Any], date], Any], documents: list[dict[str, Any]],
         repeats: int) -> dict[str, Any]:
    """ceruleng and a hand-written scorer over the same members, alternately (best CPU time of `repeats`)."""
    def ours() -> None:
        for document in documents:
            evaluator.member(document)

    def theirs() -> None:
        for document in documents:
            by_hand(document, AS_OF)

    activities = sum(len(d["activities"]) for d in documents)
    gc.collect()
    gc.freeze()  # the members stay in memory for the race (eval streams its input, it never holds a batch): keep
    # the collector from rescanning them on every collection either scorer's garbage triggers
    ceruleng_time, hand_time = best_of_pair(repeats, ours, theirs)
    return {"activities": activities, "ceruleng_per_s": activities / ceruleng_time,
            "handwritten_per_s": activities / hand_time, "ratio": ceruleng_time / hand_time}


def compare_pace(specs: dict[str, Any], documents: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    """ceruleng and the hand-written scorer on the same PACE members: agreement, then speed (best of `repeats`).
    Both defer the reason sentences that quote values (and write a malformed record's problem at once)."""
    # the hand-written scorer scores the cycle containing AS_OF; on a deadline day ceruleng's default is the one due
    evaluator = Evaluator(specs, AS_OF, period="current")
    for document in documents:
        ours = evaluator.member(document).credentials[0]
        theirs = handwritten_pace.score_member(document, AS_OF)[0]
        for mine, (category, status, credits, _reason) in zip(ours.activities, theirs["activities"], strict=True):
            got = (mine.category, "awarded" if mine.status == "capped" else mine.status, mine.credits)
            assert got == (category, status, credits), (document["member"], mine.id, got, (category, status, credits))
        assert (ours.earned, ours.met) == (theirs["earned"], theirs["met"]), document["member"]
    return race(evaluator, handwritten_pace.score_member, documents, repeats)


LEDGER_SPEC = ROOT / "bench" / "specs" / "ledger-heavy.yaml"
LEDGER_TYPES = ["course", "course", "course", "ethics-course", "self-study", "self-study-ethics", "service",
                "mentoring"]


def ledger_members(members: int, per_member: int, seed: int = 20261201) -> list[dict[str, Any]]:
    """Members of the ledger spec: certified 2019-2023, activities over every year since (carry-over chains)."""
    rng = random.Random(seed)
    found = []
    for number in range(members):
        certified = date(2019, 1, 1) + timedelta(days=rng.randrange(5 * 365))
        span = (AS_OF - certified).days
        activities = [{"id": f"L{number}-{k}", "type": rng.choice(LEDGER_TYPES),
                       "date": _day(rng, certified, span).isoformat(), "minutes": rng.randrange(30, 600, 5)}
                      for k in range(per_member)]
        found.append(parse_json(json.dumps({"member": f"L-{number}", "credentials": [
            {"spec": "ledger-heavy", "certified_on": certified.isoformat()}], "activities": activities})))
    return found


def compare_ledger(documents: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    """ceruleng and the hand-written ledger scorer on the same members: agreement, then speed (best of `repeats`).
    Both report the period containing the scoring day and defer reason sentences."""
    evaluator = Evaluator(load_specs([str(LEDGER_SPEC)]), AS_OF, period="current")
    for document in documents:
        ours = evaluator.member(document).credentials[0]
        theirs = handwritten_ledger.score_member(document, AS_OF)
        for mine, (category, status, credits, _why) in zip(ours.activities, theirs["activities"], strict=True):
            got = (mine.category if mine.counts else None, mine.status, mine.credits)
            want = (category if status != "rejected" else None, status, credits)
            assert got == want, (document["member"], mine.id, got, want, mine.reasons)
        minimum = ours.minimums[0].counted
        assert (ours.earned, ours.carried_in, minimum, ours.met) == (
            theirs["earned"], theirs["carried_in"], theirs["ethics"], theirs["met"]), document["member"]
    return race(evaluator, handwritten_ledger.score_member, documents, repeats)


def command_time(arguments: list[str], runs: int) -> float:
    """Best wall time of a ceruleng command, interpreter start included."""
    command = [sys.executable, "-m", "ceruleng", *arguments]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children, from /proc (Linux)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def eval_batch(path: Path, jobs: int) -> dict[str, Any]:
    """Run `ceruleng eval --format jsonl` on a batch: wall time, and peak memory of the whole process tree."""
    command = [sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", str(path), "--format", "jsonl",
               "--as-of", AS_OF.isoformat(), "--jobs", str(jobs), "-o", os.devnull]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.05)  # memory is flat; sampling more often would take CPU from the run it measures
    elapsed = time.perf_counter() - start
    if process.returncode not in (0, 1):
        message = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"eval failed ({process.returncode}): {message}")
    return {"seconds": elapsed, "peak_mb": peak / 1024}


def write_batch(specs: dict[str, Any], path: Path, activities: int, per_member: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for document in membership(specs, activities // per_member, per_member, seed=7):
            handle.write(json.dumps(document) + "\n")


# ---- report ------------------------------------------------------------------------------------------------------


def print_ledger(ledger: dict[str, Any]) -> None:
    print(f"in-process, ledger-heavy spec ({ledger['activities']:,} activities over yearly periods with tags, "
          "three limits and a filtered carry-over; every result identical):")
    print(f"  ceruleng      {ledger['ceruleng_per_s']:>12,.0f} activities/s")
    print(f"  hand-written  {ledger['handwritten_per_s']:>12,.0f} activities/s")
    print(f"  ratio         {ledger['ratio']:>12.2f} x the hand-written scorer's time")


def comparisons(names: list[str], members: int, per_member: int, repeats: int) -> None:
    """Only the comparisons with a hand-written scorer (for working on the scorer's speed)."""
    unknown = set(names) - {"ledger", "pace"}
    if unknown:
        raise SystemExit(f"--only: unknown comparison {', '.join(sorted(unknown))} (ledger, pace)")
    if "pace" in names:
        specs = load_specs([str(ROOT / "rules")])
        pace = [parse_json(json.dumps(d)) for d in membership({"asap-pace": specs["asap-pace"]}, members // 2,
                                                              per_member)]
        print_pace(compare_pace(specs, pace, repeats))
    if "ledger" in names:
        print_ledger(compare_ledger(ledger_members(max(1, members // 10), 40), repeats))


def print_pace(figures: dict[str, Any]) -> None:
    print(f"in-process, PACE only ({figures['activities']:,} activities, every result identical):")
    print(f"  ceruleng      {figures['ceruleng_per_s']:>12,.0f} activities/s")
    print(f"  hand-written  {figures['handwritten_per_s']:>12,.0f} activities/s")
    print(f"  ratio         {figures['ratio']:>12.2f} x the hand-written scorer's time")


def report_ledger(specs: dict[str, Any], documents: list[dict[str, Any]], members: int, repeats: int,
                  figures: dict[str, Any]) -> dict[str, Any]:
    """The ledger-heavy spec against its hand-written scorer, and a spec with per-year sub-periods (printed)."""
    ledger = compare_ledger(ledger_members(max(1, members // 10), 40), repeats)
    print_ledger(ledger)

    yearly = [d for d in documents if [c["spec"] for c in d["credentials"]] == ["isaca"]]
    if yearly:
        yearly_evaluator = Evaluator(specs, AS_OF)
        yearly_activities = sum(len(d["activities"]) for d in yearly)

        def score_yearly() -> None:
            for document in yearly:
                yearly_evaluator.member(document)

        yearly_time = best_of(repeats, score_yearly)
        figures["yearly_parts_per_s"] = yearly_activities / yearly_time
        print(f"in-process, a spec with per-year sub-periods (isaca: 20 a year within 120 in three; "
              f"{yearly_activities:,} activities): {yearly_activities / yearly_time:,.0f} activities/s")
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="members in the in-process run")
    parser.add_argument("--per-member", type=int, default=10, help="activities per member")
    parser.add_argument("--batches", default="100000,1000000", help="activity counts of the JSON Lines batches")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per timing (the best is kept)")
    parser.add_argument("--quick", action="store_true", help="10,000 members and 100,000-activity batches")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--only", help="run only these comparisons with a hand-written scorer, comma-separated: "
                        "ledger, pace (e.g. --only pace,ledger)")
    options = parser.parse_args()
    if options.quick:
        options.members, options.batches = 10_000, "20000,100000"
    if options.only is not None:
        comparisons(options.only.split(","), options.members, options.per_member, options.repeats)
        return
    specs = load_specs([str(ROOT / "rules")])
    print(f"ceruleng benchmark · Python {sys.version.split()[0]} · {os.cpu_count()} cores · specs: {', '.join(specs)}")

    # Through JSON and back, as real input arrives: numbers become Decimals, never floats.
    documents = [parse_json(json.dumps(d)) for d in membership(specs, options.members, options.per_member)]
    gc.collect()
    gc.freeze()  # the input stays in memory for the whole run; keep the collector from rescanning it
    total = sum(len(d["activities"]) for d in documents)
    evaluator = Evaluator(specs, AS_OF)

    def score_all() -> None:
        for document in documents:  # results discarded as they come, as a streaming run would
            evaluator.member(document)

    everything = best_of(1, score_all)
    print(f"\nin-process, all specs: {total:,} activities of {len(documents):,} members: "
          f"{total / everything:,.0f} activities/s")

    pace = [d for d in documents if [c["spec"] for c in d["credentials"]] == ["asap-pace"]]
    figures = compare_pace(specs, pace, options.repeats)
    print_pace(figures)

    ledger = report_ledger(specs, documents, options.members, options.repeats, figures)

    check = command_time(["check", "rules"], 7)
    help_time = command_time(["--help"], 7)
    print(f"\nceruleng check rules/: {check:.3f} s wall (best of 7, interpreter start included)")
    print(f"ceruleng --help:       {help_time:.3f} s wall")

    batches: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in options.batches.split(",")):
            path = Path(folder) / f"batch-{size}.jsonl"
            write_batch(specs, path, size, options.per_member)
            for jobs in (1, 2):
                result = eval_batch(path, jobs)
                result["activities_per_s"] = size / result["seconds"]
                batches[f"{size}/jobs{jobs}"] = result
                print(f"eval {size:>9,} activities, --jobs {jobs}: {result['seconds']:6.2f} s, "
                      f"{result['activities_per_s']:>9,.0f} activities/s, peak {result['peak_mb']:6.1f} MB")
            path.unlink()
    sizes = [int(s) for s in options.batches.split(",")]
    if len(sizes) == 2:
        small, large = sizes
        for jobs in (1, 2):
            growth = batches[f"{large}/jobs{jobs}"]["peak_mb"] / batches[f"{small}/jobs{jobs}"]["peak_mb"]
            print(f"peak memory, --jobs {jobs}: {large:,} vs {small:,} activities: x{growth:.2f}")
        speedup = batches[f"{large}/jobs1"]["seconds"] / batches[f"{large}/jobs2"]["seconds"]
        print(f"--jobs 2 speed-up on {large:,} activities: x{speedup:.2f}")
    if options.json:
        options.json.write_text(json.dumps({"in_process_all": total / everything, "pace": figures,
                                            "ledger": ledger, "check": check,
                                            "help": help_time, "batches": batches}, indent=2) + "\n")


if __name__ == "__main__":
    main()
