"""ceruleng.dask on a real cluster: a `distributed.LocalCluster` of two worker processes and small partitions, its
output compared byte for byte with `ceruleng eval --format jsonl` run in a subprocess, as a user runs it.

Also: a `SpecSet` pickles as its texts and files (the spec's folder may be gone when it is unpickled) and compiles
once per worker process, keyed by content; `write_jsonl` writes whole or not at all; the client refuses what it
cannot score before any task runs.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import dask.bag as db
import pytest
import yaml
from distributed import Client, LocalCluster

from ceruleng.dask import SpecSet, score_jsonl, write_jsonl
from ceruleng.errors import InputError, SpecError
from ceruleng.inputs import read_members
from ceruleng.lines import score_lines

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules"
HOSTILE = ROOT / "tests" / "hostile"
AS_OF = date(2025, 6, 1)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two worker processes of one thread each (the machine has two shared cores), shut down after the module."""
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR, death_timeout=120)
    client = Client(cluster, timeout=120)
    try:
        client.wait_for_workers(2, timeout=120)
        yield client
    finally:
        client.close(timeout=60)
        cluster.close(timeout=60)


def _cli(rules: Path, paths: list[Path], *extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", str(rules), *map(str, paths),
                           "--format", "jsonl", "--as-of", AS_OF.isoformat(), *extra],
                          capture_output=True, cwd=ROOT, timeout=600, check=False)


def _json(value: Any) -> str:
    """JSON text with decimals written as they are (no float on the way)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_json, value)) + "]"
    return json.dumps(value)


def _members() -> list[bytes]:
    """Every bundled example member, one JSON line each (every bundled spec is used)."""
    return [_json(item.document).encode() for path in sorted((ROOT / "examples").glob("*.yaml"))
            for item in read_members(str(path))]


def _hostile_batch(folder: Path) -> list[Path]:
    """Three files: every kind of line a batch can hold, an empty file, and members with CRLF endings."""
    members = _members()
    pace = b'{"spec": "asap-pace", "certified_on": "2023-06-15"}'
    activity = b'{"id": "A1", "type": "training", "date": "2025-02-11", "minutes": 90, "topic": "Management Skills"}'
    lines = [
        b"\xef\xbb\xbf" + members[0],  # a UTF-8 BOM on line 1
        b"",
        b"  \t ",
        members[1] + b"\r",  # a CRLF line end
        b'{"member": "M-bad-utf8", "credentials": [' + pace + b'], "activities": [{"id": "\xff\xfe"}]}',
        b'{"member": "M-bad-json", "activities": [',
        b'{"member": "M-dup", "member": "M-dup2", "credentials": [' + pace + b'], "activities": [' + activity + b"]}",
        b'{"member": "M-unknown", "credentials": [{"spec": "asap-pcae", "certified_on": "2023-06-15"}], '
        b'"activities": [' + activity + b"]}",
        b"[1, 2]",
        b'{"member": "M-nan", "credentials": [' + pace + b'], "activities": [{"id": "A1", "minutes": NaN}]}',
        b"\xef\xbb\xbf" + members[2],  # a BOM not on line 1 is not JSON
        *members[3:],
    ]
    first = folder / "first.jsonl"
    first.write_bytes(b"\n".join(lines) + b"\n")
    empty = folder / "empty.jsonl"
    empty.write_bytes(b"")
    second = folder / "second.jsonl"
    second.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(reversed(members)))  # BOM, CRLF, no newline at the end
    return [first, empty, second]


@pytest.mark.parametrize(("reasons", "categories"), [("codes", "used"), ("none", "all")])
def test_reasons_and_categories_are_evals_options(client: Client, tmp_path: Path, reasons: str,
                                                  categories: str) -> None:
    paths = _hostile_batch(tmp_path)
    expected = _cli(RULES, paths, "--reasons", reasons, "--categories", categories)
    bag = score_jsonl(paths, [RULES], AS_OF, blocksize=2000, reasons=reasons, categories=categories)
    assert "".join(line + "\n" for line in bag.compute()).encode() == expected.stdout
    assert expected.stdout != _cli(RULES, paths).stdout  # the options changed what is written


@pytest.mark.parametrize("options", [{"reasons": "code"}, {"categories": "some"}, {"reasons": "TEXT"}])
def test_an_unknown_reasons_or_categories_is_refused_before_any_work(tmp_path: Path,
                                                                     options: dict[str, str]) -> None:
    paths = _hostile_batch(tmp_path)
    with pytest.raises(ValueError, match=r"(reasons is one of text, codes, none|categories is one of used, all), not"):
        score_jsonl(paths, [RULES], AS_OF, **options)
    with pytest.raises(ValueError, match=r"(reasons|categories) is one of"):
        list(score_lines([(str(paths[0]), 1, b"{}")], SpecSet.load([str(RULES)]), AS_OF, **options))


@pytest.mark.parametrize("explain", [False, True])
def test_a_hostile_batch_scores_byte_for_byte_as_the_cli_does(client: Client, tmp_path: Path,
                                                              explain: bool) -> None:
    paths = _hostile_batch(tmp_path)
    expected = _cli(RULES, paths, *(["--explain"] if explain else []))
    assert expected.returncode == 1, expected.stderr  # malformed lines are reported, the rest scored
    bag = score_jsonl(paths, [RULES], AS_OF, explain, blocksize=300)
    assert bag.npartitions >= 10
    out = tmp_path / "out.jsonl"
    assert write_jsonl(bag, out) == len(expected.stdout.splitlines())
    assert out.read_bytes() == expected.stdout
    assert "".join(line + "\n" for line in bag.compute()).encode() == expected.stdout
    results = {(Path(r["input"]["file"]).name, r["input"]["line"]): r
               for r in map(json.loads, expected.stdout.splitlines())}
    assert results["first.jsonl", 5]["error"] == "line 5: not UTF-8 (byte 0xff)"
    assert results["first.jsonl", 6]["error"].startswith("line 6: not valid JSON")
    assert results["first.jsonl", 7]["error"] == "line 7: duplicate key 'member'"
    assert results["first.jsonl", 11]["error"].startswith("line 11: not valid JSON")
    assert "no spec 'asap-pcae' is loaded" in results["first.jsonl", 8]["results"][0]["error"]
    assert ("first.jsonl", 2) not in results and ("first.jsonl", 3) not in results  # blank lines give nothing
    assert results["first.jsonl", 1]["error"] is None and results["second.jsonl", 1]["error"] is None  # BOMs
    assert results["first.jsonl", 4]["error"] is None  # CRLF


def _hostile_batches() -> list[tuple[str, str]]:
    """Every JSON Lines case of the hostile corpus, with the spec it is scored against."""
    cases = yaml.safe_load((HOSTILE / "cases.yaml").read_text(encoding="utf-8"))["cases"]
    found = {(case["eval"], case.get("rules", "")) for case in cases if str(case.get("eval", "")).endswith(".jsonl")}
    return sorted(found)


@pytest.mark.parametrize(("batch", "rules"), _hostile_batches())
def test_the_hostile_corpus_scores_as_the_cli_does(client: Client, tmp_path: Path, batch: str, rules: str) -> None:
    spec = HOSTILE / rules if rules else RULES / "asap-pace.yaml"
    expected = _cli(spec, [HOSTILE / batch])
    assert expected.returncode in (0, 1), expected.stderr
    out = tmp_path / "out.jsonl"
    write_jsonl(score_jsonl(HOSTILE / batch, spec, AS_OF, blocksize=64), out)
    assert out.read_bytes() == expected.stdout


def test_a_bag_of_numbered_lines_as_bytes_or_text_scores_as_the_file_does(client: Client, tmp_path: Path) -> None:
    first = _hostile_batch(tmp_path)[0]
    expected = _cli(RULES, [first]).stdout
    raw = first.read_bytes().split(b"\n")[:-1]
    as_bytes = [(str(first), number, line + b"\n") for number, line in enumerate(raw, start=1)]
    as_text = [(str(first), number, line.decode("utf-8", "surrogateescape")) for number, line in enumerate(raw, 1)]
    specs = SpecSet.load([RULES])
    for lines in (as_bytes, as_text):
        bag = score_jsonl(db.from_sequence(lines, npartitions=4), specs, AS_OF)
        out = tmp_path / "out.jsonl"
        write_jsonl(bag, out)
        assert out.read_bytes() == expected


# ---- SpecSet -----------------------------------------------------------------------------------------------------

CARRIED = """\
ceruleng: 1
id: carried
title: A spec that reads a table and a source text from files
sources:
  doc: {title: Policy, file: texts/policy.txt}
