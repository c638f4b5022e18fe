"""Golden outputs: every member log under examples/ scored on 2025-06-01 must print exactly the committed table and
JSON (examples/expected/). After a deliberate change, regenerate with CERULENG_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.suffix in (".yaml", ".json", ".jsonl", ".csv"))
AS_OF = "2025-06-01"
UPDATE = os.environ.get("CERULENG_UPDATE_GOLDEN") == "1"


def _eval(example: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules",
                           str(example.relative_to(ROOT)), "--as-of", AS_OF, "--format", fmt],
                          cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_output_is_exactly_the_golden_file(example: Path, fmt: str) -> None:
    done = _eval(example, fmt)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    golden = ROOT / "examples" / "expected" / f"{example.stem}.{'txt' if fmt == 'table' else 'json'}"
    if UPDATE:
        golden.write_text(done.stdout)
    assert golden.exists(), f"no golden file {golden.name}; run with CERULENG_UPDATE_GOLDEN=1"
    assert done.stdout == golden.read_text()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_activity_appears_once_per_credential_in_every_format(example: Path) -> None:
    from ceruleng.inputs import read_members

    documents = [item.document for item in read_members(str(example))]
    expected = sum(len(d["activities"]) * len(d["credentials"]) for d in documents)
    result = json.loads(_eval(example, "json").stdout)
    per_json = sum(len(c["activities"]) for m in result["members"] for c in m["results"])
    csv_rows = len(_eval(example, "csv").stdout.splitlines()) - 1
    lines = _eval(example, "jsonl").stdout.splitlines()
    per_jsonl = sum(len(c["activities"]) for line in lines for c in json.loads(line)["results"])
    assert per_json == csv_rows == per_jsonl == expected
    assert result["summary"]["activity_results"] == expected
