"""`eval`'s compiled-spec cache: a cached spec scores exactly as a fresh one, and no entry it did not write itself,
for this spec, its files, this ceruleng and this Python, is ever believed.

Scoring is compared byte for byte through the real command line (a subprocess per run) over every example member and
the bundled rules, in every text format, with and without --explain. The hostile cases load specs through
`speccache.load_specs` and count compiles: a bad entry must cost a compile (a miss), never a wrong spec or a crash.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ceruleng import cachefolder, speccache
from ceruleng.engine import evaluate

ROOT = Path(__file__).parent.parent
MEMBERS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "examples").glob("*-member.yaml"))
FRONT_END = ("jsonschema", "lark", "ceruleng.compiler", "ceruleng.backend", "ceruleng.expr.", "ceruleng.schema")
"""What a warm `eval` must not import: the schema validator, the expression language (parser, types, built-ins),
the compiler and back end."""


def _eval(cache: Path, *arguments: str, script: str = "") -> subprocess.CompletedProcess[str]:
    """`ceruleng eval` in a fresh interpreter from the repository root; `script` runs first (in the same process),
    and after the run the front-end modules it imported are listed on the last line of stderr."""
    code = (f"import sys, atexit\n{script}\n"
            f"atexit.register(lambda: print('imported:', sorted(m for m in sys.modules if m.startswith({FRONT_END!r}))"
            f", file=sys.stderr))\n"
            "from ceruleng.cli import main\nmain(sys.argv[1:], prog_name='ceruleng')\n")
    environment = {**os.environ, "CERULENG_CACHE_DIR": str(cache)}
    environment.pop("CERULENG_NO_CACHE", None)
    return subprocess.run([sys.executable, "-c", code, "eval", *arguments], cwd=ROOT, env=environment,
                          capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)


def _imported(done: subprocess.CompletedProcess[str]) -> list[str]:
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("imported: ")
    listed: list[str] = eval(last.removeprefix("imported: "))  # our own repr of a list of names
    return listed


def _entries(cache: Path) -> dict[str, int]:
    """Entry file → inode: an entry rewritten (a miss that compiled again) gets a new inode."""
    return {path.name: path.stat().st_ino for path in cache.glob("*.spec")}


@pytest.mark.parametrize("explain", [False, True], ids=["plain", "explain"])
@pytest.mark.parametrize("output_format", ["json", "jsonl", "table", "csv"])
def test_a_cached_spec_scores_byte_for_byte_as_a_fresh_one(cache: Path, output_format: str, explain: bool) -> None:
    arguments = ["--rules", "rules", *MEMBERS, "--as-of", "2025-06-01", "--format", output_format,
                 *(["--explain"] if explain else [])]
    fresh = _eval(cache, *arguments, "--no-cache")
    assert not cache.exists() or not _entries(cache)  # --no-cache neither reads nor writes entries
    storing = _eval(cache, *arguments)
    stored = _entries(cache)
    assert len(stored) == len(list((ROOT / "rules").glob("*.yaml")))
    cached = _eval(cache, *arguments)
    assert _entries(cache) == stored  # every spec was a hit: no entry written again
    assert _imported(fresh) and _imported(cached) == []  # the warm run never loaded the front end
    for run in (storing, cached):
        assert run.returncode == fresh.returncode
        assert run.stdout == fresh.stdout
        assert run.stderr.splitlines()[:-1] == fresh.stderr.splitlines()[:-1]
    assert len(fresh.stdout) > 10_000


def test_a_warm_one_member_eval_does_not_import_the_front_end(cache: Path) -> None:
    arguments = ["--rules", "rules", "examples/pace-member.yaml", "--as-of", "2025-06-01", "-o", os.devnull]
    cold = _eval(cache, *arguments)
    warm = _eval(cache, *arguments)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert {"jsonschema", "lark", "ceruleng.compiler"} <= set(_imported(cold))
    assert _imported(warm) == []


POISON = """
from decimal import Decimal
from ceruleng import runtime
real = runtime.RUNTIME["_floor"]
def floor(value):
    result = real(value)
    if result == Decimal(7):
        raise TypeError("a bug ceruleng did not foresee")
    return result
