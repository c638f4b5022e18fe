"""`ceruleng fmt` as a user runs it: the command on real copies of the bundled specs.

Formatting never changes meaning: every bundled spec, formatted, checks with the same diagnostic codes and its
examples give the same results; every comment is kept; formatting twice changes nothing; `--check` and `--diff`
write nothing; a file that cannot be formatted safely is refused (exit 2) and left byte for byte as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ceruleng.engine import check_file, load_specs
from ceruleng.fmt.formatter import format_text, is_expression_path
from ceruleng.model import ExprText
from ceruleng.testing import run_examples
from ceruleng.yamlsrc import comments

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules"
BUNDLED = sorted(path.name for path in RULES.glob("*.yaml"))


def fmt(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "fmt", *arguments], cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=300)


@pytest.fixture(scope="module")
def formatted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of rules/ (sources included) after `ceruleng fmt rules`."""
    root = tmp_path_factory.mktemp("fmt")
    shutil.copytree(RULES, root / "rules")
    done = fmt("rules", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return root / "rules"


def _codes(path: Path) -> Counter[tuple[str, str]]:
    return Counter((d.severity.value, d.code) for d in check_file(str(path), generate=False).diagnostics)


def _example_results(folder: Path) -> dict[tuple[str, str], Any]:
    """Every example's pass/fail and full result (without the trace, whose spec positions move)."""
    results = {}
    for run in run_examples(load_specs([str(folder)])):
        assert run.result is not None
        document = run.result.to_json()
        for credential in document["results"]:
            credential.pop("trace", None)
            for activity in credential["activities"]:
                activity.pop("trace", None)
        results[(run.spec.id, run.example.name)] = (run.passed, document)
    return results


@pytest.mark.parametrize("name", BUNDLED)
def test_a_formatted_spec_checks_the_same(formatted: Path, name: str) -> None:
    assert _codes(formatted / name) == _codes(RULES / name)


def test_formatted_specs_give_the_same_example_results(formatted: Path) -> None:
    before, after = _example_results(RULES), _example_results(formatted)
    assert before.keys() == after.keys()
    assert len(before) > 100
    for key, value in before.items():
        assert after[key] == value, key


@pytest.mark.parametrize("name", BUNDLED)
def test_every_comment_is_kept(formatted: Path, name: str) -> None:
    before = comments((RULES / name).read_text(encoding="utf-8"))
    after = comments((formatted / name).read_text(encoding="utf-8"))
    assert before and after is not None
    assert [text for _, text in after] == [text for _, text in before]


def test_formatting_twice_changes_nothing(formatted: Path) -> None:
    snapshot = {path.name: path.read_bytes() for path in formatted.glob("*.yaml")}
    check = fmt("--check", "rules", cwd=formatted.parent)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stderr.splitlines()[-1] == f"0 specs would be reformatted, {len(BUNDLED)} specs already formatted"
    again = fmt("rules", cwd=formatted.parent)
    assert again.returncode == 0
    assert again.stdout == ""
    assert {path.name: path.read_bytes() for path in formatted.glob("*.yaml")} == snapshot


def test_the_command_line_checks_and_tests_the_formatted_specs(formatted: Path) -> None:
    for command in ("check", "test"):
        done = subprocess.run([sys.executable, "-m", "ceruleng", command, *(["--no-cache"] * (command == "check")),
                               str(formatted)], capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr


def test_expressions_are_printed_canonically_and_long_ones_broken(formatted: Path) -> None:
    aca = (formatted / "aca.yaml").read_text(encoding="utf-8")
    assert "  learning_minutes: if has(segments) then sum(segments, minutes, kind not in not_learning) else " \
           "minutes\n" in aca, "quotes YAML does not need are dropped"
    nasba = (formatted / "nasba-cpe.yaml").read_text(encoding="utf-8")
    assert '    credit: |-\n      if measured_credits < 1\n      then round(measured_credits, self_study_minimum, ' \
           '"down")\n' in nasba
    assert all(len(line) <= 120 for line in nasba.splitlines() if line.lstrip().startswith(("then", "else")))


def test_flow_collections_too_wide_for_a_line_become_blocks(formatted: Path) -> None:
    ace = (formatted / "ace.yaml").read_text(encoding="utf-8")
    assert "    activity:\n      type: college-course\n      date: 2024-12-15\n" in ace
    assert "  length: {years: 2}\n" in ace, "a flow mapping that fits stays as it is"


# ---- --check, --diff, refusals -------------------------------------------------------------------------------------


def _spec(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


SMALL = """\
# A small spec.
ceruleng: 1
id: small
title: A small spec
sources:
  doc: {title: Policy}
unit: {name: CEU, places: 1, source: {doc: doc, quote: One hour is one CEU.}}
activity_types:
   course: A course     # three spaces: normalised to two
categories:
- id: course
  title: Courses
  types: [course]
  credit: "floor( minutes/60 )"   # whole hours
  source: {doc: doc, quote: A course earns one CEU an hour.}
"""


def test_check_and_diff_write_nothing_and_exit_1(tmp_path: Path) -> None:
    path = _spec(tmp_path, SMALL)
    check = fmt("--check", "spec.yaml", cwd=tmp_path)
    assert (check.returncode, check.stdout) == (1, "would reformat spec.yaml\n")
    diff = fmt("--diff", "spec.yaml", cwd=tmp_path)
    assert diff.returncode == 1
    assert '-  credit: "floor( minutes/60 )"   # whole hours\n' in diff.stdout
    assert "+    credit: floor(minutes / 60)   # whole hours\n" in diff.stdout
    assert "\n+  course: A course" in diff.stdout and "# three spaces: normalised to two\n" in diff.stdout
    assert path.read_text(encoding="utf-8") == SMALL


def test_fmt_rewrites_in_place_keeping_the_mode(tmp_path: Path) -> None:
    path = _spec(tmp_path, SMALL)
    path.chmod(0o640)
    done = fmt("spec.yaml", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "reformatted spec.yaml\n")
    assert path.stat().st_mode & 0o777 == 0o640
    assert "  - id: course\n    title: Courses\n" in path.read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_a_spec_keeps_its_line_endings(tmp_path: Path, ending: str) -> None:
    """A spec written with CR LF (Windows) or a CR alone (old Mac files), in a folder, is found as a spec and
    formatted exactly as with LF, every line keeping the file's ending (the YAML writer ended the lines it wrote
    with LF and the comments it kept with CR LF, and a CR-only spec in a folder was skipped as not a spec)."""
    lf = _spec(tmp_path, SMALL, "lf.yaml")
    other = tmp_path / "other.yaml"
    other.write_bytes(SMALL.replace("\n", ending).encode("utf-8"))
    done = fmt(".", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "reformatted lf.yaml\nreformatted other.yaml\n"), done
    expected = lf.read_text(encoding="utf-8")
    assert expected != SMALL  # something was reformatted
    assert other.read_bytes() == expected.replace("\n", ending).encode("utf-8")


def test_files_that_are_not_specs_are_skipped_and_named(tmp_path: Path) -> None:
    _spec(tmp_path, SMALL)
    member = _spec(tmp_path, "member: M-1\ncredentials:   [ ]\n", "member.yaml")
    done = fmt(".", cwd=tmp_path)
    assert done.returncode == 0
    assert "skipped member.yaml: not a spec: no 'ceruleng:' key at the top level" in done.stderr.replace("./", "")
    assert member.read_text(encoding="utf-8") == "member: M-1\ncredentials:   [ ]\n"
    named = fmt("member.yaml", cwd=tmp_path)
    assert named.returncode == 0 and "skipped member.yaml: not a spec" in named.stderr


@pytest.mark.parametrize(("body", "says"), [
    ("ceruleng: 1\nid: [unclosed\n", "spec.yaml:3:1: "),
    ("ceruleng: 1\nid: a\nid: b\n", "duplicate key 'id'"),
    ("ceruleng: 1\nvalues: [1,  # one\n  2]\n", "a comment would be lost or changed"),
    ("ceruleng: 1\nid: caf\xe9\n".encode("latin-1").decode("latin-1"), None),
])  # fmt: skip
def test_a_file_that_cannot_be_formatted_safely_is_refused_and_untouched(tmp_path: Path, body: str,
                                                                          says: str | None) -> None:
    path = tmp_path / "spec.yaml"
    raw = body.encode("latin-1") if says is None else body.encode("utf-8")
    path.write_bytes(raw)
    done = fmt("spec.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("ceruleng: cannot format spec.yaml: "))
    assert (says or "not UTF-8") in line
    assert path.read_bytes() == raw


def test_without_ruamel_fmt_says_what_to_install(tmp_path: Path) -> None:
    _spec(tmp_path, SMALL)
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "ruamel").mkdir()
    (blocker / "ruamel" / "__init__.py").write_text("raise ImportError('blocked for the test')\n")
    environment = {**os.environ, "PYTHONPATH": str(blocker)}
    done = subprocess.run([sys.executable, "-m", "ceruleng", "fmt", "spec.yaml"], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, check=False, timeout=120)
    assert (done.returncode, done.stderr) == (2, "ceruleng: fmt needs ruamel.yaml: pip install 'ceruleng[fmt]'\n")


# ---- the formatter knows where expressions are ---------------------------------------------------------------------


def test_every_expression_the_model_holds_is_at_a_known_path() -> None:
    """The formatter rewrites values at expression_paths() only; every ExprText the model reads from a bundled spec
    that is not a sentence template (reason, explain) must be at one of them, or fmt would silently skip it. A
    rounding mode is left as written too: mostly a word (`half-up`) that as an expression would be a subtraction."""
    templates = {"reason", "explain", "mode"}
    found: set[tuple[str | int, ...]] = set()
    for spec in load_specs([str(RULES)]).values():
        for expression in _expressions(spec.model):
            if expression.path[-1] not in templates:
                found.add(expression.path)
    assert found
    assert all(is_expression_path(path) for path in found), sorted(p for p in found if not is_expression_path(p))


def _expressions(value: Any) -> list[ExprText]:
    if isinstance(value, ExprText):
        return [value]
    if isinstance(value, tuple | list):
        return [found for item in value for found in _expressions(item)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _expressions(item)]
    if isinstance(value, msgspec.Struct):  # a model record
        return [found for name in value.__struct_fields__ for found in _expressions(getattr(value, name))]
    return []


def test_an_expression_with_a_comment_inside_is_left_as_written() -> None:
    text = SMALL.replace('"floor( minutes/60 )"', '"floor( minutes/60 )  # whole hours"')
    result = format_text(text, "spec.yaml")
    assert result.text is not None
    assert 'credit: "floor( minutes/60 )  # whole hours"' in result.text
