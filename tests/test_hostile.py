"""Hostile and broken input: nothing crashes, nothing is lost, nothing escapes.

The corpus is tests/hostile/cases.yaml (its header documents the format): every case runs `ceruleng check` on a spec
or `ceruleng eval` on an activity file and must give the documented exit code, no traceback, and — for eval — an
output that validates against schemas/result.schema.json and lists every input activity exactly once, a malformed
one as rejected with a reason naming the field. Small files are committed under tests/hostile/; huge ones are
written at run time. Cases run in-process through the CLI (a crash would surface as exit code 3 or an escaped
exception), except `isolate: true` ones, which run in a subprocess.

Below the corpus: expressions cannot reach Python (text in specs and in records stays data), `matches` cannot hang,
and every output format accounts for every activity.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from ceruleng.cli import main

ROOT = Path(__file__).parent.parent
HERE = Path(__file__).parent / "hostile"
AS_OF = "2025-06-01"
RULES = ROOT / "rules" / "asap-pace.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))["cases"]
RESULT_SCHEMA = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
RESULT_VALIDATOR = jsonschema.Draft202012Validator(RESULT_SCHEMA)
MEMBER_VALIDATOR = jsonschema.Draft202012Validator({"$defs": RESULT_SCHEMA["$defs"], "$ref": "#/$defs/member"})
"""One line of --format jsonl."""
BASE_SPEC = (HERE / "spec" / "base.yaml").read_text(encoding="utf-8")
BASE_CREDIT = "    credit: minutes / 60\n"


# ---- generated inputs (too big to commit) ---------------------------------------------------------------------------

MEMBER = {"member": "M-1", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}]}
ACTIVITY = {"id": "A1", "type": "training", "date": "2025-02-11", "minutes": 90, "topic": "Management Skills"}
PLAIN = {**ACTIVITY, "id": "A2"}


def _yaml_member(first: str) -> str:
    """A YAML member whose first activity ends with `first` (flow YAML) and whose second one is plain."""
    return ("member: M-1\ncredentials: [{spec: asap-pace, certified_on: 2023-06-15}]\nactivities:\n"
            f"  - {{id: A1, type: training, date: 2025-02-11, minutes: 90, topic: Management Skills, {first}}}\n"
            "  - {id: A2, type: training, date: 2025-02-11, minutes: 90, topic: Management Skills}\n")


def _nested(folder: Path, depth: int, format: str) -> Path:
    nest = "[" * depth + "]" * depth
    if format == "yaml":
        text = _yaml_member(f"notes: {nest}")
    else:
        deep = json.dumps({**MEMBER, "activities": [{**ACTIVITY, "notes": "@"}, PLAIN]}).replace('"@"', nest)
        if format == "jsonl":
            plain = json.dumps({**MEMBER, "activities": [ACTIVITY]})
            deep = json.dumps({**MEMBER, "activities": [{**ACTIVITY, "notes": "@"}]}).replace('"@"', nest)
            deep = f"{plain}\n{deep}\n{plain}"
        text = deep + "\n"
    path = folder / f"nested-{depth}.{format}"
    path.write_text(text, encoding="utf-8")
    return path


def _nested_spec(folder: Path, depth: int, format: str) -> Path:
    nest = "[" * depth + "]" * depth
    path = folder / f"nested-spec-{depth}.{format}"
    if format == "yaml":
        path.write_text(BASE_SPEC + f"description: {nest}\n", encoding="utf-8")
    else:
        path.write_text(f'{{"ceruleng": 1, "id": "hostile", "description": {nest}}}\n', encoding="utf-8")
    return path


def _long_text(folder: Path, megabytes: int, format: str) -> Path:
    title = "x" * (megabytes * 1_000_000)
    path = folder / f"long-text.{format}"
    if format == "yaml":
        path.write_text(_yaml_member(f"title: {title}"), encoding="utf-8")
    else:
        path.write_text(json.dumps({**MEMBER, "activities": [{**ACTIVITY, "title": title}, PLAIN]}), encoding="utf-8")
    return path


def _long_text_spec(folder: Path, megabytes: int) -> Path:
    path = folder / "long-text-spec.yaml"
    path.write_text(BASE_SPEC + "description: " + "x" * (megabytes * 1_000_000) + "\n", encoding="utf-8")
    return path


def _segments(folder: Path, count: int) -> Path:
    """One activity of `count` one-minute segments, every other one a break (1 continuous minute), then a plain one."""
    segments = [{"kind": "session" if index % 2 == 0 else "break", "minutes": 1} for index in range(count)]
    first = {key: value for key, value in ACTIVITY.items() if key != "minutes"}
    path = folder / "segments.json"
    path.write_text(json.dumps({**MEMBER, "activities": [{**first, "segments": segments}, PLAIN]}), encoding="utf-8")
    return path


def _spec_with_credit(folder: Path, expression: str) -> Path:
    assert BASE_CREDIT in BASE_SPEC
    path = folder / "expression.yaml"
    path.write_text(BASE_SPEC.replace(BASE_CREDIT, f"    credit: {json.dumps(expression)}\n"), encoding="utf-8")
    return path


def _let_chain(folder: Path, length: int, conditional: bool) -> Path:
    """The base spec whose credit ends a chain of `length` lets, each needed (only if `conditional`) by the next."""
    lets = ["  l0: minutes / 60\n"]
    for step in range(1, length):
        body = f"if minutes > {step} then l{step - 1} else 0" if conditional else f"l{step - 1} + 0"
        lets.append(f"  l{step}: {json.dumps(body)}\n")
    text = BASE_SPEC.replace(BASE_CREDIT, f"    credit: l{length - 1}\n")
    text = text.replace("categories:", "let:\n" + "".join(lets) + "categories:", 1)
    path = folder / "let-chain.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _cycle_let_chain(folder: Path, length: int, conditional: bool) -> Path:
    """The base spec whose requirement ends a chain of `length` values of the period (`cycle_let`), each needed (only
    if `conditional`) by the next, the first reading the period's number."""
    lets = ["  c0: cycle.number * 2\n"]
    for step in range(1, length):
        body = f"if cycle.number > {step} then c{step - 1} else 2" if conditional else f"c{step - 1} + 0"
        lets.append(f"  c{step}: {json.dumps(body)}\n")
    text = BASE_SPEC.replace("requirement: {credits: 2,", f"requirement: {{credits: c{length - 1},", 1)
    text = text.replace("categories:", "cycle_let:\n" + "".join(lets) + "categories:", 1)
    path = folder / "cycle-let-chain.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _csv_cell(folder: Path, characters: int) -> Path:
    """A CSV whose first row holds a title of `characters` characters (past the csv module's own field limit)."""
    path = folder / "long-cell.csv"
    path.write_text("member,credentials,id,type,date,minutes,topic,title\n"
                    f'M-1,asap-pace@2023-06-15,A1,training,2025-02-11,90,Management Skills,"{"x" * characters}"\n'
                    "M-1,,A2,training,2025-02-11,90,Management Skills,short\n"
                    "M-2,asap-pace@2023-06-15,A3,training,2025-02-11,90,Management Skills,short\n", encoding="utf-8")
    return path


