"""The command line's contracts: version, schemas from an installed package, exit codes, outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ceruleng import __version__

ROOT = Path(__file__).parent.parent


def run(*arguments: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=cwd, capture_output=True, text=True,
                          input=stdin, check=False)


def test_version_matches_the_package_metadata() -> None:
    done = run("--version")
    assert done.stdout.strip() == f"ceruleng {__version__}"
    assert f'version = "{__version__}"' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("name", ["spec", "activities", "result"])
def test_schema_prints_the_published_schema_from_anywhere(name: str, tmp_path: Path) -> None:
    done = run("schema", name, cwd=tmp_path)  # outside the repository: the package's own copy
    assert done.returncode == 0
    assert json.loads(done.stdout) == json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())


def test_eval_writes_every_format_with_every_activity(tmp_path: Path) -> None:
    example = ROOT / "examples" / "pace-member.yaml"
    counts = {}
    for fmt in ("json", "jsonl", "csv", "table"):
        out = tmp_path / f"out.{fmt}"
        done = run("eval", "--rules", "rules", str(example), "--as-of", "2025-06-01", "--format", fmt, "-o", str(out))
        assert done.returncode == 0, done.stderr
        text = out.read_text()
        if fmt == "json":
            counts[fmt] = len(json.loads(text)["members"][0]["results"][0]["activities"])
        elif fmt == "jsonl":
            counts[fmt] = len(json.loads(text.splitlines()[0])["results"][0]["activities"])
        elif fmt == "csv":
            counts[fmt] = len(text.splitlines()) - 1
        else:
            counts[fmt] = sum(1 for line in text.splitlines() if line.startswith("  A"))
    assert set(counts.values()) == {17}, counts


def test_eval_exit_code_says_some_input_was_malformed(tmp_path: Path) -> None:
    member = {"member": "M", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
              "activities": [{"id": "A1", "type": "webinar", "date": "2024-01-01", "minutes": "ninety"}]}
    (tmp_path / "m.json").write_text(json.dumps(member))
    done = run("eval", "--rules", str(ROOT / "rules"), str(tmp_path / "m.json"), "--as-of", "2024-06-01",
               "--format", "json")
    assert done.returncode == 1
    activity = json.loads(done.stdout)["members"][0]["results"][0]["activities"][0]
    assert activity["status"] == "rejected" and activity["malformed"] is True
    assert "minutes: must be a number, got 'ninety'" in activity["reasons"][0]


def test_explain_traces_each_rule_with_its_position() -> None:
    done = run("eval", "--rules", "rules", "examples/pace-member.yaml", "--as-of", "2025-06-01", "--format", "json",
               "--explain")
    activity = json.loads(done.stdout)["members"][0]["results"][0]["activities"][0]
    rules = [line["rule"] for line in activity["trace"]]
    assert "check at least 60 continuous minutes" in rules and "credit" in rules
    assert all(line["at"].startswith("rules/asap-pace.yaml:") for line in activity["trace"])


def test_explain_names_the_carry_over_limit_that_held_credit_back(tmp_path: Path) -> None:
    """Texas carries at most the year's excess ethics hours (5 less 3): the later ethics course carries its 2, the
    earlier one is held back by the carry-over limit `ethics`, and the explained credential says so."""
    member = tmp_path / "member.yaml"
    member.write_text("""member: TX-1
credentials: [{spec: texas-mcle, certified_on: 2020-03-10, birth_month: 6}]
activities:
  - {id: G2, type: live, date: 2024-02-08, minutes: 420}
  - {id: E1, type: live, date: 2024-04-18, minutes: 180, ethics_minutes: 180}
  - {id: E2, type: live, date: 2024-05-20, minutes: 120, ethics_minutes: 120}
  - {id: G3, type: live, date: 2023-09-14, minutes: 600}
  - {id: N1, type: live, date: 2024-07-11, minutes: 480}
""")
    plain = run("eval", "--rules", "rules", str(member), "--as-of", "2025-05-01", "--format", "json")
    explained = run("eval", "--rules", "rules", str(member), "--as-of", "2025-05-01", "--format", "json",
                    "--explain")
    assert plain.returncode == explained.returncode == 0, explained.stderr
    result = json.loads(explained.stdout)["members"][0]["results"][0]
    assert result["carried_in"] == "7.00"
    written = (ROOT / "rules" / "texas-mcle.yaml").read_text().splitlines()
    limit_line = written.index("      - id: ethics", written.index("  carry_over:")) + 1
    assert [(line["rule"], line["at"].rsplit(":", 1)[0], line["value"]) for line in result["trace"]] == [
        ("carry-over limit ethics on E1", f"rules/texas-mcle.yaml:{limit_line}", "0")]
    assert "trace" not in json.loads(plain.stdout)["members"][0]["results"][0]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_jobs_two_gives_the_same_output_in_the_same_order(tmp_path: Path, fmt: str) -> None:
    member = json.loads(json.dumps(__import__("yaml").safe_load((ROOT / "examples" / "pace-member.yaml").read_text()),
                                   default=str))
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps({**member, "member": f"M{i}"}) + "\n" for i in range(700)))
    one = run("eval", "--rules", "rules", str(batch), "--as-of", "2025-06-01", "--format", fmt)
    two = run("eval", "--rules", "rules", str(batch), "--as-of", "2025-06-01", "--format", fmt, "--jobs", "2")
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout
    if fmt == "jsonl":
        assert [json.loads(line)["member"] for line in one.stdout.splitlines()] == [f"M{i}" for i in range(700)]


def test_test_command_reports_passes_and_failures(tmp_path: Path) -> None:
    done = run("test", "rules")
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1].endswith("0 failed")
    broken = tmp_path / "pace.yaml"
    text = (ROOT / "rules" / "asap-pace.yaml").read_text()
    broken.write_text(text.replace("expect: {category: lorman-webinar, status: awarded, credits: 0.1, reason",
                                   "expect: {category: lorman-webinar, status: awarded, credits: 0.2, reason"))
    shutil.copytree(ROOT / "rules" / "sources", tmp_path / "sources")  # a symlink out of the folder is refused
    done = run("test", str(broken))
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"{broken}:") and "credits: expected 0.2, got 0.1" in first
    assert done.stdout.strip().splitlines()[-1].endswith("1 failed")


def test_junit_output_is_xml() -> None:
    done = run("test", "rules", "--format", "junit")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(done.stdout)
    assert root.tag == "testsuites" and int(root[0].get("tests", "0")) >= 10
