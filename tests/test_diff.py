"""`ceruleng diff` as a user runs it: the command line on copies of bundled specs with one rule changed.

- Semantic, not textual: a reformatted copy (comments, quoting, spacing inside expressions, `0.30` for `0.3`) has no
  change; a changed rounding mode, a new dated version, a category moved up, a rule removed are each reported with
  the rule, its citation, its positions and the fields that changed.
- With members: the exact members whose results change (and only them), each activity's credits before and after,
  the change in earned, `met` gained or lost, the rules responsible; the same output with --jobs 1 and 2 and in
  every format; exit 0 no change, 1 changes, 2 errors.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules"


def diff(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "diff", *arguments], cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=300)


def changed_copy(tmp_path: Path, name: str, edits: list[tuple[str, str]], folder: str = "new") -> Path:
    """rules/NAME copied into tmp_path/FOLDER (with the source texts it cites), each edit applied exactly once."""
    target = tmp_path / folder
    target.mkdir(exist_ok=True)
    if not (target / "sources").exists():
        shutil.copytree(RULES / "sources", target / "sources")
    text = (RULES / name).read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (target / name).write_text(text, encoding="utf-8")
    return target / name


ROUND_HALF_UP = [("    round:\n      increment: quarter_hour\n      mode: down\n",
                  "    round:\n      increment: quarter_hour\n      mode: half-up\n")]


def member(member_id: str, *minutes: int, kind: str = "session") -> dict[str, Any]:
    return {"member": member_id, "credentials": [{"spec": "aca", "certified_on": "2024-01-01"}],
            "activities": [{"id": f"S{n}", "type": kind, "date": "2025-02-11", "minutes": m}
                           for n, m in enumerate(minutes, start=1)]}


ACA_MEMBERS = [
    member("M-exact", 75, 60, 45),  # whole quarter hours: rounding mode makes no difference
    member("M-89", 89),  # 1.4833… → down 1.25, half-up 1.50
    member("M-14", 14),  # 0.2333… → down 0 (below the 0.25 minimum: rejected), half-up 0.25 (awarded)
    member("M-mixed", 30, 100),  # 30 is exact; 100 → 1.6666… → down 1.50, half-up 1.75
    member("M-short", 7),  # 0.1166… → 0 under both: rejected under both
]


@pytest.fixture
def aca_change(tmp_path: Path) -> tuple[Path, Path, Path]:
    new = changed_copy(tmp_path, "aca.yaml", ROUND_HALF_UP)
    members = tmp_path / "members.jsonl"
    lines = [json.dumps(item) for item in ACA_MEMBERS]
    lines.insert(2, "{not json")  # an unreadable line is the same under both: no change, never a crash
    members.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return RULES / "aca.yaml", new, members


# ---- the semantic diff -------------------------------------------------------------------------------------------


def test_a_changed_rounding_rule_is_reported_with_its_citation_and_positions(aca_change: tuple[Path, Path, Path],
                                                                             tmp_path: Path) -> None:
    old, new, _ = aca_change
    done = diff(str(old), str(new), "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["spec_changes"] == [{
        "spec": "aca", "change": "changed", "kind": "category", "name": "education",
        "old": f"{old}:142:5", "new": f"{new}:142:5",
        "citation": "aca: ACA follows a commonly accepted protocol for CEC in that 1 contact hour of education "
                    "equals 1 CEC.",
        "fields": [{"field": "round mode", "before": "down", "after": "half-up"}],
    }]
    assert "members" not in document
    table = diff(str(old), str(new), cwd=tmp_path)
    assert table.returncode == 1
    assert "  aca: changed category 'education'" in table.stdout
    assert "      round mode: down → half-up\n" in table.stdout


def test_layout_comments_quoting_and_spacing_are_not_changes(tmp_path: Path) -> None:
    new = changed_copy(tmp_path, "aca.yaml", [
        ('  learning_minutes: "if has(segments) then sum(segments, minutes, kind not in not_learning) else minutes"',
         "  learning_minutes: >-\n    if has(segments)\n    then sum( segments,minutes,(kind not in not_learning) )"
         "\n    else minutes  "),
        ("categories:\n", "# a new comment\ncategories:\n"),
    ])
    done = diff(str(RULES / "aca.yaml"), str(new), cwd=tmp_path)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "0 spec changes"), done.stdout + done.stderr


def test_folders_are_matched_by_spec_id(tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(RULES, old)
    new = tmp_path / "new"
    shutil.copytree(RULES, new)
    (new / "ny-cle.yaml").unlink()
    text = (new / "asap-pace.yaml").read_text(encoding="utf-8")
    text = text.replace("requirement:\n  credits: 2.4\n", "requirement:\n  credits: 2.5\n")
    (new / "asap-pace.yaml").write_text(text, encoding="utf-8")
    document = json.loads(diff("old", "new", "--format", "json", cwd=tmp_path).stdout)
    changes = {(c["spec"], c["change"], c["kind"], c["name"]): c for c in document["spec_changes"]}
    assert set(changes) == {("asap-pace", "changed", "requirement", ""), ("ny-cle", "removed", "spec", "")}
    assert changes[("asap-pace", "changed", "requirement", "")]["fields"] == [
        {"field": "credits", "before": "2.4", "after": "2.5"}]


def test_a_new_dated_version_a_moved_category_and_a_removed_check(tmp_path: Path) -> None:
    new = changed_copy(tmp_path, "asap-pace.yaml", [
        ("  minimum_continuous_minutes:\n    description: The least continuous education an activity must offer, in "
         "minutes.\n    value: 60\n",
         "  minimum_continuous_minutes:\n    description: The least continuous education an activity must offer, in "
         "minutes.\n    versions:\n      - {effective_to: 2024-12-31, value: 60}\n"
         "      - {effective_from: 2025-01-01, value: 50}\n"),
        ("  - id: pace-module\n", "  - id: pace-module-gone\n"),
    ])
    text = new.read_text(encoding="utf-8")
    training = text[text.index("  - id: training\n"):text.index("  - id: adult-education\n")]
    text = text.replace(training, "").replace("  - id: apc\n", training + "  - id: apc\n", 1)
    new.write_text(text, encoding="utf-8")
    document = json.loads(diff(str(RULES / "asap-pace.yaml"), str(new), "--format", "json", cwd=tmp_path).stdout)
    found = {(c["change"], c["kind"], c["name"]): c for c in document["spec_changes"]}
    parameter = found[("changed", "parameter", "minimum_continuous_minutes")]
    assert parameter["fields"] == [
        {"field": "value (from the beginning until 2024-12-31)", "before": None, "after": "60"},
        {"field": "value (from 2025-01-01 until further notice)", "before": None, "after": "50"},
        {"field": "value", "before": "60", "after": None},
    ]
    assert ("removed", "check", "pace-module") in found and ("added", "check", "pace-module-gone") in found
    assert found[("removed", "check", "pace-module")]["citation"].startswith("pace: content must be related")
    moved = found[("moved", "category", "training")]
    assert moved["fields"] == [{"field": "position", "before": "6", "after": "1"}]


# ---- members -----------------------------------------------------------------------------------------------------


def test_the_exact_members_a_rounding_change_affects(aca_change: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, new, members = aca_change
    done = diff(str(old), str(new), "--members", str(members), "--as-of", "2025-06-01", "--format", "json",
                cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    affected = {item["member"]: item for item in document["members"]}
    assert list(affected) == ["M-89", "M-14", "M-mixed"], "in input order, and only these"
    (credential,) = affected["M-89"]["credentials"]
    assert credential["changes"] == [{"field": "earned", "before": "1.25", "after": "1.50"}]
    assert credential["earned_change"] == "+0.25"
    assert credential["activities"] == [{
        "id": "S1", "index": 0,
        "before": {"category": "education", "status": "awarded", "credits": "1.25"},
        "after": {"category": "education", "status": "awarded", "credits": "1.50"},
        "rules": ["aca: category 'education' (round mode)"],
    }]
    rejected_then_awarded = affected["M-14"]["credentials"][0]["activities"][0]
    assert (rejected_then_awarded["before"]["status"], rejected_then_awarded["after"]["status"]) == ("rejected",
                                                                                                     "awarded")
    assert [a["id"] for a in affected["M-mixed"]["credentials"][0]["activities"]] == ["S2"]
    summary = document["summary"]
    assert summary["members"] == 6 and summary["members_changed"] == 3
    assert summary["activities_changed"] == 3
    assert summary["earned_changes"] == [{"change": "+0.25", "credentials": 3}]
    assert summary["rules"] == [{"rule": "aca: category 'education' (round mode)", "changes": 3}]


def test_parallel_and_sequential_runs_write_the_same(aca_change: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, new, members = aca_change
    for output_format in ("json", "table", "html"):
        outputs = [diff(str(old), str(new), "--members", str(members), "--as-of", "2025-06-01", "--format",
                        output_format, "--jobs", jobs, cwd=tmp_path) for jobs in ("1", "2")]
        assert outputs[0].returncode == outputs[1].returncode == 1
        assert outputs[0].stdout == outputs[1].stdout, output_format


def test_no_change_exits_0_and_says_so(aca_change: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, _, members = aca_change
    done = diff(str(old), str(old), "--members", str(members), "--as-of", "2025-06-01", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "  (none)\n" in done.stdout
    assert "6 members scored under both: 0 changed" in done.stdout


def test_gaining_and_losing_met(tmp_path: Path) -> None:
    new = changed_copy(tmp_path, "asap-pace.yaml",
                       [("requirement:\n  credits: 2.4\n", "requirement:\n  credits: 2.5\n")])
    exactly = {"member": "M-2.4", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
               "activities": [{"id": "A1", "type": "certification", "date": "2024-01-10", "certification": "CAP"},
                              {"id": "A2", "type": "training", "date": "2024-03-01", "minutes": 480,
                               "topic": "Management Skills"}]}
    plenty = {**exactly, "member": "M-3.2",
              "activities": [*exactly["activities"], {"id": "A3", "type": "training", "date": "2024-04-01",
                                                      "minutes": 480, "topic": "Management Skills"}]}
    members = tmp_path / "members.json"
    members.write_text(json.dumps([exactly, plenty]), encoding="utf-8")
    done = diff(str(RULES / "asap-pace.yaml"), str(new), "--members", str(members), "--as-of", "2025-06-01",
                "--format", "json", cwd=tmp_path)
    document = json.loads(done.stdout)
    by_member = {item["member"]: item["credentials"][0] for item in document["members"]}
    assert by_member["M-2.4"]["changes"] == [
        {"field": "required", "before": "2.4", "after": "2.5"},
        {"field": "remaining", "before": "0.0", "after": "0.1"},
        {"field": "met", "before": "true", "after": "false"},
    ]
    assert by_member["M-2.4"]["rules"] == ["asap-pace: requirement (credits)"]
    assert by_member["M-3.2"]["changes"] == [{"field": "required", "before": "2.4", "after": "2.5"}]
    assert (document["summary"]["gain_met"], document["summary"]["lose_met"]) == (0, 1)
    table = diff(str(RULES / "asap-pace.yaml"), str(new), "--members", str(members), "--as-of", "2025-06-01",
                 cwd=tmp_path)
    assert "M-2.4 · asap-pace: required 2.4 → 2.5, remaining 0.0 → 0.1, met true → false\n" in table.stdout
    assert "0 now meet the requirement, 1 no longer do" in table.stdout


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_page_escapes_what_members_wrote(aca_change: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, new, _ = aca_change
    hostile = member("<script>alert('x')</script>", 89)
    hostile["activities"][0]["id"] = '"><img src=x onerror=alert(1)>'
    members = tmp_path / "hostile.json"
    members.write_text(json.dumps(hostile), encoding="utf-8")
    done = diff(str(old), str(new), "--members", str(members), "--as-of", "2025-06-01", "--format", "html",
                cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    page = done.stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "<img" not in page
    collector = _Collector()
    collector.feed(page)
    assert "script" not in collector.tags and "img" not in collector.tags
    assert "<script>alert('x')</script> · aca" in "".join(collector.text)
    assert "round mode" in page and "half-up" in page


def test_errors_exit_2_with_one_clear_line(aca_change: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, new, _ = aca_change
    missing = diff(str(old), str(new), "--members", "no-such.jsonl", cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == "ceruleng: no-such.jsonl: no such file\n"
    broken = changed_copy(tmp_path, "aca.yaml", [("credit: hours(learning_minutes)", "credit: hour(learning_minutes)")],
                          folder="broken")
    done = diff(str(old), str(broken), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert re.search(r"error\[expr-unknown-function\]: unknown function 'hour'", done.stderr)
    assert "Traceback" not in done.stderr


def test_large_memberships_stream_through_a_file(aca_change: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """-o writes the report atomically; a membership of many members is compared in full."""
    old, new, _ = aca_change
    members = tmp_path / "many.jsonl"
    with members.open("w", encoding="utf-8") as handle:
        for number in range(3000):
            handle.write(json.dumps(member(f"M{number}", 89 if number % 3 == 0 else 75)) + "\n")
    report = tmp_path / "report.json"
    done = diff(str(old), str(new), "--members", str(members), "--as-of", "2025-06-01", "--format", "json",
                "--jobs", "2", "-o", str(report), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    document = json.loads(report.read_text(encoding="utf-8"))
    assert [item["member"] for item in document["members"]] == [f"M{n}" for n in range(0, 3000, 3)]
    assert document["summary"]["members"] == 3000


@pytest.mark.parametrize("output_format", ["table", "json", "html"])
def test_member_ids_no_output_can_hold_are_escaped(aca_change: tuple[Path, Path, Path], tmp_path: Path,
                                                   output_format: str) -> None:
    """JSON input may spell a terminal escape or a lone surrogate; every report still writes, escaped."""
    old, new, _ = aca_change
    members = tmp_path / "odd.jsonl"
    odd = member("M-placeholder", 89)
    escaped = json.dumps(odd).replace("M-placeholder", "M-\\u001b[31m-red")
    surrogate = json.dumps(odd).replace("M-placeholder", "M-\\udc41")
    members.write_text(escaped + "\n" + surrogate + "\n", encoding="utf-8")
    done = diff(str(old), str(new), "--members", str(members), "--as-of", "2025-06-01", "--format", output_format,
                cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # the first member changes
    assert "Traceback" not in done.stderr and "\x1b" not in done.stdout
    if output_format == "json":
        assert json.loads(done.stdout)["members"][0]["member"] == "M-\x1b[31m-red"
    # the second member's id is not text (a lone surrogate is not a character): unreadable under both specs, so it
    # does not change, and nothing of it breaks the report


def test_a_changed_parameter_is_named_as_responsible_through_the_check_that_reads_it(tmp_path: Path) -> None:
    new = changed_copy(tmp_path, "asap-pace.yaml", [
        ("    description: The least continuous education an activity must offer, in minutes.\n    value: 60\n",
         "    description: The least continuous education an activity must offer, in minutes.\n    value: 90\n")])
    log = {"member": "M-75", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
           "activities": [{"id": "T75", "type": "training", "date": "2024-03-01", "minutes": 75,
                           "topic": "Management Skills"},
                          {"id": "T120", "type": "training", "date": "2024-03-02", "minutes": 120,
                           "topic": "Management Skills"}]}
    members = tmp_path / "m.json"
    members.write_text(json.dumps(log), encoding="utf-8")
    done = diff(str(RULES / "asap-pace.yaml"), str(new), "--members", str(members), "--as-of", "2025-06-01",
                "--format", "json", cwd=tmp_path)
    (credential,) = json.loads(done.stdout)["members"][0]["credentials"]
    (activity,) = credential["activities"]
    assert activity["id"] == "T75"
    assert (activity["before"]["status"], activity["after"]["status"]) == ("awarded", "rejected")
    assert activity["rules"] == ["asap-pace: parameter 'minimum_continuous_minutes' (value)"]
