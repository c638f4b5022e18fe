"""`ceruleng check` on one broken spec per diagnostic code, from tests/check_cases (see its README.md).

Each case's header lists the diagnostics `check` must report — code, severity, line and column, no more, no less.
Every case is checked through the Python API and through the command line (exit code, the documented line format,
never a traceback), and every code in the Diagnostics table of docs/language.md must have a case.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import check_file
from ceruleng.errors import sorted_diagnostics

ROOT = Path(__file__).parent.parent
CASES = Path(__file__).parent / "check_cases"
LANGUAGE = ROOT / "docs" / "language.md"

Expected = tuple[str, str, int, int]
"""(severity, code, line, column)."""

_EXPECT = re.compile(r"# expect: (?:(?P<severity>error|warning) )?(?P<code>[a-z][a-z0-9-]*) "
                     r"(?P<line>\d+):(?P<column>\d+)")
_CHECK = re.compile(r"# check: (?P<path>\S+)")
_HINT = re.compile(r"# hint: (?P<hint>\S.*)")
_XFAIL = re.compile(r"# xfail (?P<where>api|cli): (?P<reason>.+)")
_HEADLINE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning)"
                       r"\[(?P<code>[a-z][a-z0-9-]*)\]: (?P<message>\S.*)$")
_SUMMARY = re.compile(r"^checked \d+ specs?: (no problems|\d+ errors?, \d+ warnings?)$")

CODES_WITHOUT_A_CASE: dict[str, str] = {}
"""Codes in docs/language.md that need no case here, each with the reason. Empty: every code has a case."""


@dataclass
class Case:
    name: str
    path: Path
    target: str
    """The path checked, relative to tests/check_cases."""
    expected: list[Expected]
    xfail: dict[str, str] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)
    """Hints `check` must give, each exactly (the hint of one of the expected diagnostics)."""

    @property
    def exit_code(self) -> int:
        if any(code == "io-error" for _, code, _, _ in self.expected):
            return 2
        return 1 if any(severity == "error" for severity, _, _, _ in self.expected) else 0


def read_case(path: Path) -> Case:
    """A case's header: the comment lines before the first line that is not one (the file may not be UTF-8)."""
    header: list[str] = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        header.append(line.rstrip())
    expected: list[Expected] = []
    target = path.name
    xfail: dict[str, str] = {}
    hints: list[str] = []
    last_xfail: str | None = None
    for line in header:
        if (match := _EXPECT.fullmatch(line)) is not None:
            expected.append((match["severity"] or "error", match["code"], int(match["line"]), int(match["column"])))
        elif (match := _CHECK.fullmatch(line)) is not None:
            target = match["path"]
        elif (match := _HINT.fullmatch(line)) is not None:
            hints.append(match["hint"])
        elif (match := _XFAIL.fullmatch(line)) is not None:
            last_xfail = match["where"]
            xfail[last_xfail] = match["reason"]
            continue
        elif line.startswith("#   ") and last_xfail is not None:  # a reason continued on the next lines
            xfail[last_xfail] += " " + line[1:].strip()
            continue
        elif line.startswith(("# expect", "# check", "# xfail", "# hint")):
            raise ValueError(f"{path.name}: malformed header line {line!r}")
        last_xfail = None
    if not expected:
        raise ValueError(f"{path.name}: no '# expect:' line")
    return Case(path.stem, path, target, sorted(expected), xfail, hints)


ALL_CASES = [read_case(path) for path in sorted(CASES.glob("*.yaml"))]


def _params(where: str) -> list[Any]:
    params = []
    for case in ALL_CASES:
        marks = [pytest.mark.xfail(reason=case.xfail[where], strict=True)] if where in case.xfail else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def documented_codes() -> set[str]:
    """Every code in the Diagnostics table of docs/language.md (the backticked words of its second column)."""
    section = LANGUAGE.read_text(encoding="utf-8").split("## Diagnostics", 1)[1]
    codes: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and not set(cells[2].strip()) <= {"-"}:
            codes.update(re.findall(r"`([a-z][a-z0-9-]*)`", cells[2]))
    return codes


