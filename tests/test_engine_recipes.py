"""The README's Spark and Ray recipes, run as written against small in-process stand-ins for those engines.

Neither engine is installed here (Spark needs a JVM), so each recipe runs with a stand-in module that keeps the
part of the engine's contract the recipe relies on — a broadcast or an object-store value is pickled and unpickled
(as it is on its way to an executor), each block is its own partition or task, partitions are saved as
`part-NNNNN` files in order, futures are read back in submission order. What this proves is the ceruleng side:
`line_ranges`, `read_block`, `score_lines` and `SpecSet` used exactly as the README says give `eval --format
jsonl`'s bytes, with hostile lines (bad UTF-8, a BOM, CRLF, blank lines, bad JSON, duplicate keys) spread over
several blocks. A recipe that stops matching the API fails here.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
AS_OF = date(2025, 6, 1)  # the recipes' scoring day


def _recipe(marker: str) -> str:
    """The ```python block that follows `marker` in the README."""
    after = README[README.index(marker):]
    found = re.search(r"```python\n(.*?)```", after, re.S)
    assert found is not None, marker
    return found.group(1)


def _batch(path: Path, members: int, hostile: bool) -> None:
    """A JSON Lines batch of PACE members (one block of 1 MiB holds them all unless the recipe cuts smaller)."""
    lines = []
    for number in range(members):
        lines.append(f'{{"member": "M-{number}", "credentials": [{{"spec": "asap-pace", "certified_on": '
                     f'"2023-06-15"}}], "activities": [{{"id": "A1", "type": "webinar", "provider": "Lorman", "date": '
                     f'"2025-02-11", "minutes": {60 + number}, "topic": "Computer and Internet Technology"}}]}}'
                     .encode())
    if hostile:
        lines[0] = b"\xef\xbb\xbf" + lines[0]  # a BOM on line 1
        lines[3] = lines[3] + b"\r"  # a CRLF ending
        lines.insert(5, b"")  # a blank line
        lines.insert(7, b'{"member": "bad \xff utf-8"}')
        lines.insert(9, b'{"member": "M-dup", "member": "M-dup2", "credentials": []}')
        lines.insert(11, b"{not json")
    path.write_bytes(b"\n".join(lines) + b"\n")


def _eval(paths: list[Path]) -> bytes:
    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", *map(str, paths), "--format",
                           "jsonl", "--as-of", AS_OF.isoformat()], capture_output=True, cwd=ROOT, timeout=600,
                          check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def _small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut the batch into many blocks (the recipes ask for 1 MiB ones, which would hold the whole test batch)."""
    import ceruleng.batch

    real = ceruleng.batch.line_ranges
    monkeypatch.setattr(ceruleng.batch, "line_ranges", lambda path, size: real(path, 300))


# ---- stand-ins -----------------------------------------------------------------------------------------------------


class _Broadcast:
    def __init__(self, value: Any) -> None:
        self.value = pickle.loads(pickle.dumps(value))  # what an executor gets


class _Rdd:
    def __init__(self, partitions: list[list[Any]]) -> None:
        self.partitions = partitions

    def mapPartitions(self, function: Callable[[Iterator[Any]], Iterable[str]]) -> _Rdd:  # Spark's name
        return _Rdd([list(function(iter(partition))) for partition in self.partitions])

    def saveAsTextFile(self, folder: str) -> None:  # Spark's name
        Path(folder).mkdir()
        for number, partition in enumerate(self.partitions):
            with open(Path(folder) / f"part-{number:05d}", "w", encoding="utf-8", errors="surrogateescape") as out:
                out.writelines(line + "\n" for line in partition)


class _SparkContext:
    def broadcast(self, value: Any) -> _Broadcast:
        return _Broadcast(value)

    def parallelize(self, data: list[Any], slices: int) -> _Rdd:
        size = -(-len(data) // slices)
        return _Rdd([data[i:i + size] for i in range(0, len(data), size)])


def _pyspark() -> dict[str, types.ModuleType]:
    session = types.SimpleNamespace(sparkContext=_SparkContext())
    sql = types.ModuleType("pyspark.sql")
    sql.SparkSession = types.SimpleNamespace(builder=types.SimpleNamespace(getOrCreate=lambda: session))  # type: ignore[attr-defined]
    package = types.ModuleType("pyspark")
    package.sql = sql  # type: ignore[attr-defined]
    return {"pyspark": package, "pyspark.sql": sql}


class _Ref:
    def __init__(self, value: Any) -> None:
        self.data = pickle.dumps(value)


def _ray() -> dict[str, types.ModuleType]:
    module = types.ModuleType("ray")

    def resolve(value: Any) -> Any:
        return pickle.loads(value.data) if isinstance(value, _Ref) else value

    def remote(function: Callable[..., Any]) -> Any:
        return types.SimpleNamespace(remote=lambda *args: _Ref(function(*map(resolve, args))))

    module.init = lambda: None  # type: ignore[attr-defined]
    module.put = _Ref  # type: ignore[attr-defined]
    module.remote = remote  # type: ignore[attr-defined]
    module.get = resolve  # type: ignore[attr-defined]
    return {"ray": module}


# ---- the recipes ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [False, True], ids=["clean", "hostile-lines"])
def test_the_spark_recipe_writes_evals_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              hostile: bool) -> None:
    first, second = tmp_path / "members-1.jsonl", tmp_path / "members-2.jsonl"
    _batch(first, 12, hostile)
    _batch(second, 7, False)
    code = _recipe("*Spark*").replace("/shared/members-1.jsonl", str(first)).replace(
        "/shared/members-2.jsonl", str(second)).replace("/shared/results", str(tmp_path / "results"))
    for name, module in _pyspark().items():
        monkeypatch.setitem(sys.modules, name, module)
    _small_blocks(monkeypatch)
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md Spark recipe", "exec"), {"__name__": "recipe"})
    parts = sorted((tmp_path / "results").iterdir())
    assert len(parts) > 2, "the batch should span several blocks"
    written = b"".join(part.read_bytes() for part in parts)
    assert written == _eval([first, second])


@pytest.mark.parametrize("hostile", [False, True], ids=["clean", "hostile-lines"])
def test_the_ray_recipe_writes_evals_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: bool) -> None:
    batch = tmp_path / "members.jsonl"
    _batch(batch, 15, hostile)
    code = _recipe("*Ray*").replace("/shared/members.jsonl", str(batch)).replace(
        '"results.jsonl"', repr(str(tmp_path / "results.jsonl")))
    for name, module in _ray().items():
        monkeypatch.setitem(sys.modules, name, module)
    _small_blocks(monkeypatch)
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md Ray recipe", "exec"), {"__name__": "recipe"})
    assert (tmp_path / "results.jsonl").read_bytes() == _eval([batch])