def _long_line(folder: Path, megabytes: int) -> Path:
    """JSON Lines: a member, then one of `megabytes` MB on one line (a long title), then another member."""
    plain = json.dumps({**MEMBER, "activities": [ACTIVITY]})
    long = json.dumps({**MEMBER, "member": "M-2", "activities": [{**ACTIVITY, "title": "x" * megabytes * 1_000_000}]})
    path = folder / "long-line.jsonl"
    path.write_text(f"{plain}\n{long}\n{plain}\n", encoding="utf-8")
    return path


def _spec_file(folder: Path, section: str, target: str) -> Path:
    """base.yaml naming a `file:` under `section` (sources or tables) that is `target`: made here, since symlinks,
    FIFOs and a 17 MB file cannot be committed. The spec's folder is `folder/spec`; `folder/outside.csv` is not in
    it."""
    spec_folder = folder / "spec"
    (spec_folder / "data").mkdir(parents=True)
    table = "key,value\nCAP,1.6\n"
    (folder / "outside.csv").write_text(table, encoding="utf-8")
    names = {"absolute": str(folder / "outside.csv"), "dotdot": "../outside.csv", "inside": "data/table.csv",
             "dotdot-inside": "data/../data/table.csv", "symlink-out": "data/link.csv",
             "symlink-to-device": "data/zero.csv", "symlink-inside": "data/inner-link.csv", "fifo": "data/fifo.csv",
             "folder": "data", "too-large": "data/huge.csv", "huge-value": "data/huge-value.csv",
             "long-cell": "data/long-cell.csv", "nul-name": "data/x\u0000.csv", "empty-name": " "}
    (spec_folder / "data" / "table.csv").write_text(table, encoding="utf-8")
    (spec_folder / "data" / "link.csv").symlink_to(folder / "outside.csv")
    (spec_folder / "data" / "zero.csv").symlink_to("/dev/zero")
    (spec_folder / "data" / "inner-link.csv").symlink_to(spec_folder / "data" / "table.csv")
    os.mkfifo(spec_folder / "data" / "fifo.csv")  # reading it would block for ever
    with open(spec_folder / "data" / "huge.csv", "wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: past the 16 MB limit, costs no disk
    (spec_folder / "data" / "huge-value.csv").write_text("key,value\nCAP,1e999999\nMOS,7e2000000\n", encoding="utf-8")
    (spec_folder / "data" / "long-cell.csv").write_text(f"key,value\nCAP,{'1' * 200_000}\n", encoding="utf-8")
    file = json.dumps(names[target])
    if section == "sources":
        text = BASE_SPEC.replace("  doc: {title: Policy}", f"  doc: {{title: Policy, file: {file}}}")
    else:
        text = BASE_SPEC + (f"tables:\n  credits:\n    description: Credits.\n    file: {file}\n"
                            "    source: {doc: doc, quote: One hour is one CEU.}\n")
    path = spec_folder / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _long_spec_id(folder: Path, characters: int) -> Path:
    """A member whose credential names a spec id of `characters` characters ("did you mean" must not run on it)."""
    path = folder / "long-spec-id.json"
    member = {"member": "M-1", "credentials": [{"spec": "asap-pace" * (characters // 9), "certified_on": "2023-06-15"}],
              "activities": [ACTIVITY]}
    path.write_text(json.dumps(member), encoding="utf-8")
    return path


GENERATORS: dict[str, Callable[..., Path]] = {
    "nested": _nested,
    "nested-spec": _nested_spec,
    "long-text": _long_text,
    "long-text-spec": _long_text_spec,
    "segments": _segments,
    "csv-cell": _csv_cell,
    "long-line": _long_line,
    "spec-file": _spec_file,
    "let-chain": _let_chain,
    "cycle-let-chain": _cycle_let_chain,
    "long-spec-id": _long_spec_id,
    "long-expression": lambda folder, length: _spec_with_credit(folder, "minutes" + " + 1" * ((length - 7) // 4)),
    "deep-expression": lambda folder, depth: _spec_with_credit(folder, "floor(" * depth + "minutes" + ")" * depth),
    "deep-negation": lambda folder, depth: _spec_with_credit(folder, "-" * depth + "minutes"),
    "deep-parentheses": lambda folder, depth: _spec_with_credit(folder, "(" * depth + "minutes / 60" + ")" * depth),
}
SPEC_KINDS = {"let-chain", "cycle-let-chain", "nested-spec", "long-text-spec", "long-expression", "deep-expression",
              "deep-negation", "deep-parentheses", "spec-file"}


# ---- running the CLI ------------------------------------------------------------------------------------------------


def run_cli(arguments: list[str], isolate: bool = False) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `ceruleng ARGUMENTS`, in-process or in a subprocess."""
    if isolate:
        done = subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)
        return done.returncode, done.stdout, done.stderr
    result = CliRunner().invoke(main, arguments)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # escaped the CLI's own error handling
    return result.exit_code, result.stdout, result.stderr


def _status(activity: dict[str, Any]) -> str:
    if activity["malformed"]:
        assert activity["status"] == "rejected", activity
        return "malformed"
    return str(activity["status"])


def _exits(case: dict[str, Any]) -> list[int]:
    return case["exit"] if isinstance(case["exit"], list) else [case["exit"]]


def check_eval_output(case: dict[str, Any], code: int, out: str, err: str) -> None:
    """The documented exit code, one clear line on failure, and every input activity exactly once in valid JSON."""
    assert "Traceback" not in err and "Traceback" not in out
    assert code in _exits(case), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ceruleng: "), err
        assert case["stderr"] in lines[0]
        return
    document = json.loads(out)
    RESULT_VALIDATOR.validate(document)
    members = document["members"]
    errors = [member["error"] for member in members]
    assert len(errors) == len(case["members"]), errors
    for got, want in zip(errors, case["members"], strict=True):
        assert got is None if want is None else (got is not None and want in got), (got, want)
    if "credentials" in case:
        credential_errors = [result.get("error") for member in members for result in member["results"]]
        assert len(credential_errors) == len(case["credentials"]), credential_errors
        for got, want in zip(credential_errors, case["credentials"], strict=True):
            assert got is None if want is None else (got is not None and want in got), (got, want)
    activities = [a for member in members for result in member["results"] for a in result["activities"]]
    expected = case["activities"]
    assert len(activities) == len(expected), [(a["id"], a["status"], a["reasons"]) for a in activities]
    for activity, (identifier, status, *reason) in zip(activities, expected, strict=True):
        assert identifier == "*" or activity["id"] == identifier, (activity["id"], activity["reasons"])
        assert status == "*" or _status(activity) == status, (activity["id"], activity["status"], activity["reasons"])
        assert activity["reasons"], activity  # every outcome says why
        if reason:
            assert any(reason[0] in text for text in activity["reasons"]), (activity["id"], activity["reasons"])
    summary = document["summary"]
    assert summary["members"] == len(members) and summary["activity_results"] == len(activities)
    assert summary["malformed"] == sum(1 for a in activities if a["malformed"])
    credential_failed = any(result.get("error") for member in members for result in member["results"])
    assert (code == 1) == bool(summary["malformed"] or any(errors) or credential_failed), summary


def check_spec_output(case: dict[str, Any], code: int, out: str, err: str) -> None:
    """The documented exit code and, for a broken spec, the expected diagnostic code at its position."""
    assert "Traceback" not in err and "Traceback" not in out
    assert code in _exits(case), (out, err)
    assert not err.strip(), err
    diagnostics = json.loads(out)["diagnostics"]
    errors = [(d["code"], f"{d['line']}:{d['column']}") for d in diagnostics if d["severity"] == "error"]
    if code == 0:
        assert not errors
        return
    assert case["code"] in {found for found, _ in errors}, errors
    if "at" in case:
        assert (case["code"], case["at"]) in errors, errors


def _is_spec_case(case: dict[str, Any]) -> bool:
    return "check" in case or "expr" in case or case.get("generate", {}).get("kind") in SPEC_KINDS


def _arguments(case: dict[str, Any], folder: Path) -> tuple[list[str], bool]:
    """The CLI arguments for a case, writing its input first when it is generated; and whether it checks a spec."""
    generate = dict(case.get("generate") or {})
    if generate:
        path = GENERATORS[generate.pop("kind")](folder, **generate)
    elif "expr" in case:
        path = _spec_with_credit(folder, case["expr"])
    else:
        path = HERE / (case.get("check") or case["eval"])
    spec = _is_spec_case(case)
    if spec:
        return ["check", "--no-cache", "--format", "json", str(path)], True
    rules = HERE / case["rules"] if "rules" in case else RULES
    return ["eval", "--rules", str(rules), "--as-of", AS_OF, "--format", "json", *case.get("args", []),
            str(path)], False


def _param(case: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
    return pytest.param(case, id=case["name"], marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_hostile_case(case: dict[str, Any], tmp_path: Path) -> None:
    arguments, spec = _arguments(case, tmp_path)
    code, out, err = run_cli(arguments, isolate=case.get("isolate", False))
    (check_spec_output if spec else check_eval_output)(case, code, out, err)
    if code != 2:
        for output in case.get("outputs", []):
            check_other_output(case, output, arguments, out)


UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What must never reach a terminal or a page from member data (tab and newline are the writers' own)."""
TABLE_LINE = 640
"""The widest a table line may be: every cell is bounded (the reasons column at 400)."""


def check_other_output(case: dict[str, Any], output: dict[str, Any], arguments: list[str], json_out: str) -> None:
    """The same input printed in another format: safe to open, and holding (or lacking) the texts the case names."""
    fmt = output["format"]
    changed = [fmt if argument == "json" and previous == "--format" else argument
               for previous, argument in zip(["", *arguments[:-1]], arguments, strict=True)]
    code, out, err = run_cli(changed, isolate=case.get("isolate", False))
    assert code in _exits(case) and "Traceback" not in err, err
    activities = [a for m in json.loads(json_out)["members"] for r in m["results"] for a in r["activities"]]
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out, newline="")))
        from ceruleng.report.writers import CSV_COLUMNS

        assert tuple(rows[0]) == CSV_COLUMNS and all(len(row) == len(CSV_COLUMNS) for row in rows)
        assert len([row for row in rows[1:] if row[6]]) == len(activities)  # quoted CR/LF never split a row
        for row in rows[1:]:
            assert not [cell for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))], row
    else:
        assert not UNSAFE.search(out), UNSAFE.findall(out)[:5]
    if fmt == "table":
        assert max(len(line) for line in out.splitlines()) <= TABLE_LINE
    for text in output.get("contains", []):
        assert text in out, (fmt, text)
    for text in output.get("lacks", []):
        assert text not in out, (fmt, text)
    if "max_size" in output:
        assert len(out.encode("utf-8")) <= output["max_size"], (fmt, len(out))


def test_the_corpus_is_well_formed() -> None:
    """Unique names, known keys, and every committed file used by some case (no dead corpus)."""
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), [name for name in names if names.count(name) > 1]
    known = {"name", "check", "expr", "eval", "generate", "rules", "args", "exit", "code", "at", "stderr", "members",
             "credentials", "activities", "isolate", "xfail", "outputs"}
    for case in CASES:
        assert set(case) <= known, (case["name"], set(case) - known)
        assert sum(key in case for key in ("check", "expr", "eval", "generate")) == 1, case["name"]
        if not _is_spec_case(case):
            assert _exits(case) == [2] or {"members", "activities"} <= set(case), case["name"]
        else:
            assert case["exit"] == 0 or "code" in case, case["name"]
    used = {case.get("check") or case.get("eval") for case in CASES} | {case.get("rules") for case in CASES}
    committed = {str(path.relative_to(HERE)) for folder in ("spec", "activities") for path in (HERE / folder).iterdir()}
    assert committed - used == {"spec/base.yaml"}, committed - used


