"""Optional features need their extra, and say so in one line: a missing Jinja2, pyarrow or uvicorn is exit 2 with
the pip command, never a traceback. (The import is blocked in a real CLI process, as if the extra were absent.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCKED = "import sys; sys.modules[{module!r}] = None; from ceruleng.cli import main; main()"


@pytest.mark.parametrize(("module", "arguments", "extra"), [
    ("jinja2", ["eval", "--rules", "rules", "examples/pace-member.yaml", "--format", "html"], "html"),
    ("pyarrow", ["eval", "--rules", "rules", "examples/pace-member.yaml", "--format", "parquet", "-o", "out"],
     "parquet"),
    ("uvicorn", ["serve", "--rules", "rules", "--port", "1"], "server"),
])
def test_a_missing_extra_is_one_line_naming_it(module: str, arguments: list[str], extra: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKED.format(module=module), *arguments], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.strip() == (f"ceruleng: {'ceruleng serve' if extra == 'server' else '--format ' + extra} "
                                   f"needs the '{extra}' extra ({module} is not installed): "
                                   f"pip install 'ceruleng[{extra}]'")
    assert not (ROOT / "out").exists()
