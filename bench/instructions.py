"""Instructions per member, ceruleng against the hand-written scorers: a figure the machine's load cannot move.

    python bench/instructions.py [--members 200] [--only pace,ledger] [--tree OTHER_TREE]

Timed ratios (bench/run.py) move by a tenth from run to run on a shared machine; an instruction count does not.
Each scorer scores the same members (bench/run.py's PACE membership and its ledger-heavy members) in a fresh
interpreter under valgrind's callgrind, once scoring `--members` members and once twice as many (both make the
same members), and the difference of the two totals is divided by `--members`: start-up, imports, compiling the
spec and making the members cancel out, and what is left is the cost of scoring one member. Needs valgrind
(Debian's package). With `--tree`, another checkout's ceruleng is counted on the same members too (its own bench/
on the path), so a change can be weighed by count. Counting takes a while: about a minute a scorer at the default
size.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SCORE = """
import gc, sys
sys.path[:0] = [{tree!r}, {bench!r}]
import run
from ceruleng.engine import Evaluator, load_specs
kind, who, members, made = {kind!r}, {who!r}, {members}, {made}
if kind == "pace":
    specs = load_specs([str(run.ROOT / "rules" / "asap-pace.yaml")])
    documents = [run.parse_json(run.json.dumps(d)) for d in run.membership({{"asap-pace": specs["asap-pace"]}},
                                                                         made, 10)]
    evaluator = Evaluator(specs, run.AS_OF, period="current")
    by_hand = run.handwritten_pace.score_member
else:
    documents = run.ledger_members(made, 40)
    evaluator = Evaluator(load_specs([str(run.LEDGER_SPEC)]), run.AS_OF, period="current")
    by_hand = run.handwritten_ledger.score_member
score = evaluator.member if who == "ceruleng" else (lambda document: by_hand(document, run.AS_OF))
gc.collect()
gc.freeze()
for document in documents[:members]:
    score(document)
"""


def instructions(tree: Path, kind: str, who: str, members: int, made: int) -> int:
    """Every instruction callgrind counts in one interpreter that makes `made` members and scores the first
    `members` of them with `who` (both runs of a pair make as many, so making them cancels out too)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        code = SCORE.format(tree=str(tree), bench=str(tree / "bench"), kind=kind, who=who, members=members,
                           made=made)
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                               sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                              cwd=tree, check=False)
        if done.returncode != 0:
            raise SystemExit(f"scoring under valgrind failed ({kind}, {who}, {tree}):\n{done.stderr[-2000:]}")
        summary = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
        if summary is None:
            raise SystemExit(f"no instruction count in callgrind's output ({kind}, {who})")
        return int(summary.group(1))


def per_member(tree: Path, kind: str, who: str, members: int) -> float:
    made = 2 * members
    return (instructions(tree, kind, who, made, made) - instructions(tree, kind, who, members, made)) / members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200, help="members in the smaller run (the larger: twice)")
    parser.add_argument("--only", default="pace,ledger", help="pace, ledger or both, comma-separated")
    parser.add_argument("--tree", type=Path, help="another checkout whose ceruleng is counted beside this one")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    kinds = options.only.split(",")
    unknown = set(kinds) - {"pace", "ledger"}
    if unknown or options.members < 1:
        raise SystemExit(f"--only takes pace and ledger; --members at least 1 (got {options.only}, "
                         f"{options.members})")
    trees = [HERE] + ([options.tree.resolve()] if options.tree else [])
    print(f"instructions per member (callgrind; {options.members} and {2 * options.members} members, differenced)")
    for kind in kinds:
        by_hand = per_member(HERE, kind, "hand-written", options.members)
        print(f"{kind}: hand-written {by_hand / 1000:,.0f}k")
        for tree in trees:
            ours = per_member(tree, kind, "ceruleng", options.members)
            print(f"{kind}: ceruleng ({tree}) {ours / 1000:,.0f}k: {ours / by_hand:.2f}x the hand-written scorer")


if __name__ == "__main__":
    main()
