"""The README's Python examples run, in order, as a reader would paste them, and print what they say they print.

Every ```python block is executed in one namespace (a later example may use what an earlier one made), from the
repository root. A full-line comment right after a line that prints is the output that print must give.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def _expected(block: str) -> list[str]:
    """The full-line comments that follow a print: what the block must print, in order."""
    expected, after_print = [], False
    for line in block.splitlines():
        if line.startswith("# ") and after_print:
            expected.append(line[2:].strip())
            continue
        after_print = "print(" in line
    return expected


def test_the_readme_has_the_api_and_batch_examples() -> None:
    assert len(BLOCKS) >= 3
    assert any("read_members(" in block and "Evaluator(" in block for block in BLOCKS)
    assert any("to_rows(" in block and "to_sql(" in block for block in BLOCKS)


def test_every_readme_python_example_prints_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(BLOCKS, start=1):
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        printed = [line.strip() for line in output.getvalue().splitlines()]
        expected = _expected(block)
        assert expected, f"block {number} says nothing it prints"
        position = 0
        for line in expected:  # each promised line appears, in order
            assert line in printed[position:], (number, line, printed)
            position = printed.index(line, position) + 1
    assert os.getcwd() == str(ROOT)
