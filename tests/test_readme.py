"""The README's Python examples run, in order, as a reader would paste them, and print what they say they print.

Every ```python block is executed in one namespace (a later example may use what an earlier one made), from the
repository root. A full-line comment right after a line that prints is the output that print must give. A block
written as a script of its own (`if __name__ == "__main__":`, as the Dask example must be, since worker processes
import it again) runs as its own program in the test of that feature (tests/test_dask.py), and the Spark and Ray
recipes run against stand-ins for those engines (tests/test_engine_recipes.py), not in this namespace.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ALL_BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
RUN_ELSEWHERE = ('if __name__ == "__main__":', "from pyspark", "import ray")
BLOCKS = [block for block in ALL_BLOCKS if not any(mark in block for mark in RUN_ELSEWHERE)]


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
    assert len(ALL_BLOCKS) - len(BLOCKS) == 3  # the Dask script, the Spark and Ray recipes run elsewhere
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
