"""A bug costs only the member it hits: the containment boundary of the evaluator.

A runtime helper is made to fail the way a bug would (a TypeError ceruleng never foresaw) for one activity's value.
The member holding that activity is reported with an error naming the spec rule that was running; every other
member is still scored and written, in every format, on one and on two processes; the run exits 3 and says at the end
how many members were hit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ceruleng import runtime
from ceruleng.cli import main

ROOT = Path(__file__).parent.parent
RULES = str(ROOT / "rules" / "asap-pace.yaml")
POISON = Decimal(7)
"""Seven full hours: the value the broken helper cannot take (a 420-minute training)."""


def _member(member: str, minutes: int) -> dict[str, Any]:
    return {"member": member, "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
            "activities": [{"id": "A1", "type": "training", "date": "2025-02-11", "minutes": minutes,
                            "topic": "Management Skills"},
                           {"id": "A2", "type": "training", "date": "2025-03-11", "minutes": 120,
                            "topic": "Management Skills"}]}


@pytest.fixture
def broken_floor(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = runtime.RUNTIME["_floor"]

    def floor(value: Decimal) -> Decimal:
        result: Decimal = real(value)
        if result == POISON:
            raise TypeError("a bug ceruleng did not foresee")
        return result

    monkeypatch.setitem(runtime.RUNTIME, "_floor", floor)
    yield


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "batch.jsonl"
    members = [_member("M-1", 90), _member("M-2", 420), _member("M-3", 180)]
    path.write_text("".join(json.dumps(m) + "\n" for m in members), encoding="utf-8")
    return path


def _run(batch: Path, fmt: str, jobs: int) -> Any:
    return CliRunner().invoke(main, ["eval", "--rules", RULES, str(batch), "--as-of", "2025-06-01", "--format", fmt,
                                     "--jobs", str(jobs)])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bug_costs_one_member_its_result_and_the_run_exits_3(broken_floor: None, batch: Path, jobs: int) -> None:
    done = _run(batch, "jsonl", jobs)
    assert done.exit_code == 3, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["member"] for line in lines] == ["M-1", "M-2", "M-3"]
    hit = lines[1]["results"][0]
    assert hit["error"].startswith("internal error in ceruleng: TypeError while applying let full_hours at ")
    assert "rules/asap-pace.yaml:" in hit["error"]
    assert [a["id"] for a in hit["activities"]] == ["A1", "A2"]  # nothing dropped: every activity listed
    assert all(a["status"] == "rejected" for a in hit["activities"])
    assert lines[0]["results"][0]["earned"] == "0.3" and lines[2]["results"][0]["earned"] == "0.5"
    assert "1 member hit an internal error" in done.stderr


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_every_format_still_writes_every_member(broken_floor: None, batch: Path, fmt: str) -> None:
    done = _run(batch, fmt, 1)
    assert done.exit_code == 3
    for member in ("M-1", "M-2", "M-3"):
        assert member in done.stdout
    if fmt == "json":
        document = json.loads(done.stdout)
        assert document["summary"]["members"] == 3


def test_debug_lets_the_bug_propagate_with_its_traceback(broken_floor: None, batch: Path) -> None:
    done = CliRunner().invoke(main, ["--debug", "eval", "--rules", RULES, str(batch), "--as-of", "2025-06-01"])
    assert isinstance(done.exception, TypeError)


def test_a_sound_run_reports_no_internal_error(batch: Path) -> None:
    done = _run(batch, "jsonl", 1)
    assert done.exit_code == 0, done.output
    assert "internal error" not in done.output