# ---- expressions cannot escape -------------------------------------------------------------------------------------

INJECTIONS = [
    "'); __import__('os').system('echo pwned'); ('",
    '"; import os; "',
    "{__import__('os').system('echo pwned')}",
    "{{credits}} {title}",
    "\\x00\\n\\\\ \"' \x00 \u202e",
    "__class__",
]


def test_text_in_specs_and_records_stays_data(tmp_path: Path) -> None:
    """Python source in a spec's text literal and in a record's text is compared and printed, never run."""
    literal = INJECTIONS[0].replace("'", "\\'")
    credit = json.dumps(f"if title == '{literal}' then 1 else 2")
    explain = '    explain: "The title {title} earns {credits}."\n'
    spec = BASE_SPEC.replace(BASE_CREDIT, f"    credit: {credit}\n{explain}")
    (tmp_path / "spec.yaml").write_text(spec, encoding="utf-8")
    activities = [{"id": f"A{index}", "type": "course", "date": "2025-01-01", "minutes": 60, "title": title}
                  for index, title in enumerate(INJECTIONS, start=1)]
    member = {"member": "M-1", "credentials": [{"spec": "hostile", "certified_on": "2024-06-01"}],
              "activities": activities}
    (tmp_path / "member.json").write_text(json.dumps(member), encoding="utf-8")
    code, out, err = run_cli(["eval", "--rules", str(tmp_path / "spec.yaml"), "--as-of", AS_OF, "--format", "json",
                              str(tmp_path / "member.json")])
    assert code == 0, err
    scored = json.loads(out)["members"][0]["results"][0]["activities"]
    assert [(a["status"], a["credits"]) for a in scored] == [("awarded", "1.0")] + [("awarded", "2.0")] * 5
    for activity, title in zip(scored, INJECTIONS, strict=True):
        assert activity["reasons"] == [f"The title {title} earns {activity['credits']}."]
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_generated_code_sees_no_python_builtins(tmp_path: Path) -> None:
    """Whatever a spec says, the compiled rules run without __import__, open, eval, exec or getattr."""
    from ceruleng.runtime import RUNTIME

    builtins = RUNTIME["__builtins__"]
    assert not {"__import__", "open", "eval", "exec", "compile", "getattr", "globals", "type"} & set(builtins)
    assert set(builtins) <= {"min", "max", "abs", "len", "any", "all", "sum", "bool", "tuple"}


