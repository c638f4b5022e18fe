"""`ceruleng init BODY-ID` and `ceruleng schema spec -o PATH`, as a policy writer starting a rules repository
runs them: the scaffold checks, its example passes, it is already formatted, its `$schema` modeline points at the
published schema (by its stable URL, or by a path to a copy written with `schema -o`), and nothing is overwritten.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?P<reference>\S+)$", re.MULTILINE)


def ceruleng(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=300)


def test_the_scaffold_checks_tests_and_is_formatted(tmp_path: Path) -> None:
    done = ceruleng("init", "acme-board", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "wrote rules/acme-board.yaml",
        "wrote rules/sources/acme-board.txt",
        "next: ceruleng check rules/acme-board.yaml && ceruleng test rules/acme-board.yaml",
    ]
    spec = (tmp_path / "rules" / "acme-board.yaml").read_text(encoding="utf-8")
    assert "\nid: acme-board\n" in spec and "\ntitle: Acme Board continuing education\n" in spec
    check = ceruleng("check", "--no-cache", "--fail-on", "warning", "rules", cwd=tmp_path)
    assert (check.returncode, check.stdout) == (0, "checked 1 spec: no problems\n"), check.stdout
    test = ceruleng("test", "rules", cwd=tmp_path)
    assert (test.returncode, test.stdout) == (0, "1 passed, 0 failed\n")
    assert ceruleng("fmt", "--check", "rules", cwd=tmp_path).returncode == 0


def test_the_modeline_points_at_the_published_schema(tmp_path: Path) -> None:
    ceruleng("init", "acme", cwd=tmp_path)
    reference = MODELINE.search((tmp_path / "rules" / "acme.yaml").read_text(encoding="utf-8"))
    assert reference is not None
    published = json.loads(ceruleng("schema", "spec", cwd=tmp_path).stdout)
    assert reference["reference"] == published["$id"] == "https://ceruleng.dev/schemas/spec.schema.json"


def test_a_repository_can_keep_its_own_copy_of_the_schema(tmp_path: Path) -> None:
    written = ceruleng("schema", "spec", "-o", "schemas/spec.schema.json", cwd=tmp_path)
    assert written.returncode == 2, "the folder must exist: -o writes a file, it does not make folders"
    (tmp_path / "schemas").mkdir()
    assert ceruleng("schema", "spec", "-o", "schemas/spec.schema.json", cwd=tmp_path).returncode == 0
    done = ceruleng("init", "acme", "--dir", "specs", "--schema", "../schemas/spec.schema.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    spec_path = tmp_path / "specs" / "acme.yaml"
    reference = MODELINE.search(spec_path.read_text(encoding="utf-8"))
    assert reference is not None and reference["reference"] == "../schemas/spec.schema.json"
    schema_file = (spec_path.parent / reference["reference"]).resolve()
    assert schema_file.read_text(encoding="utf-8") == ceruleng("schema", "spec", cwd=tmp_path).stdout
    assert ceruleng("check", "--no-cache", "specs", cwd=tmp_path).returncode == 0


def test_the_bundled_specs_modelines_point_at_the_schema_in_the_repository() -> None:
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        reference = MODELINE.search(path.read_text(encoding="utf-8"))
        assert reference is not None, path.name
        assert (path.parent / reference["reference"]).resolve() == (ROOT / "schemas" / "spec.schema.json").resolve()


def test_init_never_overwrites(tmp_path: Path) -> None:
    assert ceruleng("init", "acme", cwd=tmp_path).returncode == 0
    spec = tmp_path / "rules" / "acme.yaml"
    spec.write_text("my own work\n", encoding="utf-8")
    done = ceruleng("init", "acme", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "ceruleng: rules/acme.yaml: already exists; ceruleng init never overwrites a file\n"
    assert spec.read_text(encoding="utf-8") == "my own work\n"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "sources").mkdir()
    (tmp_path / "other" / "sources" / "acme.txt").write_text("kept\n", encoding="utf-8")
    blocked = ceruleng("init", "acme", "--dir", "other", cwd=tmp_path)
    assert blocked.returncode == 2 and not (tmp_path / "other" / "acme.yaml").exists()


@pytest.mark.parametrize(("arguments", "says"), [
    (("init", "Acme Board"), "Invalid value for BODY-ID: 'Acme Board' is not a spec id"),
    (("init", "-acme"), "No such option"),
    (("init", "x" * 65), "is not a spec id"),
    (("init", "acme", "--schema", "my schema.json"), "Invalid value for --schema"),
    (("init", "acme", "--schema", "a.json#x"), "Invalid value for --schema"),
])  # fmt: skip
def test_bad_names_are_usage_errors(tmp_path: Path, arguments: tuple[str, ...], says: str) -> None:
    done = ceruleng(*arguments, cwd=tmp_path)
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "rules").exists()
