"""`ceruleng test` as a user and a CI system run it: `-k PATTERN`, `--format json`, and JUnit XML that stays
well-formed whatever an example's name holds (control characters, `]]>`, quotes, markup, lone surrogates), read
back with an XML parser.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from msgspec.structs import replace

from ceruleng.engine import load_specs
from ceruleng.testing import Failure, junit_xml, run_examples

ROOT = Path(__file__).parent.parent
BUNDLED = sum(len(spec.model.examples) for spec in load_specs([str(ROOT / "rules")]).values())
"""How many examples the bundled specs hold (the counts the command prints are checked against it)."""
BASE = (ROOT / "tests" / "hostile" / "spec" / "base.yaml").read_text(encoding="utf-8")


def ceruleng_test(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "test", *arguments], cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=300, encoding="utf-8")


def spec_with_examples(tmp_path: Path, *examples: tuple[str, str]) -> Path:
    """base.yaml with examples (YAML name text, expected credits for a 90-minute course)."""
    lines = [BASE, "examples:"]
    for name, credits in examples:
        lines.append(f"  - name: {name}\n    activity: {{type: course, date: 2025-01-10, minutes: 90}}\n"
                     f"    expect: {{credits: {credits}}}")
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---- -k ------------------------------------------------------------------------------------------------------------


def test_k_runs_only_the_examples_it_names() -> None:
    selection = ("-k", "ASAP-PACE::a 90-minute", "-k", "asap-pace::cap earns")
    done = ceruleng_test("rules", *selection)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-2:] == [f"selected 2 of {BUNDLED} examples with -k", "2 passed, 0 failed"]
    document = json.loads(ceruleng_test("rules", *selection, "--format", "json").stdout)
    assert [example["name"] for example in document["examples"]] == ["a 90-minute webinar earns 0.1", "CAP earns 1.6"]
    assert document["summary"] == {"passed": 2, "failed": 0, "deselected": BUNDLED - 2}


def test_k_that_matches_nothing_is_a_usage_error() -> None:
    done = ceruleng_test("rules", "-k", "no such example")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"ceruleng: no example matches -k 'no such example' ({BUNDLED} examples in the specs)\n"


def test_k_selects_failing_examples_too(tmp_path: Path) -> None:
    spec_with_examples(tmp_path, ("right", "1.5"), ("wrong", "2"))
    assert ceruleng_test("spec.yaml", "-k", "right", cwd=tmp_path).returncode == 0
    failing = ceruleng_test("spec.yaml", "-k", "WRONG", cwd=tmp_path)
    assert failing.returncode == 1
    assert failing.stdout.splitlines() == [
        "spec.yaml:27:23: FAIL 'wrong': credits: expected 2, got 1.5 (status awarded, 1.5; reasons: Courses: 1.5 "
        "CEU.)",
        "selected 1 of 2 examples with -k",
        "0 passed, 1 failed",
    ]


# ---- --format json -------------------------------------------------------------------------------------------------


def test_json_lists_every_example_with_its_failures(tmp_path: Path) -> None:
    spec_with_examples(tmp_path, ("right", "1.5"), ("wrong", "2"))
    done = ceruleng_test("spec.yaml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "1 passed, 1 failed\n"
    document = json.loads(done.stdout)
    assert document["summary"] == {"passed": 1, "failed": 1, "deselected": 0}
    right, wrong = document["examples"]
    assert (right["name"], right["passed"], right["failures"]) == ("right", True, [])
    assert (wrong["spec"], wrong["path"], wrong["line"], wrong["passed"]) == ("hostile", "spec.yaml", 25, False)
    assert wrong["failures"] == [{"path": "spec.yaml", "line": 27, "column": 23,
                                  "message": "credits: expected 2, got 1.5 (status awarded, 1.5; reasons: Courses: "
                                             "1.5 CEU.)"}]


# ---- JUnit ---------------------------------------------------------------------------------------------------------

AWKWARD_NAMES = [
    '"quotes" and \'apostrophes\'',
    "ends a CDATA section ]]> and opens <tags> & entities &amp;",
    "a bell \\a, a NUL \\0, an escape \\e and a form feed \\f",
    "U+FFFE \\uFFFE and U+FFFF \\uFFFF, not characters XML holds",
    "an emoji \\U0001F600 and a right-to-left mark \\u200F",
    "a line\\nbreak and a tab\\t",
]


def test_junit_is_well_formed_whatever_the_names_hold(tmp_path: Path) -> None:
    examples = [(json.dumps(name).replace("\\\\", "\\"), "1.5" if n % 2 else "9") for n, name in
                enumerate(AWKWARD_NAMES)]
    spec_with_examples(tmp_path, *examples)
    done = ceruleng_test("spec.yaml", "--format", "junit", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    root = ElementTree.fromstring(done.stdout.encode("utf-8"))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(AWKWARD_NAMES)
    names = [case.get("name") or "" for case in cases]
    assert names[0] == '"quotes" and \'apostrophes\''
    assert names[1] == "ends a CDATA section ]]> and opens <tags> & entities &amp;"
    assert names[2] == "a bell \\u0007, a NUL \\u0000, an escape \\u001b and a form feed \\u000c"
    assert names[3] == "U+FFFE \\ufffe and U+FFFF \\uffff, not characters XML holds"
    assert names[4] == "an emoji \U0001f600 and a right-to-left mark \u200f"
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == 3
    text = ceruleng_test("spec.yaml", cwd=tmp_path)
    assert text.returncode == 1 and "Traceback" not in text.stderr
    assert text.stdout.count(": FAIL ") == 3


def test_junit_holds_lone_surrogates_too() -> None:
    """No YAML file can spell a lone surrogate (the parser refuses the escape), but the Python API can be handed
    one; the report must still parse."""
    specs = load_specs([str(ROOT / "rules" / "asap-pace.yaml")])
    runs = run_examples(specs)[:3]
    runs[0].example = replace(runs[0].example, name="lone \udc41 surrogate \ud83d")
    runs[1].failures.append(Failure(runs[1].example.span, "expected 'x', got '\udc41]]>'"))
    report = junit_xml(runs)
    root = ElementTree.fromstring(report.encode("utf-8"))
    assert root.findall("./testsuite/testcase")[0].get("name") == "lone \\udc41 surrogate \\ud83d"
    failure = root.find("./testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == "expected 'x', got '\\udc41]]>'"


@pytest.mark.parametrize("output_format", ["text", "json", "junit"])
def test_every_format_reports_the_same_counts(output_format: str) -> None:
    done = ceruleng_test("rules", "--format", output_format)
    assert done.returncode == 0
    closing = (done.stdout if output_format == "text" else done.stderr).splitlines()[-1]
    assert closing == f"{BUNDLED} passed, 0 failed"


# ---- what an example can expect ------------------------------------------------------------------------------------


def test_wrong_limit_expectations_fail_with_what_was_found(tmp_path: Path) -> None:
    """A limit's counted, cut and entries are compared as reported; a limit not in force is named as such."""
    spec = (ROOT / "tests" / "ledger" / "precision.yaml").read_text(encoding="utf-8")
    right = "limits: {talks: {counted: 1, cut: 0.3, entries: [T1, T2]}}"
    assert right in spec
    wrong = spec.replace(right, "limits: {talks: {counted: 0.9, cut: 0.4, entries: [T2, T1]}, tours: {cut: 0}}")
    (tmp_path / "precision.yaml").write_text(wrong, encoding="utf-8")
    done = ceruleng_test("precision.yaml", "-k", "crosses the limit", cwd=tmp_path)
    assert done.returncode == 1
    messages = [line.split(": FAIL ", 1)[1] for line in done.stdout.splitlines() if ": FAIL " in line]
    prefix = "'a talk that crosses the limit is cut to what is left': "
    assert messages == [
        prefix + "limit talks: counted expected 0.9, got 1.0",
        prefix + "limit talks: cut expected 0.4, got 0.3",
        prefix + "limit talks: entries expected T2, T1, got T1, T2",
        prefix + "limit tours: not in force for the period (limits: talks)",
    ]


def test_an_example_whose_credential_cannot_be_scored_says_why(tmp_path: Path) -> None:
    """An expectation that fails because the credential was not scored at all (its period runs past the calendar)
    says so, not just "got 0.0"."""
    example = ("examples:\n  - name: certified at the end of the calendar\n    certified_on: 9999-06-01\n"
               "    as_of: 9999-12-31\n    activity: {type: course, date: 9999-12-01, minutes: 60}\n"
               "    expect: {earned: 1}\n")
    (tmp_path / "spec.yaml").write_text(BASE + example, encoding="utf-8")
    done = ceruleng_test("spec.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    failures = [line for line in done.stdout.splitlines() if ": FAIL " in line]
    assert len(failures) == 1 and failures[0].endswith(
        "'certified at the end of the calendar': earned: expected 1, got 0.0 (the credential was not scored: the "
        "cycle containing 9999-12-31 for a credential certified on 9999-06-01 ends after the last date the "
        "calendar holds)"), failures