# ---- matches cannot hang -------------------------------------------------------------------------------------------


def test_matches_on_hostile_text_stays_fast() -> None:
    """The worst text `matches` tests (200 characters of near misses for the spec's patterns) and longer text up to a
    megabyte: hundreds of activities score in well under two seconds, the long ones rejected with a reason."""
    from ceruleng.engine import evaluate, load_spec

    spec = load_spec(HERE / "spec" / "runtime.yaml")
    near_misses = ["a" * 199 + "!", "a" * 100 + "b" * 99 + "!", "CA" + "1" * 198, "a" * 200]
    too_long_to_match = ["a" * 50_000 + "!", "CA" + "1" * 99_000]
    too_long_to_read = ["a" * 1_000_000 + "!"]
    codes = near_misses * 50 + too_long_to_match * 10 + too_long_to_read * 5
    activities = [{"id": f"A{index}", "type": "pattern", "date": "2025-01-01", "code": code}
                  for index, code in enumerate(codes)]
    started = time.perf_counter()
    result = evaluate(spec, {"member": "M-1", "credentials": [{"spec": "runtime", "certified_on": "2024-06-01"}],
                             "activities": activities}, as_of=date(2025, 6, 1))
    elapsed = time.perf_counter() - started
    scored = result.credentials[0].activities
    assert len(scored) == len(codes)
    assert elapsed < 2.0, f"{len(codes)} pattern activities took {elapsed:.2f}s"
    for activity, code in zip(scored, codes, strict=True):
        if code in too_long_to_match:
            assert activity.status == "rejected" and "too long to match (limit 200)" in activity.reasons[0]
        elif code in too_long_to_read:
            assert activity.malformed and "code: text of 1000001 characters is too long" in activity.reasons[0]
        else:
            assert activity.status in ("awarded", "rejected") and not activity.malformed


