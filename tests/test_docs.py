"""The README and the language reference stay true: their code runs, and they cover every function and code."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from ceruleng.expr.builtins import FUNCTIONS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
LANGUAGE = (ROOT / "docs" / "language.md").read_text()


def test_readme_python_example_prints_what_it_says() -> None:
    code = re.search(r"```python\n(.*?)```", README, re.S)
    assert code is not None
    expected = [line.split("# ", 1)[1].strip() for line in code.group(1).splitlines()
                if line.startswith("# ") and not line.startswith("# raises")]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code.group(1), "README.md", "exec"), {})
    printed = [line.strip() for line in output.getvalue().splitlines()]
    assert printed[0] == expected[0]
    assert printed[1] == expected[1].split("#")[0].strip() if len(expected) > 1 else True


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert len(commands) >= 2
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_language_reference_documents_every_function() -> None:
    for builtin in FUNCTIONS.values():
        assert f"| `{builtin.signature}` | {builtin.summary} | `{builtin.example}` |" in LANGUAGE, builtin.name


def test_language_reference_lists_every_diagnostic_code() -> None:
    codes = set()
    for path in (ROOT / "ceruleng").rglob("*.py"):
        codes |= set(re.findall(r'"((?:yaml|schema|expr|unknown|version|cap|category|activity|let|source|table|'
                                r'parameter|name|attribute|date|regex|template|example|minimum|requirement|check|'
                                r'spec|io|scale|duplicate)-[a-z-]+)"', path.read_text()))
    missing = sorted(code for code in codes if f"`{code}`" not in LANGUAGE)
    assert not missing


def test_every_test_the_readme_names_exists() -> None:
    """The guarantees section cites tests by name; a renamed or deleted test must not leave a dangling claim."""
    cited = set(re.findall(r"`(?:tests/[\w/]+\.py::)?(test_\w+)", README))
    defined = {name for path in (ROOT / "tests").glob("test_*.py")
               for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)}
    assert len(cited) >= 10
    assert cited <= defined, sorted(cited - defined)
