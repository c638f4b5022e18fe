"""`ceruleng check` for code-review tools, as CI runs it: `--format github`, `--format sarif`, `--fail-on warning`,
and folders that hold more than specs.

SARIF output is validated against the official SARIF 2.1.0 JSON Schema (vendored in tests/data, see its README);
GitHub annotations are parsed back and compared with the JSON diagnostics, including paths and messages that hold
the characters the workflow-command syntax reserves.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "check_golden"
CASES = Path(__file__).parent / "check_cases"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
COMMAND = re.compile(r"^::(?P<kind>error|warning|notice) (?P<properties>[^:]*)::(?P<message>.*)$")


def check(*arguments: str, cwd: Path = GOLDEN) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "check", "--no-cache", *arguments], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=120)


def unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def annotations(output: str) -> list[dict[str, str]]:
    found = []
    for line in output.splitlines():
        match = COMMAND.match(line)
        if match is None:
            continue
        properties = dict(item.split("=", 1) for item in match["properties"].split(","))
        found.append({"kind": match["kind"], **{key: unescape(value) for key, value in properties.items()},
                      "message": unescape(match["message"])})
    return found


def _json(*arguments: str, cwd: Path = GOLDEN) -> dict[str, object]:
    document: dict[str, object] = json.loads(check("--format", "json", *arguments, cwd=cwd).stdout)
    return document


# ---- GitHub ------------------------------------------------------------------------------------------------------


def test_github_annotations_carry_every_diagnostic_at_its_position() -> None:
    done = check("--format", "github", "broken.yaml")
    assert done.returncode == 1 and done.stderr == ""
    found = annotations(done.stdout)
    expected = _json("broken.yaml")["diagnostics"]
    assert isinstance(expected, list)
    assert [(a["kind"], a["file"], int(a["line"]), int(a["col"]), a["title"]) for a in found] == [
        (d["severity"], d["path"], d["line"], d["column"], f"ceruleng {d['code']}") for d in expected]
    for annotation, diagnostic in zip(found, expected, strict=True):
        assert annotation["message"].startswith(diagnostic["message"])
    assert "::error file=broken.yaml,line=21,col=13,title=ceruleng expr-unknown-function::unknown function 'flor' " \
           "(did you mean 'floor'?)\n" in done.stdout
    assert done.stdout.splitlines()[-1] == "checked 1 spec: 6 errors, 1 warning"


def test_github_annotations_escape_what_the_command_syntax_reserves(tmp_path: Path) -> None:
    """A path with ',', ':' and '%', and a hint on a second line, cannot end a command early or start another."""
    name = "a,b:c%d.yaml"
    shutil.copy(GOLDEN / "broken.yaml", tmp_path / name)
    done = check("--format", "github", name, cwd=tmp_path)
    lines = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert len(lines) == 7, "one line per diagnostic: no message broke a line"
    assert all("file=a%2Cb%3Ac%25d.yaml," in line for line in lines)
    found = annotations(done.stdout)
    assert {a["file"] for a in found} == {name}
    hinted = next(a for a in found if a["title"] == "ceruleng activity-type-unused")
    assert hinted["message"] == ("activity type 'lunch' is not taken by any category\nhint: activities of this type "
                                 "will be rejected; add it to a category's types")


# ---- SARIF -------------------------------------------------------------------------------------------------------


def _sarif(*arguments: str, cwd: Path = GOLDEN) -> dict[str, object]:
    done = check("--format", "sarif", *arguments, cwd=cwd)
    assert done.stderr == ""
    log: dict[str, object] = json.loads(done.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    return log


def test_sarif_is_valid_and_holds_every_diagnostic_with_its_region() -> None:
    log = _sarif("broken.yaml", "folder")
    (run,) = log["runs"]  # type: ignore[index]
    expected = _json("broken.yaml", "folder")["diagnostics"]
    assert isinstance(expected, list)
    results = run["results"]
    assert [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"],
             r["locations"][0]["physicalLocation"]["region"]["startColumn"]) for r in results] == [
        (d["code"], d["severity"], d["path"], d["line"], d["column"]) for d in expected]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted({d["code"] for d in expected})
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert run["columnKind"] == "unicodeCodePoints"
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
               for r in results)


def test_sarif_for_a_clean_spec_an_absolute_path_and_odd_names_is_valid(tmp_path: Path) -> None:
    clean = _sarif("folder/good.yaml")
    assert clean["runs"][0]["results"] == []  # type: ignore[index]
    odd = tmp_path / "with space#and%.yaml"
    shutil.copy(GOLDEN / "broken.yaml", odd)
    log = _sarif(str(odd), cwd=tmp_path)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]  # type: ignore[index]
    assert uri == odd.as_uri() and uri.startswith("file:///")
    relative = _sarif(odd.name, cwd=tmp_path)
    location = relative["runs"][0]["results"][0]["locations"][0]["physicalLocation"]  # type: ignore[index]
    assert location["artifactLocation"]["uri"] == "with%20space%23and%25.yaml"


# ---- --fail-on ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json", "github", "sarif"])
def test_fail_on_warning_turns_warnings_into_a_failure(output_format: str) -> None:
    warned = "activity-type-unused.yaml"  # a spec whose only diagnostic is a warning
    assert check("--format", output_format, warned, cwd=CASES).returncode == 0
    assert check("--format", output_format, "--fail-on", "warning", warned, cwd=CASES).returncode == 1
    assert check("--format", output_format, "--fail-on", "warning", "folder/good.yaml").returncode == 0
    assert check("--fail-on", "error", "broken.yaml").returncode == 1


# ---- folders that hold more than specs ---------------------------------------------------------------------------


@pytest.fixture
def rules_repository(tmp_path: Path) -> Path:
    """A rules folder as a repository keeps it: specs, member logs beside them, and a CI file."""
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(GOLDEN / "folder" / "good.yaml", rules / "good.yaml")
    (rules / "members").mkdir()
    shutil.copy(ROOT / "examples" / "pace-member.yaml", rules / "members" / "pace-member.yaml")
    (rules / "ci.yml").write_text("on: [push]\njobs: {}\n", encoding="utf-8")
    return tmp_path


def test_a_folder_check_skips_files_that_are_not_specs_and_says_so(rules_repository: Path) -> None:
    done = check("rules", cwd=rules_repository)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        "skipped rules/ci.yml: not a spec: no 'ceruleng:' key at the top level (member logs and other YAML beside "
        "specs are skipped)",
        "skipped rules/members/pace-member.yaml: not a spec: no 'ceruleng:' key at the top level (member logs and "
        "other YAML beside specs are skipped)",
        "checked 1 spec: no problems",
    ]
    document = _json("rules", cwd=rules_repository)
    assert document["files"] == ["rules/good.yaml"]
    assert [item["path"] for item in document["skipped"]] == ["rules/ci.yml", "rules/members/pace-member.yaml"]  # type: ignore[attr-defined]
    notices = [a for a in annotations(check("--format", "github", "rules", cwd=rules_repository).stdout)
               if a["kind"] == "notice"]
    assert [a["file"] for a in notices] == ["rules/ci.yml", "rules/members/pace-member.yaml"]
    log = _sarif("rules", cwd=rules_repository)
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]  # type: ignore[index]
    assert [n["message"]["text"].split(":")[0] for n in notes] == ["skipped rules/ci.yml",
                                                                   "skipped rules/members/pace-member.yaml"]


def test_a_file_named_on_the_command_line_is_always_checked(rules_repository: Path) -> None:
    done = check("rules/members/pace-member.yaml", cwd=rules_repository)
    assert done.returncode == 1
    assert "error[schema-missing-key]" in done.stdout


def test_a_folder_without_specs_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "member.yaml").write_text("member: M-1\n", encoding="utf-8")
    done = check(".", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "ceruleng: no spec files (.yaml, .yml) found in . (1 YAML file skipped: not a spec)\n"


def test_a_spec_that_does_not_start_with_the_key_is_still_found(tmp_path: Path) -> None:
    text = (GOLDEN / "folder" / "good.yaml").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("ceruleng:"))
    (tmp_path / "late.yaml").write_text(body + "\nceruleng: 1\n", encoding="utf-8")
    (tmp_path / "quoted.yaml").write_text(text.replace("ceruleng: 1", '"ceruleng": 1'), encoding="utf-8")
    done = check(".", cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "checked 2 specs: no problems", done.stdout


@pytest.mark.parametrize("output_format", ["json", "github", "sarif"])
def test_coverage_is_refused_with_a_machine_format(output_format: str) -> None:
    """The Markdown coverage report goes to standard output, where it would corrupt JSON, SARIF or annotations."""
    done = check("--coverage", "--format", output_format, "folder/good.yaml")
    assert (done.returncode, done.stdout) == (2, "")
    assert "--coverage prints a Markdown report on standard output: use it with --format text" in done.stderr
