"""Dask with two workers against `ceruleng eval --jobs 2`, on the same JSON Lines batch, in one run.

Run from the repository root (needs the `dask` extra):

    python bench/dask_bench.py            # a 1,000,000-activity batch (100,000 members x 10 activities)
    python bench/dask_bench.py --quick    # a 100,000-activity batch

It generates the batch as bench/run.py does (the same deterministic membership over the bundled specs), then, in
turn, times `ceruleng eval --rules rules BATCH --format jsonl --jobs 2 -o FILE` (a subprocess: interpreter start and
spec compile included) and `write_jsonl(score_jsonl(BATCH, "rules"), FILE)` on a `LocalCluster` of two worker
processes of one thread each (the client checks the specs, the workers compile them and score). The cluster is
started once, before the timings (a cluster is up before a job is sent to it); its start-up is reported apart. The
first Dask run is reported apart too (its workers compile the specs); the ratio uses the best of the repetitions of
each. Both outputs must be byte-identical. Machines here are shared and noisy: compare the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import AS_OF, write_batch  # noqa: E402 - bench/ is on the path above

from ceruleng.dask import BLOCK_BYTES, score_jsonl, write_jsonl  # noqa: E402
from ceruleng.engine import load_specs  # noqa: E402


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def time_cli(batch: Path, out: Path) -> float:
    command = [sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", str(batch), "--format", "jsonl",
               "--as-of", AS_OF.isoformat(), "--jobs", "2", "-o", str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"eval failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def time_dask(batch: Path, out: Path, day: date, blocksize: int) -> float:
    start = time.perf_counter()
    write_jsonl(score_jsonl(batch, ROOT / "rules", day, blocksize=blocksize), out)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=1_000_000, help="activities in the batch")
    parser.add_argument("--per-member", type=int, default=10, help="activities per member")
    parser.add_argument("--repeats", type=int, default=2, help="timings of each (the best is kept)")
    parser.add_argument("--blocksize", type=int, default=BLOCK_BYTES, help="bytes of input per Dask partition")
    parser.add_argument("--quick", action="store_true", help="a 100,000-activity batch")
    options = parser.parse_args()
    if options.quick:
        options.activities = 100_000
    from distributed import Client, LocalCluster

    specs = load_specs([str(ROOT / "rules")])
    print(f"ceruleng on Dask · Python {sys.version.split()[0]} · {os.cpu_count()} cores · "
          f"{options.activities:,} activities · partitions of {options.blocksize:,} bytes")
    with tempfile.TemporaryDirectory() as folder:
        batch = Path(folder) / "batch.jsonl"
        write_batch(specs, batch, options.activities, options.per_member)
        print(f"batch: {batch.stat().st_size / 1e6:,.1f} MB")
        started = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        print(f"cluster start-up (2 worker processes): {time.perf_counter() - started:.2f} s")
        try:
            cli_out, dask_out = Path(folder) / "cli.jsonl", Path(folder) / "dask.jsonl"
            first = time_dask(batch, dask_out, AS_OF, options.blocksize)
            print(f"dask, first run (workers compile the specs): {first:7.2f} s")
            cli_times, dask_times = [], []
            for _ in range(options.repeats):  # alternately, so both see the same machine load
                cli_times.append(time_cli(batch, cli_out))
                dask_times.append(time_dask(batch, dask_out, AS_OF, options.blocksize))
            if digest(cli_out) != digest(dask_out):
                raise SystemExit("the Dask output differs from eval's")
        finally:
            client.close()
            cluster.close()
    cli, dask = min(cli_times), min(dask_times)
    print(f"eval --jobs 2:          {cli:7.2f} s  {options.activities / cli:>9,.0f} activities/s")
    print(f"dask, 2 workers:        {dask:7.2f} s  {options.activities / dask:>9,.0f} activities/s")
    print(f"ratio: dask takes {dask / cli:.2f} x the time of eval --jobs 2 (outputs byte-identical)")


if __name__ == "__main__":
    main()