runtime.RUNTIME["_floor"] = floor
"""
"""A runtime helper made to fail as a bug would, for one value (as in test_containment)."""


def test_an_internal_error_in_a_cached_spec_still_names_the_spec_line(cache: Path, tmp_path: Path) -> None:
    member = {"member": "M-2", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
              "activities": [{"id": "A1", "type": "training", "date": "2025-02-11", "minutes": 420,
                              "topic": "Management Skills"}]}
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps(member) + "\n", encoding="utf-8")
    arguments = ["--rules", "rules/asap-pace.yaml", str(batch), "--as-of", "2025-06-01", "--format", "jsonl"]
    fresh = _eval(cache, *arguments, script=POISON)
    cached = _eval(cache, *arguments, script=POISON)
    assert _imported(cached) == []
    assert fresh.returncode == cached.returncode == 3
    assert cached.stdout == fresh.stdout
    error = json.loads(cached.stdout)["results"][0]["error"]
    assert error.startswith("internal error in ceruleng: TypeError while applying let full_hours at "
                            "rules/asap-pace.yaml:"), error


def test_a_cached_spec_keeps_its_generated_python_and_line_map(cache: Path) -> None:
    fresh = speccache.load_specs(["rules/asap-pace.yaml"], use_cache=False)["asap-pace"]
    speccache.load_specs(["rules/asap-pace.yaml"])
    cached = speccache.load_specs(["rules/asap-pace.yaml"])["asap-pace"]
    assert cached.program is not None and fresh.program is not None
    assert cached.program.annotated() == fresh.program.annotated()  # what `check --show-python` prints
    assert cached.program.origins == fresh.program.origins
    assert cached.warnings == fresh.warnings


def test_a_cached_spec_keeps_its_warnings_and_sees_a_cited_text_appear(cache: Path, tmp_path: Path) -> None:
    """A cited source text that is missing is a warning of the compile, kept with the cached spec; once the text
    is there, the entry (which recorded it as missing) is a miss and the warning is gone."""
    spec = tmp_path / "asap-pace.yaml"
    spec.write_bytes((ROOT / "rules" / "asap-pace.yaml").read_bytes())
    fresh = speccache.load_specs([str(spec)], use_cache=False)["asap-pace"]
    assert [w.code for w in fresh.warnings] == ["source-file-missing"]
    speccache.load_specs([str(spec)])
    cached = speccache.load_specs([str(spec)])["asap-pace"]
    assert cached.warnings == fresh.warnings
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "asap-pace.txt").write_bytes((ROOT / "rules" / "sources" / "asap-pace.txt").read_bytes())
    assert speccache.load_specs([str(spec)])["asap-pace"].warnings == []


# ---- hostile entries ---------------------------------------------------------------------------------------------


COLUMNS = ROOT / "tests" / "versions"
MEMBER = {"member": "M-1", "credentials": [{"spec": "columns", "certified_on": "2023-01-01"}],
          "activities": [{"id": "A1", "type": "catalogue", "date": "2024-03-01", "course_code": "TAX-201"}]}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A spec that reads a CSV table, in a folder of its own."""
    folder = tmp_path / "spec"
    folder.mkdir()
    for name in ("columns.yaml", "course-hours.csv"):
        (folder / name).write_bytes((COLUMNS / name).read_bytes())
    return folder / "columns.yaml"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths compiled from scratch (every miss), in order."""
    seen: list[str] = []
    real = speccache.check_text

    def counting(text: str, path: str, generate: bool = True) -> Any:
        seen.append(path)
        return real(text, path, generate)

    monkeypatch.setattr(speccache, "check_text", counting)
    return seen


def _earned(spec: Path) -> str:
    result = evaluate(speccache.load_specs([str(spec)])["columns"], MEMBER).credentials[0]
    return str(result.earned)


def _entry(cache: Path) -> Path:
    (entry,) = cache.glob("*.spec")
    return entry


def test_a_valid_entry_is_used_and_scores_the_same(cache: Path, spec: Path, compiles: list[str]) -> None:
    assert _earned(spec) == "0.35"
    assert _earned(spec) == "0.35"
    assert compiles == [str(spec)]


@pytest.mark.parametrize("where", ["magic", "length", "mac", "header", "last byte"])
def test_a_flipped_byte_is_a_miss(cache: Path, spec: Path, compiles: list[str], where: str) -> None:
    _earned(spec)
    entry = _entry(cache)
    data = bytearray(entry.read_bytes())
    data[{"magic": 3, "length": len(speccache.MAGIC) + 3, "mac": len(speccache.MAGIC) + 9,
          "header": len(speccache.MAGIC) + 40, "last byte": len(data) - 1}[where]] ^= 0x01
    entry.write_bytes(bytes(data))
    assert _earned(spec) == "0.35"
    assert len(compiles) == 2
    assert _earned(spec) == "0.35" and len(compiles) == 2  # the miss wrote a good entry again


@pytest.mark.parametrize("size", [0, 10, 100, 1000, -1])
def test_a_truncated_entry_is_a_miss(cache: Path, spec: Path, compiles: list[str], size: int) -> None:
    _earned(spec)
    entry = _entry(cache)
    entry.write_bytes(entry.read_bytes()[:size])
    assert _earned(spec) == "0.35"
    assert len(compiles) == 2


def test_an_entry_swapped_with_another_specs_is_a_miss(cache: Path, spec: Path, compiles: list[str]) -> None:
    """Another spec's entry (validly signed) under this spec's name: the key inside is not this one's."""
    _earned(spec)
    mine = _entry(cache)
    speccache.load_specs(["rules/asap-pace.yaml"])
    (other,) = set(cache.glob("*.spec")) - {mine}
    mine.write_bytes(other.read_bytes())
    assert _earned(spec) == "0.35"
    assert compiles.count(str(spec)) == 2


