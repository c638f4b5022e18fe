"""Parquet output loads as it is: DuckDB reads the six tables with their fixed types, and the totals it computes
from them are the JSON's, to the last digit. Real CLI runs (subprocesses), real DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "examples").glob("*.yaml"))]
AS_OF = "2025-06-01"


def _eval(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--as-of", AS_OF,
                           *arguments], cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("parquet") / "results"
    done = _eval(*EXAMPLES, "--format", "parquet", "--explain", "-o", str(folder))
    assert done.returncode in (0, 1) and not done.stderr, done.stderr
    result = json.loads(_eval(*EXAMPLES, "--format", "json", "--categories", "all").stdout)  # Parquet lists them all
    return folder, result


def _query(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = duckdb.connect()
    for table in ("credentials", "activities", "categories", "minimums"):
        connection.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / table}.parquet', "
                           "file_row_number = true)")
    return connection.execute(sql).fetchall()


def test_duckdb_totals_are_the_json_totals(tables: tuple[Path, dict[str, Any]]) -> None:
    folder, result = tables
    credentials = [c for member in result["members"] for c in member["results"]]
    from_activities = _query(folder, """
        SELECT c.member_index, c.credential_index, c.earned, c.required, c.remaining,
               coalesce(sum(a.credits) FILTER (WHERE a.status IN ('awarded', 'capped')), 0), count(a.index)
        FROM credentials c LEFT JOIN activities a USING (member_index, credential_index)
        GROUP BY ALL ORDER BY c.member_index, c.credential_index""")
    assert len(from_activities) == len(credentials)
    for row, credential in zip(from_activities, credentials, strict=True):
        _, _, earned, required, remaining, summed, count = row
        assert isinstance(earned, Decimal) and isinstance(summed, Decimal)  # DuckDB hands back exact decimals
        assert earned == summed == Decimal(credential["earned"])
        assert required == (Decimal(credential["required"]) if credential["required"] else None)
        assert remaining == (Decimal(credential["remaining"]) if credential["remaining"] else None)
        assert count == len(credential["activities"])
    categories = _query(folder, "SELECT member_index, credential_index, category, earned, cap FROM categories "
                                "ORDER BY file_row_number")
    expected = [(key, Decimal(total["earned"]), Decimal(total["cap"]) if total["cap"] else None)
                for credential in credentials for key, total in credential["categories"].items()]
    assert [(category, earned, cap) for _, _, category, earned, cap in categories] == expected
    minimums = _query(folder, "SELECT minimum, at_least, counted, met FROM minimums ORDER BY file_row_number")
    assert minimums == [(m["id"], Decimal(m["at_least"]), Decimal(m["counted"]), m["met"])
                        for credential in credentials for m in credential["minimums"]]


def test_every_activity_is_a_row_with_its_status_and_exact_credits(tables: tuple[Path, dict[str, Any]]) -> None:
    folder, result = tables
    rows = _query(folder, "SELECT id, status, credits, date, malformed, reasons, trace FROM activities "
                          "ORDER BY member_index, credential_index, index")
    expected = [a for member in result["members"] for c in member["results"] for a in c["activities"]]
    assert [(r[0], r[1], r[2]) for r in rows] == [(a["id"], a["status"], Decimal(a["credits"])) for a in expected]
    assert [r[3].isoformat() if r[3] else None for r in rows] == [a["date"] for a in expected]
    assert [r[5] for r in rows] == [" ".join(a["reasons"]) for a in expected]
    assert any(r[6] and "(rules/" in r[6] for r in rows)  # --explain puts the trace in its own column


def test_every_activity_row_carries_its_reason_codes(tables: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tables
    coded = json.loads(_eval(*EXAMPLES, "--format", "json", "--reasons", "codes").stdout)
    rows = _query(folder, "SELECT reason_codes FROM activities ORDER BY member_index, credential_index, index")
    expected = [a for member in coded["members"] for c in member["results"] for a in c["activities"]]
    assert [r[0] for r in rows] == [" ".join(a["reasons"]) for a in expected]
    assert any(" " in r[0] for r in rows)  # an activity with two reasons has two codes


def test_the_schema_is_fixed_whatever_the_specs(tables: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Decimal(38, 6) and date32 everywhere, the same for a one-decimal spec alone as for all five together."""
    folder, _ = tables
    alone = tmp_path / "pace"
    assert _eval("examples/pace-member.yaml", "--format", "parquet", "-o", str(alone)).returncode == 0
    for table in ("credentials", "activities", "categories", "minimums"):
        schema = pq.read_schema(folder / f"{table}.parquet")
        assert schema.remove_metadata() == pq.read_schema(alone / f"{table}.parquet").remove_metadata()
        for field in schema:
            if field.name in ("credits", "earned", "required", "remaining", "carried_in", "cap", "at_least",
                              "counted", "fee_amount", "audit_rate"):
                assert str(field.type) == "decimal128(38, 6)", (table, field)
            if field.name in ("date", "deadline", "cycle_start", "cycle_end", "certified_on"):
                assert str(field.type) == "date32[day]", (table, field)
    assert pq.read_table(alone / "minimums.parquet").num_rows == 0  # an empty table still has its columns
    assert pq.read_schema(alone / "activities.parquet").metadata[b"ceruleng.as_of"] == AS_OF.encode()


def test_parquet_needs_a_folder(tmp_path: Path) -> None:
    done = _eval("examples/pace-member.yaml", "--format", "parquet")
    assert done.returncode == 2 and "-o FOLDER" in done.stderr and not done.stdout


def test_unreadable_members_and_hostile_text_are_rows_too(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    good = {"member": "M-1", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
            "activities": [{"id": "=1+1", "type": "webinar", "provider": "ASAP", "date": "2024-03-05",
                            "minutes": 60, "title": "\u202e\x00 odd \udc41"}]}
    batch.write_text(json.dumps(good) + "\nnot json\n" + json.dumps({**good, "member": "M-2"}) + "\n")
    folder = tmp_path / "out"
    done = _eval(str(batch), "--format", "parquet", "-o", str(folder))
    assert done.returncode == 1 and not done.stderr, done.stderr
    members = _query(folder, "SELECT member, member_error IS NOT NULL, activity_results FROM credentials "
                             "ORDER BY member_index")
    assert members == [("M-1", False, 1), (None, True, 0), ("M-2", False, 1)]
    activities = _query(folder, "SELECT member_index, id, title, credits FROM activities ORDER BY member_index")
    # a title holding a lone surrogate (not a character: it cannot be written as UTF-8) is a malformed field:
    # the activity is rejected, and its title is not carried into the table
    assert activities == [(0, "=1+1", None, Decimal("0")), (2, "=1+1", None, Decimal("0"))]
    malformed = _query(folder, "SELECT malformed, reasons FROM activities ORDER BY member_index")
    assert all(flag for flag, _ in malformed) and all("title" in str(reasons) for _, reasons in malformed)
