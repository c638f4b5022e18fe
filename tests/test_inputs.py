"""Reading activity files in every format: the same member reads the same from YAML, JSON, JSON Lines and CSV."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ceruleng.errors import InputError
from ceruleng.inputs import read_members

ROOT = Path(__file__).parent.parent
MEMBER = {
    "member": "M-7",
    "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
    "activities": [
        {"id": "A1", "type": "webinar", "provider": "Lorman", "date": "2025-02-11", "minutes": 90,
         "topic": "Management Skills"},
        {"id": "A2", "type": "training", "date": "2024-09-09", "topic": "Management Skills",
         "segments": [{"kind": "session", "minutes": 60}, {"kind": "break", "minutes": 15}]},
    ],
}
CSV = (
    "member,credentials,id,type,provider,date,minutes,topic,segments\n"
    "M-7,asap-pace@2023-06-15,A1,webinar,Lorman,2025-02-11,90,Management Skills,\n"
    'M-7,asap-pace@2023-06-15,A2,training,,2024-09-09,,"Management Skills",session:60;break:15\n'
)


def _scored(path: Path, fmt: str | None = None) -> list[tuple[str, str, str]]:
    """(id, status, credits) of every activity, through the CLI's reader and the engine."""
    from datetime import date

    from ceruleng.engine import Evaluator, load_specs

    evaluator = Evaluator(load_specs([str(ROOT / "rules" / "asap-pace.yaml")]), date(2025, 6, 1))
    results = list(evaluator.members(read_members(str(path), fmt)))
    return [(a.id or "", a.status, str(a.credits)) for r in results for c in r.credentials for a in c.activities]


def test_every_format_reads_the_same_member(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps(MEMBER))
    (tmp_path / "m.jsonl").write_text(json.dumps(MEMBER) + "\n")
    (tmp_path / "m.yaml").write_text(json.dumps(MEMBER))  # JSON is YAML
    (tmp_path / "m.csv").write_text(CSV)
    expected = [("A1", "awarded", "0.1"), ("A2", "awarded", "0.1")]
    for name in ("m.json", "m.jsonl", "m.yaml", "m.csv"):
        assert _scored(tmp_path / name) == expected, name


def test_numbers_are_decimals_never_floats(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"member": "x", "activities": [{"minutes": 1.5}]}')
    [item] = list(read_members(str(tmp_path / "m.json")))
    assert item.document["activities"][0]["minutes"] == Decimal("1.5")
    assert type(item.document["activities"][0]["minutes"]) is Decimal


def test_a_json_array_holds_several_members(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps([MEMBER, {**MEMBER, "member": "M-8"}]))
    assert [item.document["member"] for item in read_members(str(tmp_path / "m.json"))] == ["M-7", "M-8"]


def test_json_lines_report_bad_lines_by_number_and_go_on(tmp_path: Path) -> None:
    lines = [json.dumps(MEMBER), "{broken", "", json.dumps({**MEMBER, "member": "M-9"}), '{"a": 1, "a": 2}']
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n")
    items = list(read_members(str(tmp_path / "b.jsonl")))
    assert [(i.line, i.problem is None) for i in items] == [(1, True), (2, False), (4, True), (5, False)]
    assert "line 2: not valid JSON" in (items[1].problem or "")
    assert "duplicate key 'a'" in (items[3].problem or "")


def test_csv_needs_its_columns(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("id,type,date\nA1,webinar,2025-01-01\n")
    with pytest.raises(InputError, match="missing columns member, credentials"):
        list(read_members(str(tmp_path / "m.csv")))


def test_csv_rows_with_extra_fields_are_malformed_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(CSV + "M-7,asap-pace@2023-06-15,A3,training,,2024-01-01,60,x,,EXTRA\n")
    scored = _scored(tmp_path / "m.csv")
    assert len(scored) == 3 and scored[2] == ("A3", "rejected", "0")


def test_stdin_json_lines(tmp_path: Path) -> None:
    batch = "".join(json.dumps({**MEMBER, "member": f"M{i}"}) + "\n" for i in range(3))
    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", str(ROOT / "rules"), "-",
                           "--format", "jsonl", "--as-of", "2025-06-01"], input=batch, capture_output=True,
                          text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["member"] for line in done.stdout.splitlines()] == ["M0", "M1", "M2"]


def test_unknown_suffix_asks_for_a_format(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(InputError, match="--input-format"):
        list(read_members(str(tmp_path / "m.txt")))