# ---- the Python API ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("api"))
def test_the_api_reports_exactly_the_expected_diagnostics(case: Case) -> None:
    checked = check_file(str(CASES / case.target), generate=False)
    diagnostics = sorted_diagnostics(checked.diagnostics)  # exact repeats count once, as check prints them
    got = sorted((d.severity.value, d.code, d.span.line, d.span.column) for d in diagnostics)
    assert got == case.expected
    assert all(d.message and "Traceback" not in d.message for d in checked.diagnostics)
    assert all(d.span.path == str(CASES / case.target) for d in checked.diagnostics)
    for hint in case.hints:
        assert hint in [d.hint for d in diagnostics], f"hint not given: {hint!r}"
    if any(severity == "error" for severity, *_ in case.expected):
        assert checked.spec is None


# ---- the command line --------------------------------------------------------------------------------------------


def _run_cli(case: Case) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "check", "--no-cache", case.target], cwd=CASES,
                          capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def cli_runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """`ceruleng check` on every case, run a few at a time (each is a fresh Python process)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((c.name for c in ALL_CASES), pool.map(_run_cli, ALL_CASES), strict=True))


@pytest.mark.parametrize("case", _params("cli"))
def test_the_command_line_reports_them_in_the_documented_form(
        case: Case, cli_runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    done = cli_runs[case.name]
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == case.exit_code, done.stdout + done.stderr
    if not (CASES / case.target).exists():  # the path is refused before checking: one line, exit 2
        assert done.stdout == ""
        assert done.stderr.splitlines() == [f"ceruleng: {case.target}: no such file or folder"]
        return
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert _SUMMARY.match(lines[-1]), lines[-1]
    headlines = []
    for line in lines[:-1]:
        match = _HEADLINE.match(line)
        if match is None:  # the quoted source line, the caret and the hint are indented under their headline
            assert line.startswith(" ") and headlines, f"not a diagnostic line: {line!r}"
            continue
        assert match["path"] == case.target
        headlines.append((match["severity"], match["code"], int(match["line"]), int(match["column"])))
    assert sorted(headlines) == case.expected
    for hint in case.hints:  # a "did you mean" joins the headline; any other hint has its own line
        assert f"= hint: {hint}\n" in done.stdout or f"({hint})\n" in done.stdout
    assert headlines == sorted(headlines, key=lambda h: (h[2], h[3], h[1])), "diagnostics are sorted by position"


# ---- coverage of the documented codes ----------------------------------------------------------------------------


def test_every_documented_code_has_a_case() -> None:
    documented = documented_codes()
    assert len(documented) >= 30, "the Diagnostics table of docs/language.md was not found or changed shape"
    covered = {code for case in ALL_CASES for _, code, _, _ in case.expected}
    missing = documented - covered - set(CODES_WITHOUT_A_CASE)
    assert not missing, f"codes in docs/language.md without a case in tests/check_cases: {sorted(missing)}"
    assert set(CODES_WITHOUT_A_CASE) <= documented, "an exemption names a code the docs no longer list"


def test_every_case_reports_a_documented_code_and_is_named_after_it() -> None:
    documented = documented_codes()
    for case in ALL_CASES:
        codes = {code for _, code, _, _ in case.expected}
        assert codes <= documented, f"{case.name}: undocumented codes {sorted(codes - documented)}"
        assert case.name.split("--")[0] in codes, f"{case.name}.yaml does not expect the code it is named after"


def test_each_case_is_small() -> None:
    """One mistake on the smallest valid spec: a case that grows probably tests more than its code."""
    for case in ALL_CASES:
        assert len(case.path.read_bytes().splitlines()) <= 40, case.name
