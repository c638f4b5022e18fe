"""`to_rows()`: flat rows of plain Python values, whose credits survive sqlite3 and pandas exactly.

Every row holds exactly its table's documented columns, each value of its documented kind (no float anywhere);
the same rows stored by sqlite3 and by pandas `to_sql` (decimals as TEXT, the README's recipe) and read back give
the same Decimals; and the CSV output, read by pandas as text (`dtype=str`), gives the JSON's credits.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas
import pytest

from ceruleng.engine import Evaluator, load_specs
from ceruleng.inputs import read_members
from ceruleng.report.rows import COLUMNS, Rows, to_rows

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
KINDS = {"int": int, "str": str, "bool": bool, "date": date, "decimal": Decimal}


LIMITED = """member: M-LIMITS
credentials: [{spec: limits, certified_on: 2024-01-01, level: 1}]
activities:
  - {id: P, type: podcast, date: 2024-02-01, minutes: 480, title: A podcast}
  - {id: R, type: reading, date: 2024-03-01, minutes: 600, title: A book}
  - {id: W, type: webinar, date: 2024-04-01, minutes: 300, title: A webinar}
"""
"""A member of the limits test spec (the bundled specs write no `limits:`), so the limits and entries tables hold
rows of a limit that cut."""


LIMITS_SPEC = ROOT / "tests" / "ledger" / "limits.yaml"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "limited.yaml"
    path.write_text(LIMITED, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rows(limited: Path) -> list[Rows]:
    evaluator = Evaluator(load_specs([str(ROOT / "rules"), str(LIMITS_SPEC)]), date(2025, 6, 1), explain=True)
    found = []
    paths = [*EXAMPLES, limited]
    for number, item in enumerate(item for path in paths for item in read_members(str(path))):
        found.append(to_rows(evaluator.member(item), item.document, number))
    return found


def _all(rows: list[Rows], table: str) -> list[dict[str, Any]]:
    return [row for member in rows for row in member.tables()[table]]


def test_rows_hold_their_documented_columns_and_kinds(rows: list[Rows]) -> None:
    for table, columns in COLUMNS.items():
        found = _all(rows, table)
        assert found, table  # the example logs fill every table (ny-member has minimums)
        for row in found:
            assert list(row) == [name for name, _ in columns], table
            for name, kind in columns:
                value = row[name]
                assert value is None or type(value) is KINDS[kind], (table, name, value)
    activities = _all(rows, "activities")
    assert all(row["title"] for row in activities)  # the example logs title every activity
    assert {row["category_title"] for row in activities if row["category"]} >= {"College or university courses"}


def test_rows_agree_with_the_json(rows: list[Rows], limited: Path) -> None:
    import json

    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--rules", str(LIMITS_SPEC),
                           "--as-of", "2025-06-01", "--format", "json",
                           *(str(p.relative_to(ROOT)) for p in EXAMPLES), str(limited)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    credentials = [c for m in json.loads(done.stdout)["members"] for c in m["results"]]
    mine = _all(rows, "credentials")
    assert [(r["spec"], r["earned"], r["remaining"]) for r in mine] == [
        (c["spec"], Decimal(c["earned"]), Decimal(c["remaining"]) if c["remaining"] else None) for c in credentials]
    assert [r["credits"] for r in _all(rows, "activities")] == [
        Decimal(a["credits"]) for c in credentials for a in c["activities"]]
    assert [(r["limit"], str(r["counted"]), str(r["cut"])) for r in _all(rows, "limits")] == [
        (limit["id"], limit["counted"], limit["cut"]) for c in credentials for limit in c["limits"]]
    assert _all(rows, "limits")
    behind = [(kind, rule["id"], entry) for c in credentials for kind, key in (("minimum", "minimums"),
                                                                                ("limit", "limits"))
              for rule in c[key] for entry in rule["entries"]]
    assert [(r["rule_kind"], r["rule"], r["activity"], r["date"].isoformat(), str(r["credits"]), str(r["cut"]),
             r["carried"]) for r in _all(rows, "entries")] == [
        (kind, rule, e["activity"], e["date"], e["credits"], e["cut"], e["carried"]) for kind, rule, e in behind]
    # the decimal's own digits are the JSON's: 0.50 stays 0.50, not 0.5
    assert [str(r["credits"]) for r in _all(rows, "activities")] == [
        a["credits"] for c in credentials for a in c["activities"]]


def test_sqlite3_keeps_credits_exact(rows: list[Rows]) -> None:
    """The README recipe: store decimals as TEXT (an adapter turns Decimal into its exact text), read them back
    with Decimal()."""
    activities = _all(rows, "activities")
    names = [name for name, _ in COLUMNS["activities"]]
    sqlite3.register_adapter(Decimal, str)
    sqlite3.register_adapter(date, date.isoformat)  # Python 3.12 deprecates the built-in date adapter
    connection = sqlite3.connect(":memory:")
    connection.execute(f"CREATE TABLE activities ({', '.join(f'{n!r} TEXT' for n in names)})")
    connection.executemany(f"INSERT INTO activities VALUES ({', '.join('?' for _ in names)})",
                           [tuple(row[n] for n in names) for row in activities])
    back = [Decimal(text) for (text,) in connection.execute("SELECT credits FROM activities ORDER BY rowid")]
    assert back == [row["credits"] for row in activities]
    assert [str(value) for value in back] == [str(row["credits"]) for row in activities]
    total = connection.execute("SELECT group_concat(credits, '+') FROM activities").fetchone()[0]
    assert sum(map(Decimal, total.split("+"))) == sum(row["credits"] for row in activities)


def test_pandas_to_sql_keeps_credits_exact(rows: list[Rows]) -> None:
    frame = pandas.DataFrame(_all(rows, "credentials"))
    decimals = [name for name, kind in COLUMNS["credentials"] if kind == "decimal"]
    for name in decimals:
        frame[name] = frame[name].map(lambda value: None if value is None else str(value))
    connection = sqlite3.connect(":memory:")
    frame.to_sql("credentials", connection, index=False, dtype=dict.fromkeys(decimals, "TEXT"))
    back = pandas.read_sql("SELECT * FROM credentials", connection, dtype=dict.fromkeys(decimals, str))
    for name in decimals:
        assert [None if pandas.isna(value) else Decimal(value) for value in back[name]] == [
            row[name] for row in _all(rows, "credentials")], name


def test_csv_read_as_text_gives_exact_credits() -> None:
    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--as-of", "2025-06-01",
                           "--format", "csv", "examples/ace-member.yaml"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    frame = pandas.read_csv(io.StringIO(done.stdout), dtype=str, keep_default_na=False)
    credits = frame["credits"].map(Decimal)
    assert list(frame["credits"])[:3] == ["0.70", "0.10", "1.20"]  # text as written: no float, no lost zero
    assert sum(credits[frame["status"].isin(["awarded", "capped"])]) == Decimal("9.20")
