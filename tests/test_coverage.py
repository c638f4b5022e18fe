"""Traceability (`ceruleng check --coverage`): citations → keys → examples, and unexercised rules flagged.

docs/coverage.md is the committed report for the bundled specs; it must be what the command prints today
(regenerate with CERULENG_UPDATE_GOLDEN=1 after changing a spec, and review the diff).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ceruleng.coverage import coverage_report
from ceruleng.engine import load_spec

ROOT = Path(__file__).parent.parent

SPEC = """\
ceruleng: 1
id: tiny
title: Tiny
sources:
  text: {title: A policy}
unit: {name: CEU, places: 1, source: {doc: text, quote: One unit per hour.}}
activity_types:
  course: A course
  talk: A talk
categories:
  - id: course
    title: Courses
    types: [course]
    credit: 1
    source: {doc: text, quote: Courses earn one unit.}
  - id: talk
    title: Talks
    types: [talk]
    credit: 2
    source: {doc: text, quote: Talks earn two units.}
examples:
  - name: a course earns 1
    activity: {type: course, date: 2025-01-01}
    expect: {credits: 1}
"""


def test_a_rule_no_example_exercises_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    report = coverage_report([load_spec(str(path))])
    rows = {line.split(" | ")[2]: line for line in report.splitlines() if line.startswith("| text |")}
    assert rows["`categories[0] course`"].endswith("| a course earns 1 |")
    assert rows["`categories[1] talk`"].endswith("| **none** |")
    unexercised = report.split("Rules no example exercises:")[1]
    assert "`categories[1] talk`" in unexercised and "Talks earn two units." in unexercised
    assert "`categories[0] course`" not in unexercised


def test_the_committed_report_for_the_bundled_specs_is_current() -> None:
    done = subprocess.run([sys.executable, "-m", "ceruleng", "check", "--coverage", "rules"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Traceability"), "the report alone goes to stdout; the summary to stderr"
    committed = ROOT / "docs" / "coverage.md"
    if os.environ.get("CERULENG_UPDATE_GOLDEN") == "1":
        committed.write_text(done.stdout)
    assert done.stdout == committed.read_text(), "docs/coverage.md is stale: regenerate it (see module docstring)"


def test_credit_counted_from_a_grace_exercises_it() -> None:
    """An example scored through the grace (an activity dated after the period counted toward it) pins the grace:
    it used to be listed as exercised by no example."""
    for spec, rule in (("tests/windows/grace.yaml", "`cycle.grace`"),):
        report = coverage_report([load_spec(str(ROOT / spec))])
        rows = [line for line in report.splitlines() if f"| {rule} |" in line]
        assert rows and all(not line.endswith("| **none** |") for line in rows), (spec, rows)
        assert "Rules no example exercises:" not in report, (spec, report)