# ---- every output format accounts for every activity ---------------------------------------------------------------

FORMAT_FILES = ["activity-not-mapping.yaml", "duplicate-key-activity.yaml", "minutes.yaml", "missing-required.yaml",
                "batch-hostile.jsonl", "csv-quoted-newlines.csv", "csv-extra-columns.csv"]


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_output_format_lists_every_activity(name: str) -> None:
    """json, jsonl and csv list the same activities, once each, in the same order (CSV: quoted newlines intact)."""
    outputs = {}
    for fmt in ("json", "jsonl", "csv"):
        code, out, err = run_cli(["eval", "--rules", str(RULES), "--as-of", AS_OF, "--format", fmt,
                                  str(HERE / "activities" / name)])
        assert code in (0, 1) and "Traceback" not in err, err
        outputs[fmt] = out
    from_json = [(a["id"] or "", a["status"]) for m in json.loads(outputs["json"])["members"]
                 for r in m["results"] for a in r["activities"]]
    from_jsonl = [(a["id"] or "", a["status"]) for line in outputs["jsonl"].splitlines()
                  for r in json.loads(line)["results"] for a in r["activities"]]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"], newline="")))
    from_csv = [(row["activity"], row["status"]) for row in rows if row["index"]]  # not the unreadable members' rows
    assert from_json == from_jsonl == from_csv
    for line in outputs["jsonl"].splitlines():
        MEMBER_VALIDATOR.validate(json.loads(line))
