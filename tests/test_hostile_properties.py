"""Properties over hostile files: whatever a member document holds, in any input format, `ceruleng eval` ends with
exit 0 or 1 (never 3), lists every input activity exactly once per credential, and writes JSON that validates
against schemas/result.schema.json.

Documents are written as the text a user's file would hold — JSON, JSON Lines, YAML (with core tags) and CSV — with
extreme numbers in every field (exponents of any size, integers of thousands of digits, 13 decimal places, -0),
text holding lone surrogates (JSON escapes), bidirectional controls, NUL and byte-order marks, and odd CSV cells.
They run through the CLI in-process (click's CliRunner) for speed; a few fixed hostile files run in real
subprocesses, with one process and with two.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceruleng.cli import main

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules" / "asap-pace.yaml"
RESULT_VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8")))
PROPERTY = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

EXTREME_NUMBERS = ["7e2000000", "3e-888888888", "1e99999999999999999999", "-1e-99999999999999999999", "0e2000000",
                   "9" * 5000, "1" * 4301, "-" + "9" * 4400, "0.0000000000001", "999999999999", "1000000000000",
                   "-0", "-0.0", "90", "90.5", "1E+3", "0", "12345678901234567890123456789012345678901234567890"]
ODD_TEXT = ["\udc41", "\ud800x", "\u202eevil\u202c", "\u2066x\u2069", "\x00", "a\x00b", "\ufeff", "😀", "é",
            "'; DROP TABLE", "=cmd|' /C calc'!A0", "\r\n", "\t", "\\", '"', "Management Skills", ""]

numbers = st.one_of(st.sampled_from(EXTREME_NUMBERS),
                    st.integers(min_value=-(10**30), max_value=10**30).map(str),
                    st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-(10**20), 10**20)),
                    st.decimals(allow_nan=False, allow_infinity=False, places=14).map(str))
texts = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=12),
                  st.lists(st.sampled_from(ODD_TEXT), min_size=1, max_size=4).map("".join))
dates = st.one_of(st.just("2025-02-11"), st.sampled_from(["2025-02-30", "02/11/2025", "9999-12-31", ""]), texts)
types = st.sampled_from(["training", "webinar", "apc", "college", "Training", ""])


def _json_value(draw: Any, kind: str) -> str:
    """A JSON value as text: numbers are written raw (so any size survives), text through json.dumps (so lone
    surrogates become \\udXXX escapes, which Python's decoder accepts)."""
    if kind == "number":
        return draw(numbers)
    return json.dumps(draw(texts)) if draw(st.booleans()) else draw(numbers)


@st.composite
def json_activity(draw: Any, index: int) -> str:
    fields = {"id": json.dumps(f"A{index}") if draw(st.booleans()) else _json_value(draw, "any"),
              "type": json.dumps(draw(types)), "date": json.dumps(draw(dates)),
              "minutes": _json_value(draw, draw(st.sampled_from(["number", "any"]))),
              "topic": json.dumps(draw(st.sampled_from(["Management Skills", *ODD_TEXT])))}
    if draw(st.booleans()):
        fields["title"] = _json_value(draw, "any")
    if draw(st.booleans()):
        segments = [f'{{"kind": {json.dumps(draw(texts))}, "minutes": {_json_value(draw, "number")}}}'
                    for _ in range(draw(st.integers(0, 3)))]
        fields["segments"] = "[" + ", ".join(segments) + "]"
    if draw(st.booleans()):
        fields[json.dumps(draw(texts))[1:-1]] = _json_value(draw, "any")  # an unknown key, maybe a surrogate
    return "{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}"


@st.composite
def json_member(draw: Any, number: int) -> tuple[str, int]:
    count = draw(st.integers(0, 4))
    activities = [draw(json_activity(index)) for index in range(count)]
    member = json.dumps(f"M-{number}") if draw(st.integers(0, 4)) else _json_value(draw, "any")
    text = (f'{{"member": {member}, "credentials": [{{"spec": "asap-pace", "certified_on": "2023-06-15"}}], '
            f'"activities": [{", ".join(activities)}]}}')
    return text, count


TAGS = ["", "!!int ", "!!float ", "!!str ", "!!bool ", "!!null "]


def _yaml_scalar(draw: Any) -> str:
    """A YAML flow scalar: a raw number, or text double-quoted (libyaml refuses surrogate escapes and raw control
    characters, which hostile/cases.yaml covers), maybe under a core tag."""
    tag = draw(st.sampled_from(TAGS))
    if draw(st.booleans()):
        return tag + draw(numbers)
    return tag + _yaml_quoted(_no_surrogates(draw(texts)))


def _no_surrogates(text: str) -> str:
    return "".join(ch for ch in text if not "\ud800" <= ch <= "\udfff")


def _yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar: printable characters as themselves, the rest as \\xXX or \\uXXXX escapes
    (libyaml refuses raw control characters and escapes of surrogates, even paired ones)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000:
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


@st.composite
def yaml_member(draw: Any, number: int) -> tuple[str, int]:
    count = draw(st.integers(0, 4))
    lines = [f"- member: M-{number}", "  credentials: [{spec: asap-pace, certified_on: 2023-06-15}]",
             "  activities:" if count else "  activities: []"]
    for index in range(count):
        day = _yaml_quoted(_no_surrogates(draw(dates)))
        lines.append(f"    - {{id: A{index}, type: {draw(types) or 'x'}, date: {day}, "
                     f"minutes: {_yaml_scalar(draw)}, topic: {_yaml_scalar(draw)}, title: {_yaml_scalar(draw)}}}")
    return "\n".join(lines) + "\n", count


@st.composite
def csv_file(draw: Any) -> tuple[str, list[int]]:
    """A CSV of a few members (rows interleaved), every cell hostile text or numbers."""
    members = draw(st.integers(1, 3))
    rows: list[list[str]] = []
    counts: dict[int, int] = {}  # in the order of each member's first row, as the reader keeps them
    for _ in range(draw(st.integers(1, 8))):
        number = draw(st.integers(0, members - 1))
        first = number not in counts
        counts[number] = counts.get(number, 0) + 1
        cell = lambda: draw(st.one_of(texts, numbers))  # noqa: E731
        segments = ";".join(f"{draw(texts).replace(';', '')}:{draw(numbers)}" for _ in range(draw(st.integers(0, 2))))
        rows.append([f"M-{number}", "asap-pace@2023-06-15" if first or draw(st.booleans()) else "",
                     f"A{len(rows)}", draw(types), draw(dates), cell(), cell(), cell(), segments])
    buffer = io.StringIO()
    quote_all = draw(st.booleans())
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(["member", "credentials", "id", "type", "date", "minutes", "topic", "title", "segments"])
    if not quote_all:  # the csv module leaves a lone CR unquoted, and every reader takes that for a line break
        rows = [[cell.replace("\r", "") for cell in row] for row in rows]
    writer.writerows(rows)
    text = _no_surrogates(buffer.getvalue())  # a UTF-8 file cannot hold one
    return ("\ufeff" + text if draw(st.booleans()) else text), list(counts.values())


def _run(path: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(main, ["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "json",
                                       *extra, str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)  # never 3 (a bug), never 2 (refused)
    document = json.loads(result.stdout_bytes.decode("utf-8"))  # strict UTF-8: nothing unencodable got out
    RESULT_VALIDATOR.validate(document)
    return result.exit_code, document, result.stderr


def _activity_counts(document: dict[str, Any]) -> list[int]:
    """Per member: how many activities each of its results lists (all the same: once per credential)."""
    counts = []
    for member in document["members"]:
        per_result = {len(result["activities"]) for result in member["results"]}
        assert len(per_result) <= 1, per_result  # every credential lists every activity
        counts.append(per_result.pop() if per_result else 0)
    return counts


def _check(path: Path, expected: list[int], extra: tuple[str, ...] = ()) -> None:
    code, document, _ = _run(path, extra)
    assert _activity_counts(document) == expected
    summary = document["summary"]
    assert summary["members"] == len(expected)
    assert (code == 1) == bool(summary["malformed"] or any(m["error"] for m in document["members"]))


@PROPERTY
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=4).flatmap(
    lambda numbers: st.tuples(*[json_member(number) for number in numbers])))
def test_hostile_json_lines_score_every_activity(members: tuple[tuple[str, int], ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.jsonl"
        path.write_text("\n".join(text for text, _ in members) + "\n", encoding="utf-8")
        _check(path, [count for _, count in members])


@PROPERTY
@given(json_member(1))
def test_a_hostile_json_document_scores_every_activity(member: tuple[str, int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "member.json"
        path.write_text(member[0], encoding="utf-8")
        _check(path, [member[1]])


@PROPERTY
@given(st.lists(st.integers(0, 99), min_size=1, max_size=3).flatmap(
    lambda numbers: st.tuples(*[yaml_member(number) for number in numbers])))
def test_hostile_yaml_with_tags_scores_every_activity(members: tuple[tuple[str, int], ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "members.yaml"
        path.write_text("".join(text for text, _ in members), encoding="utf-8")
        _check(path, [count for _, count in members])


@PROPERTY
@given(csv_file())
def test_hostile_csv_scores_every_activity(file: tuple[str, list[int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "members.csv"
        path.write_text(file[0], encoding="utf-8")
        _check(path, file[1])


# ---- a few real processes ------------------------------------------------------------------------------------------


def _fixed_batch() -> tuple[str, list[int]]:
    """Every extreme number in minutes, segment minutes and ids, every odd text in topic and title: one member each."""
    lines, counts = [], []
    for number, value in enumerate(EXTREME_NUMBERS):
        text = json.dumps(ODD_TEXT[number % len(ODD_TEXT)])
        activities = [f'{{"id": "A1", "type": "training", "date": "2025-02-11", "minutes": {value}, "topic": {text}}}',
                      f'{{"id": {value}, "type": "training", "date": "2025-02-11", "title": {text}, '
                      f'"topic": "Management Skills", "segments": [{{"kind": {text}, "minutes": {value}}}]}}']
        lines.append(f'{{"member": "M-{number}", "credentials": [{{"spec": "asap-pace", "certified_on": '
                     f'"2023-06-15"}}], "activities": [{", ".join(activities)}]}}')
        counts.append(2)
    return "\n".join(lines) + "\n", counts


def test_the_extremes_in_real_processes_with_one_and_two_jobs(tmp_path: Path) -> None:
    text, counts = _fixed_batch()
    path = tmp_path / "extremes.jsonl"
    path.write_text(text, encoding="utf-8")
    outputs = []
    for jobs in ("1", "2"):
        done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", str(RULES), "--as-of",
                               "2025-06-01", "--format", "json", "--jobs", jobs, str(path)], capture_output=True,
                              timeout=120, check=False)
        assert done.returncode == 1 and not done.stderr, done.stderr
        document = json.loads(done.stdout.decode("utf-8"))
        RESULT_VALIDATOR.validate(document)
        assert _activity_counts(document) == counts
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