unit: {name: CEU, places: 2, source: {doc: doc, quote: One course earns what the table says.}}
cycle: {length: {years: 2}, source: {doc: doc, quote: Every two years.}}
requirement: {credits: 2, source: {doc: doc, quote: Two CEUs.}}
attributes:
  code: {type: text, description: a course code}
activity_types:
  course: A course
tables:
  credits:
    description: CEUs per course code.
    file: data/../data/credits.csv
    source: {doc: doc, quote: One course earns what the table says.}
categories:
  - id: course
    title: Courses
    types: [course]
    credit: credits[code]
    source: {doc: doc, quote: One course earns what the table says.}
"""
CARRIED_MEMBER = ('{"member": "M-1", "credentials": [{"spec": "carried", "certified_on": "2024-01-10"}], "activities": '
                  '[{"id": "A1", "type": "course", "date": "2024-05-01", "code": "Basics"}, '
                  '{"id": "A2", "type": "course", "date": "2024-06-01", "code": "Advanced"}]}\n')


def _carried_spec(folder: Path, basics: str) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "texts").mkdir(exist_ok=True)
    (folder / "data" / "credits.csv").write_text(f"key,value\nBasics,{basics}\nAdvanced,0.75\n")
    (folder / "texts" / "policy.txt").write_text("One course earns what the table says. Every two years. Two CEUs.")
    spec = folder / "carried.yaml"
    spec.write_text(CARRIED)
    return spec


def _compiled_in(packed: bytes, spec_id: str) -> tuple[int, int, list[str]]:
    """On a worker: its process id, the identity of the compiled spec a freshly unpickled SpecSet gives, and the
    warnings its compile gave."""
    specs = pickle.loads(packed)
    spec = specs[spec_id]
    return os.getpid(), id(spec), [d.code for d in spec.warnings]


def test_a_spec_set_pickles_as_its_files_and_compiles_once_per_worker(client: Client, tmp_path: Path) -> None:
    spec = _carried_spec(tmp_path / "spec", "1.25")
    batch = tmp_path / "batch.jsonl"
    batch.write_text(CARRIED_MEMBER * 3)
    expected = _cli(spec, [batch], "--explain")
    assert expected.returncode == 0, expected.stderr
    packed = pickle.dumps(SpecSet.load([spec]))
    shutil.rmtree(tmp_path / "spec")  # neither the client nor a worker can read the spec's folder now

    out = tmp_path / "out.jsonl"
    write_jsonl(score_jsonl(batch, pickle.loads(packed), AS_OF, explain=True, blocksize=1), out)
    assert out.read_bytes() == expected.stdout
    first = json.loads(expected.stdout.splitlines()[0])["results"][0]["activities"]
    assert [a["credits"] for a in first] == ["1.25", "0.75"]
    assert first[0]["trace"][0]["at"].startswith(f"{spec}:")  # traces name the spec where it was loaded
    local = list(score_lines([(str(batch), 1, CARRIED_MEMBER)], pickle.loads(packed), AS_OF, explain=True))
    assert (local[0] + "\n").encode() == expected.stdout.splitlines(keepends=True)[0]

    seen: dict[int, set[int]] = {}
    for worker in client.scheduler_info()["workers"]:
        for _ in range(2):  # two tasks on each worker, each unpickling its own copy
            pid, identity, warnings = client.submit(_compiled_in, packed, "carried", workers=[worker],
                                                    pure=False).result(timeout=120)
            assert "source-file-missing" not in warnings  # the cited text travelled too
            seen.setdefault(pid, set()).add(identity)
    assert len(seen) == 2 and all(len(identities) == 1 for identities in seen.values())


def test_a_changed_table_is_a_new_spec_set_on_the_same_workers(client: Client, tmp_path: Path) -> None:
    """The per-process cache is keyed by content: a long-lived worker never scores with a stale table."""
    batch = tmp_path / "batch.jsonl"
    batch.write_text(CARRIED_MEMBER)
    credits = []
    for basics in ("1.25", "2.5"):
        spec = _carried_spec(tmp_path / "spec", basics)
        [line] = score_jsonl(batch, spec, AS_OF).compute()
        credits.append(json.loads(line)["results"][0]["activities"][0]["credits"])
    assert credits == ["1.25", "2.50"]


# ---- writing and refusing ------------------------------------------------------------------------------------------


def test_a_failed_task_leaves_the_output_as_it_was(client: Client, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("the previous run\n")
    lines: list[Any] = [("batch.jsonl", n, "{}") for n in range(1, 40)] + [("batch.jsonl", 40)]
    bag = score_jsonl(db.from_sequence(lines, npartitions=8), SpecSet.load([RULES / "asap-pace.yaml"]), AS_OF)
    with pytest.raises(TypeError, match=r"reads \(file, line number, line\) triples, not tuple"):
        write_jsonl(bag, out)
    assert out.read_text() == "the previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left behind


def test_an_empty_file_writes_an_empty_file(client: Client, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    out = tmp_path / "out.jsonl"
    assert write_jsonl(score_jsonl(empty, RULES / "asap-pace.yaml", AS_OF), out) == 0
    assert out.read_bytes() == b"" == _cli(RULES / "asap-pace.yaml", [empty]).stdout


def test_what_cannot_be_scored_is_refused_before_any_task_runs(tmp_path: Path) -> None:
    pace = RULES / "asap-pace.yaml"
    with pytest.raises(InputError, match="no such file"):
        score_jsonl(tmp_path / "missing.jsonl", pace)
    with pytest.raises(InputError, match="is a folder"):
        score_jsonl(tmp_path, pace)
    with pytest.raises(InputError, match="standard input"):
        score_jsonl("-", pace)
    broken = tmp_path / "broken.yaml"
    broken.write_text((HOSTILE / "spec" / "base.yaml").read_text().replace("credit: minutes / 60", "credit: minuts"))
    with pytest.raises(SpecError, match="expr-unknown-name"):
        score_jsonl(tmp_path / "missing.jsonl", broken)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="no spec files"):
        SpecSet.load([tmp_path / "nothing"])


def test_the_readme_example_prints_what_it_says(tmp_path: Path) -> None:
    """The README's Dask example, run as a user runs it: a script of its own, in a folder with the rules."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Scoring on a cluster"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("```\n\n")]
    (tmp_path / "example.py").write_text(code)
    shutil.copytree(RULES, tmp_path / "rules")
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    expected = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    assert done.stdout.splitlines() == expected == ["1000", "0.1"]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 1000
