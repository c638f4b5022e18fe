"""JSON in and out at C speed changes no byte: the fast path against the plain one, and `eval --reasons`.

`eval` reads JSON with msgspec (`inputs.fast_decode`, handing anything it cannot vouch for to the standard
library's decoder) and writes results with msgspec (`scoring.encode`). The plain path is the standard library
alone: the fast decoder turned off, and every result written by `json.dumps` of the same values. Every bundled
example and every file of the hostile corpus is scored through both, in real interpreters, and must give the same
bytes, errors and exit code. `--reasons none` runs through a real `ceruleng eval` subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ceruleng.engine import Evaluator, load_specs

ROOT = Path(__file__).parent.parent
AS_OF = "2025-06-01"
INPUTS = sorted([*(ROOT / "examples").glob("*.yaml"), *(ROOT / "tests" / "hostile" / "activities").iterdir()])
"""Every bundled example and every activity file of the hostile corpus (YAML, JSON, JSON Lines, CSV)."""

DRIVER = r"""
import json, sys
from click.testing import CliRunner
if sys.argv[1] == "plain":
    import msgspec
    import ceruleng.inputs as inputs
    import ceruleng.scoring.encode as encode
    inputs.fast_decode = lambda text: inputs.NOT_FAST
    encode._text = lambda value: json.dumps(msgspec.to_builtins(value), ensure_ascii=False)
import functools
import ceruleng.cli as cli
cli._specs_or_exit = functools.cache(cli._specs_or_exit)  # compiled once for every input, on either path
main = cli.main
options, paths = json.loads(sys.argv[2]), json.loads(sys.argv[3])
runs = {}
for path in paths:
    done = CliRunner().invoke(main, ["eval", "--rules", "rules", path, "--as-of", "2025-06-01", *options])
    runs[path] = [done.exit_code, done.stdout_bytes.decode("utf-8", "backslashreplace"),
                  done.stderr_bytes.decode("utf-8", "backslashreplace"), repr(done.exception)]
print(json.dumps(runs))
"""
"""Scores each input through the CLI in one interpreter, on the fast path or the plain one; prints every run."""


def _runs(path_kind: str, options: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", DRIVER, path_kind, json.dumps(options),
                           json.dumps([str(path.relative_to(ROOT)) for path in INPUTS])],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    runs: dict[str, Any] = json.loads(done.stdout)
    return runs


@pytest.mark.parametrize("options", [["--format", "jsonl", "--explain"], ["--format", "json"]],
                         ids=["jsonl-explain", "json"])
def test_the_fast_and_the_plain_path_write_the_same_bytes(options: list[str]) -> None:
    fast, plain = _runs("fast", options), _runs("plain", options)
    assert list(fast) == list(plain)
    differing = [path for path in fast if fast[path] != plain[path]]
    assert not differing, differing
    exits = [run[0] for run in fast.values()]
    assert exits.count(0) and exits.count(1) and exits.count(2)  # the corpus reaches scored, rejected and refused
    assert all(run[0] in (0, 1, 2) for run in fast.values()), {p: r for p, r in fast.items() if r[0] not in (0, 1, 2)}


def _eval(*arguments: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--as-of", AS_OF,
                           *arguments], cwd=ROOT, capture_output=True, check=False)


def _without_reasons(member: dict[str, Any]) -> dict[str, Any]:
    for credential in member["results"]:
        for activity in credential["activities"]:
            activity["reasons"] = []
    return member


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled examples and the hostile corpus's JSON Lines batch, as one batch of many members."""
    from ceruleng.inputs import read_members

    path = tmp_path_factory.mktemp("reasons") / "batch.jsonl"
    documents = [item.document for example in sorted((ROOT / "examples").glob("*.yaml"))
                 for item in read_members(str(example))]
    lines = [json.dumps(document, default=str) for document in documents]
    hostile = (ROOT / "tests" / "hostile" / "activities" / "batch-hostile.jsonl").read_bytes()
    path.write_bytes(("\n".join(lines * 5) + "\n").encode() + hostile)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_reasons_none_writes_empty_reasons_and_nothing_else_changes(batch: Path, fmt: str) -> None:
    text = _eval(str(batch), "--format", fmt)
    none = _eval(str(batch), "--format", fmt, "--reasons", "none")
    assert none.returncode == text.returncode == 1, none.stderr  # the hostile lines are rejected, the rest scored
    assert none.stderr == text.stderr
    if fmt == "jsonl":
        with_text = [json.loads(line) for line in text.stdout.splitlines()]
        without = [json.loads(line) for line in none.stdout.splitlines()]
    else:
        with_text, without = json.loads(text.stdout)["members"], json.loads(none.stdout)["members"]
    assert any(a["reasons"] for m in with_text for c in m["results"] for a in c["activities"])
    assert not any(a["reasons"] for m in without for c in m["results"] for a in c["activities"])
    assert without == [_without_reasons(member) for member in with_text]
    assert len(none.stdout) < 0.8 * len(text.stdout)


def test_reasons_none_on_two_processes_is_the_same_output(batch: Path) -> None:
    one = _eval(str(batch), "--format", "jsonl", "--reasons", "none")
    two = _eval(str(batch), "--format", "jsonl", "--reasons", "none", "--jobs", "2")
    assert two.returncode == one.returncode == 1
    assert two.stdout == one.stdout


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_reasons_none_is_refused_for_formats_people_read(fmt: str) -> None:
    done = _eval("examples/pace-member.yaml", "--format", fmt, "--reasons", "none")
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"--reasons none applies to --format json and jsonl" in done.stderr
    assert b"Traceback" not in done.stderr


def test_an_unknown_reasons_choice_is_a_usage_error() -> None:
    done = _eval("examples/pace-member.yaml", "--format", "jsonl", "--reasons", "code")
    assert done.returncode == 2
    assert b"'code' is not one of 'text', 'codes', 'none'" in done.stderr


def test_text_a_python_caller_gave_with_a_lone_surrogate_is_written_as_json_dumps_writes_it() -> None:
    """msgspec cannot write a lone surrogate (not UTF-8); the result's JSON text still holds it, as it always has,
    and the caller decides how to encode it."""
    evaluator = Evaluator(load_specs([str(ROOT / "rules" / "asap-pace.yaml")]), date(2025, 6, 1), explain=True)
    result = evaluator.member({"member": "M\ud800", "credentials": [{"spec": "asap-pace",
                                                                       "certified_on": "2023-06-15"}],
                               "activities": [{"id": "A1", "type": "webinar", "date": "2025-02-11", "minutes": 90}]})
    text = result.json_text()
    assert text.startswith('{"member": "M\ud800", "input": {"file": null, "line": null}')
    assert text == json.dumps(json.loads(text), ensure_ascii=False)


def test_a_python_caller_asking_for_unknown_reasons_is_told_not_given_an_empty_list() -> None:
    evaluator = Evaluator(load_specs([str(ROOT / "rules" / "asap-pace.yaml")]), date(2025, 6, 1))
    result = evaluator.member({"member": "M-1", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
                               "activities": [{"id": "A1", "type": "webinar", "date": "2025-02-11", "minutes": 90}]})
    assert json.loads(result.json_text("none"))["results"][0]["activities"][0]["reasons"] == []
    assert json.loads(result.json_text())["results"][0]["activities"][0]["reasons"]
    with pytest.raises(ValueError, match="reasons is one of text, codes, none, not 'code'"):
        result.json_text("code")
    with pytest.raises(ValueError, match="categories is one of used, all, not 'every'"):
        result.json_text("text", "every")
