"""`ceruleng check` output, byte for byte: golden text and JSON outputs, --max-errors, folders, and I/O errors.

The golden files in tests/check_golden are what `ceruleng check` prints, run with the working directory
tests/check_golden and relative paths (so the outputs hold no machine-specific paths). After an intended change of
the output, regenerate them with `CERULENG_UPDATE_GOLDEN=1 python -m pytest tests/test_check_output.py` and review
the difference.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "check_golden"
UPDATE = os.environ.get("CERULENG_UPDATE_GOLDEN") == "1"

GOLDEN_RUNS: dict[str, tuple[str, ...]] = {
    "broken.txt": ("broken.yaml",),
    "broken.json": ("--format", "json", "broken.yaml"),
    "unknown-key.txt": ("unknown-key.yaml",),
    "unknown-key.json": ("--format", "json", "unknown-key.yaml"),
    "broken.max-errors-2.txt": ("--max-errors", "2", "broken.yaml"),
    "broken.max-errors-2.json": ("--max-errors", "2", "--format", "json", "broken.yaml"),
    "folder.txt": ("folder",),
    "folder.json": ("--format", "json", "folder"),
    "yaml-mistakes.txt": ("yaml-mistakes",),
    "terminal-text.txt": ("terminal-text.yaml",),
    "control-character.txt": ("control-character.yaml",),
}
"""Golden file → the arguments of `ceruleng check` (after `check --no-cache`) that print it."""

_HEADLINE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning)"
                       r"\[(?P<code>[a-z][a-z0-9-]*)\]: (?P<message>\S.*)$")


def check(*arguments: str, cwd: Path = GOLDEN, cache: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ceruleng", "check", *([] if cache else ["--no-cache"]), *arguments]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def headlines(text: str) -> list[tuple[str, int, int, str, str]]:
    """(path, line, column, severity, code) of every diagnostic headline in text output."""
    found = []
    for line in text.splitlines():
        match = _HEADLINE.match(line)
        if match:
            found.append((match["path"], int(match["line"]), int(match["column"]), match["severity"], match["code"]))
    return found


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr
    assert "internal error" not in done.stderr


# ---- golden outputs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_RUNS))
def test_output_matches_the_golden_file(name: str) -> None:
    done = check(*GOLDEN_RUNS[name])
    assert_no_traceback(done)
    assert done.returncode == 1
    assert done.stderr == ""
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(done.stdout, encoding="utf-8", newline="")
    assert done.stdout == golden.read_text(encoding="utf-8"), f"regenerate with CERULENG_UPDATE_GOLDEN=1 ({name})"


def test_the_golden_text_shows_the_mistakes_with_suggestions() -> None:
    """Guards against regenerating the goldens blindly: the mistakes in the golden specs must be in them."""
    text = (GOLDEN / "broken.txt").read_text(encoding="utf-8")
    assert "broken.yaml:21:13: error[expr-unknown-function]: unknown function 'flor' (did you mean 'floor'?)\n" \
           " 21 |     credit: flor(full_hours) / hours_per_unit\n" \
           "    |             ^\n" in text
    assert "error[expr-unknown-name]: unknown name 'full_hour' (did you mean 'full_hours'?)" in text
    assert "error[expr-type]: cannot compare text with number" in text
    assert "warning[activity-type-unused]" in text
    assert text.endswith("checked 1 spec: 6 errors, 1 warning\n")
    schema = (GOLDEN / "unknown-key.txt").read_text(encoding="utf-8")
    assert "unknown-key.yaml:12:5: error[schema-unknown-key]: unknown key 'titel' (did you mean 'title'?)" in schema


@pytest.mark.parametrize("stem", ["broken", "unknown-key", "folder"])
def test_json_and_text_report_the_same_diagnostics(stem: str) -> None:
    text = (GOLDEN / f"{stem}.txt").read_text(encoding="utf-8")
    document = json.loads((GOLDEN / f"{stem}.json").read_text(encoding="utf-8"))
    assert set(document) == {"files", "diagnostics", "summary"}
    items = document["diagnostics"]
    assert all(set(item) == {"path", "line", "column", "severity", "code", "message", "hint"} for item in items)
    assert [(d["path"], d["line"], d["column"], d["severity"], d["code"]) for d in items] == headlines(text)
    summary = document["summary"]
    assert summary["errors"] == sum(1 for d in items if d["severity"] == "error")
    assert summary["warnings"] == sum(1 for d in items if d["severity"] == "warning")
    assert summary["files"] == len(document["files"])
    noun = "spec" if summary["files"] == 1 else "specs"
    assert text.splitlines()[-1].startswith(f"checked {summary['files']} {noun}: {summary['errors']} error")
    for item in items:  # text output joins a "did you mean" hint to the headline; other hints get their own line
        hint = item["hint"]
        headline = f"{item['path']}:{item['line']}:{item['column']}: {item['severity']}[{item['code']}]: " \
                   f"{item['message']}"
        if hint and hint.startswith("did you mean"):
            assert f"{headline} ({hint})\n" in text
        else:
            assert f"{headline}\n" in text
            if hint:
                assert f"= hint: {hint}\n" in text


def test_a_second_run_from_the_cache_prints_the_same(tmp_path: Path) -> None:
    environment = {**os.environ, "CERULENG_CACHE_DIR": str(tmp_path / "cache")}
    outputs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "ceruleng", "check", "broken.yaml"], cwd=GOLDEN, env=environment,
                              capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 1
        outputs.append(done.stdout)
    assert any((tmp_path / "cache").rglob("*.json")), "the first run should have filled the cache"
    assert outputs[0] == outputs[1] == (GOLDEN / "broken.txt").read_text(encoding="utf-8")


# ---- --max-errors ------------------------------------------------------------------------------------------------


def test_max_errors_shows_the_first_errors_and_counts_the_rest() -> None:
    everything = headlines((GOLDEN / "broken.txt").read_text(encoding="utf-8"))
    done = check("--max-errors", "2", "broken.yaml")
    assert done.returncode == 1
    shown = headlines(done.stdout)
    errors = [h for h in everything if h[3] == "error"]
    warnings = [h for h in everything if h[3] == "warning"]
    assert [h for h in shown if h[3] == "error"] == errors[:2]
    assert [h for h in shown if h[3] == "warning"] == warnings, "warnings are not limited by --max-errors"
    lines = done.stdout.splitlines()
    assert lines[-2] == f"... {len(errors) - 2} more errors not shown (--max-errors 2)"
    assert lines[-1] == f"checked 1 spec: {len(errors)} errors, {len(warnings)} warning"


def test_max_errors_in_json_keeps_the_full_summary() -> None:
    document = json.loads(check("--max-errors", "1", "--format", "json", "broken.yaml").stdout)
    assert sum(1 for d in document["diagnostics"] if d["severity"] == "error") == 1
    assert document["summary"] == {"files": 1, "errors": 6, "warnings": 1}


def test_max_errors_above_the_count_shows_everything() -> None:
    done = check("--max-errors", "100", "broken.yaml")
    assert done.returncode == 1
    assert done.stdout == (GOLDEN / "broken.txt").read_text(encoding="utf-8")


def test_max_errors_must_be_positive() -> None:
    done = check("--max-errors", "0", "broken.yaml")
    assert_no_traceback(done)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--max-errors" in done.stderr


# ---- folders -----------------------------------------------------------------------------------------------------


def test_a_folder_with_a_good_and_a_bad_spec() -> None:
    done = check("folder")
    assert_no_traceback(done)
    assert done.returncode == 1
    found = headlines(done.stdout)
    assert {path for path, *_ in found} == {"folder/bad.yaml"}, "the good spec has nothing to report"
    assert found == sorted(found), "diagnostics are sorted by file, line and column"
    assert [code for *_, code in found] == ["expr-unknown-function", "unknown-source"]
    assert done.stdout.splitlines()[-1] == "checked 2 specs: 2 errors, 0 warnings"
    document = json.loads(check("--format", "json", "folder").stdout)
    assert document["files"] == ["folder/bad.yaml", "folder/good.yaml"]


def test_the_good_spec_alone_is_clean() -> None:
    done = check("folder/good.yaml")
    assert (done.returncode, done.stdout, done.stderr) == (0, "checked 1 spec: no problems\n", "")


def test_specs_are_reported_in_sorted_order_whatever_the_file_system_says(tmp_path: Path) -> None:
    for name in ("c.yaml", "a.yaml", "b.yml"):
        shutil.copy(GOLDEN / "folder" / "bad.yaml", tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a spec")
    document = json.loads(check("--format", "json", ".", cwd=tmp_path).stdout)
    assert document["files"] == ["a.yaml", "b.yml", "c.yaml"]
    paths = [d["path"] for d in document["diagnostics"]]
    assert paths == sorted(paths) and len(paths) == 6


# ---- paths that cannot be checked --------------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [("missing.yaml",), ("--format", "json", "missing.yaml"),
                                       ("broken.yaml", "missing.yaml")])
def test_a_missing_file_is_one_line_and_exit_code_2(arguments: tuple[str, ...]) -> None:
    done = check(*arguments)
    assert_no_traceback(done)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["ceruleng: missing.yaml: no such file or folder"]


def test_a_folder_without_specs_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = check(".", cwd=tmp_path)
    assert_no_traceback(done)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["ceruleng: no spec files (.yaml, .yml) found in ."]


def test_no_arguments_without_a_rules_folder_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = check(cwd=tmp_path)
    assert_no_traceback(done)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["ceruleng: rules: no such file or folder"]


@pytest.fixture
def unreadable_spec() -> Iterator[Path]:
    """A path that exists but cannot be read as a file, even by root: a Unix socket named like a spec."""
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("needs Unix sockets")
    folder = Path(tempfile.mkdtemp(prefix="cc"))  # short: socket paths are limited to about 100 characters
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(folder / "spec.yaml"))
        yield folder
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_file_that_cannot_be_read_is_an_io_error_and_exit_code_2(unreadable_spec: Path) -> None:
    done = check("spec.yaml", cwd=unreadable_spec)
    assert_no_traceback(done)
    assert done.returncode == 2
    assert headlines(done.stdout) == [("spec.yaml", 1, 1, "error", "io-error")]
    assert done.stdout.splitlines()[-1] == "checked 1 spec: 1 error, 0 warnings"
    document = json.loads(check("--format", "json", "spec.yaml", cwd=unreadable_spec).stdout)
    assert [d["code"] for d in document["diagnostics"]] == ["io-error"]


# ---- broken beyond the diagnostics -------------------------------------------------------------------------------


def test_a_schema_mistake_does_not_hide_the_other_mistakes(tmp_path: Path) -> None:
    text = (GOLDEN / "broken.yaml").read_text(encoding="utf-8")
    misspelt = text.replace("    title: Webinars\n", "    titel: Webinars\n    title: Webinars\n")
    (tmp_path / "both.yaml").write_text(misspelt)
    codes = {code for *_, code in headlines(check("both.yaml", cwd=tmp_path).stdout)}
    assert {"schema-unknown-key", "expr-unknown-function", "expr-unknown-name", "expr-type"} <= codes


_EXAMPLE = ("examples:\n  - name: a course\n    activity: {{type: course, date: 2024-01-10, topic: {topic}}}\n"
            "    expect: {{credits: 1}}\n")
_REQUIREMENT = ("cycle: {{length: {{years: 2}}, source: {{doc: policy, quote: Every two years.}}}}\n"
                "requirement:\n  credits: 2\n  source: {{doc: policy, quote: Members earn two CEUs.}}\n"
                "  minimums:\n    - {{id: courses, title: Courses, at_least: {at_least},\n"
                "       counts: [{{category: course}}], source: {{doc: policy, quote: At least this.}}}}\n")
_HUGE = "123456789012345678901234567890"
HOSTILE_SPECS = {
    "an example's text attribute written as 1e999": _EXAMPLE.format(topic="1e999"),
    "an example's text attribute written with 30 digits": _EXAMPLE.format(topic=_HUGE),
    "a minimum of 30 digits above the requirement": _REQUIREMENT.format(at_least=_HUGE),
}
"""Additions to tests/check_golden/folder/good.yaml that used to make `check` fail with an internal error."""


@pytest.mark.parametrize("addition", [
    pytest.param(text, id=name) for name, text in HOSTILE_SPECS.items()
])
def test_check_never_fails_with_an_internal_error(addition: str, tmp_path: Path) -> None:
    (tmp_path / "hostile.yaml").write_text((GOLDEN / "folder" / "good.yaml").read_text(encoding="utf-8") + addition)
    done = check("hostile.yaml", cwd=tmp_path)
    assert_no_traceback(done)
    assert done.returncode in (0, 1)