def test_a_changed_csv_the_spec_reads_is_a_miss(cache: Path, spec: Path, compiles: list[str]) -> None:
    assert _earned(spec) == "0.35"
    table = spec.parent / "course-hours.csv"
    table.write_text(table.read_text(encoding="utf-8").replace("TAX-201,3.5", "TAX-201,4.5"), encoding="utf-8")
    assert _earned(spec) == "0.45"
    assert len(compiles) == 2
    table.unlink()  # a table gone: a miss, and the spec's own error (not a stale spec)
    with pytest.raises(Exception, match=r"course-hours\.csv"):
        _earned(spec)


def test_another_ceruleng_or_python_is_a_miss(cache: Path, spec: Path, compiles: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _earned(spec)
    monkeypatch.setattr(speccache, "checker_fingerprint", lambda: "0" * 64)
    _earned(spec)
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    _earned(spec)
    assert len(compiles) == 3
    assert len(list(cache.glob("*.spec"))) == 3  # one entry per ceruleng and Python


def test_a_spec_edited_many_times_keeps_a_few_entries_and_its_latest_is_a_hit(
        cache: Path, spec: Path, compiles: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = spec.read_text(encoding="utf-8")
    for edit in range(7):  # seven saves of the spec, each a new content (a comment at the end)
        spec.write_text(f"{text}\n# edit {edit}\n", encoding="utf-8")
        _earned(spec)
    monkeypatch.setattr(speccache, "checker_fingerprint", lambda: "1" * 64)  # then a ceruleng upgrade
    assert _earned(spec) == "0.35"
    assert len(compiles) == 8
    assert len(list(cache.glob("*.spec"))) == cachefolder.KEPT_PER_SPEC  # not one per save: the oldest went
    assert _earned(spec) == "0.35" and len(compiles) == 8  # the latest is still a hit
    elsewhere = spec.parent / "copy.yaml"  # another spec file keeps its own entries
    elsewhere.write_bytes(spec.read_bytes())
    speccache.load_specs([str(elsewhere)])
    assert len(list(cache.glob("*.spec"))) == cachefolder.KEPT_PER_SPEC + 1


def _forge(entry: Path, header_change: Any = None, body: bytes | None = None) -> None:
    """Re-sign an entry after `header_change` edits its header's fields, or with another `body` (whose hash the
    header then names): what only the user (holding the secret) could do."""
    data = entry.read_bytes()
    start = len(speccache.MAGIC) + 4 + 32
    length = int.from_bytes(data[len(speccache.MAGIC): len(speccache.MAGIC) + 4], "big")
    fields = list(marshal.loads(data[start: start + length]))
    body = data[start + length:] if body is None else body
    fields[5] = hashlib.sha256(body).digest()
    if header_change is not None:
        header_change(fields)
    secret = (entry.parent / cachefolder.SECRET).read_bytes()
    entry.write_bytes(speccache._entry_bytes(secret, entry.stem, marshal.dumps(tuple(fields)), body))


def test_a_signed_entry_of_another_format_is_a_miss(cache: Path, spec: Path, compiles: list[str]) -> None:
    _earned(spec)
    _forge(_entry(cache), lambda fields: fields.__setitem__(0, cachefolder.FORMAT + 1))
    assert _earned(spec) == "0.35"
    assert len(compiles) == 2


def test_a_signed_entry_that_would_run_code_is_not_unpickled(cache: Path, spec: Path, compiles: list[str],
                                                             tmp_path: Path) -> None:
    """Defence in depth: even an entry signed with the user's secret cannot name a callable outside a compiled
    spec's classes; loading it falls back to compiling."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return os.system, (f"touch {marker}",)

    _earned(spec)
    _forge(_entry(cache), body=marshal.dumps((([], {}), pickle.dumps(Payload()))))
    assert _earned(spec) == "0.35"
    assert not marker.exists()
    assert len(compiles) == 2


def test_a_folder_others_can_write_is_not_used(cache: Path, spec: Path, compiles: list[str]) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    _earned(spec)
    _earned(spec)
    assert len(compiles) == 2 and not list(cache.glob("*.spec"))


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file another user's needs root")
def test_an_entry_or_folder_of_another_user_is_not_used(cache: Path, spec: Path, compiles: list[str]) -> None:
    _earned(spec)
    entry = _entry(cache)
    os.chown(entry, 65534, 65534)
    _earned(spec)
    assert len(compiles) == 2  # a miss (and the entry, not this user's, is replaced)
    os.chown(cache, 65534, 65534)
    _earned(spec)
    _earned(spec)
    assert len(compiles) == 4


def test_a_symlinked_entry_is_not_followed(cache: Path, spec: Path, compiles: list[str], tmp_path: Path) -> None:
    _earned(spec)
    entry = _entry(cache)
    elsewhere = tmp_path / "elsewhere.spec"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert _earned(spec) == "0.35"
    assert len(compiles) == 2


def test_a_huge_or_odd_entry_is_never_read(cache: Path, spec: Path, compiles: list[str]) -> None:
    _earned(spec)
    entry = _entry(cache)
    with entry.open("r+b") as handle:  # sparse: over the limit without writing it
        handle.truncate(speccache.MAX_ENTRY_BYTES + 1)
    assert _earned(spec) == "0.35"
    entry.unlink()
    os.mkfifo(entry)  # a FIFO: not opened for a blocking read
    assert _earned(spec) == "0.35"
    entry.unlink()
    entry.mkdir()  # a folder where the entry should be: a miss, and nothing can be written there
    assert _earned(spec) == "0.35"
    assert len(compiles) == 4


def test_an_unusable_secret_turns_the_cache_off(cache: Path, spec: Path, compiles: list[str]) -> None:
    _earned(spec)
    (cache / cachefolder.SECRET).write_bytes(b"x" * 31)  # not 32 bytes
    _earned(spec)
    _earned(spec)
    assert len(compiles) == 3


def test_no_cache_environment_variable(cache: Path, spec: Path, compiles: list[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERULENG_NO_CACHE", "1")
    _earned(spec)
    _earned(spec)
    assert len(compiles) == 2 and not cache.exists()
