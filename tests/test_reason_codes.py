"""Reason codes (`eval --reasons codes`) and the categories a credential lists (`eval --categories used|all`).

- Every reason of every embedded example (the bundled specs, tests/ledger, tests/windows, tests/versions and
  tests/reason_codes) has a code: documented (`reasoncodes.ENGINE`, the table in docs/language.md) or a spec code
  naming rules the spec has, standing beside a sentence that code's writer could have written; every documented
  engine code is written by some example or case (none is dead).
- tests/reason_codes/cases.yaml: members whose activities get each engine sentence and each kind of spec sentence,
  through a real `ceruleng eval` subprocess, compared code by code.
- The options as users meet them: codes where the sentences were and nothing else changed, with `--explain`,
  `--jobs 2`, CSV's `reason_codes` column, the formats that refuse them; `categories` lists exactly the categories
  that earned something, have a cap or took an activity.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ceruleng import load_specs
from ceruleng.compiled import CompiledSpec
from ceruleng.reasoncodes import ENGINE, SPEC_KINDS, UNCODED
from ceruleng.templates import Template
from ceruleng.testing import run_examples
from ceruleng.values import ZERO

ROOT = Path(__file__).parent.parent
FOLDERS = ["rules", "tests/ledger", "tests/windows", "tests/versions", "tests/reason_codes"]
CASES = yaml.safe_load((ROOT / "tests" / "reason_codes" / "cases.yaml").read_text(encoding="utf-8"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
RESULT_SCHEMA = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
CODE = re.compile(RESULT_SCHEMA["$defs"]["reason_code"]["pattern"])

SENTENCES = {
    "unknown-type": r"'.*' is not an activity type .* recognises",
    "unrouted": r"No category of .* accepts this .* \(none of their conditions holds\)\.",
    "missing-attribute": r"The activity has no .*, which the rules( for .*)? need\.",
    "no-table-entry": r"No entry for .* in the rules",
    "not-in-force": r"No version of .* is in force on \d{4}-\d\d-\d\d\.",
    "category-undecided": r"Could not decide the category: ",
    "rule-failed": r"Could not compute the credit",
    "negative-credit": r"The credit formula gave a negative amount \(",
    "malformed": r"Malformed: (?!id: '.*' is used by an earlier activity)",
    "duplicate-id": r"Malformed: id: '.*' is used by an earlier activity \(position \d+\); ids must be unique\.",
    "credential-malformed": r"The credential is malformed: ",
    "not-scored": r"Not scored: ",
    "outside-period": r"Completed \d{4}-\d\d-\d\d, outside this cycle \(",
    "carried-over": r"It counted toward an earlier cycle, whose surplus carries over",
    "grace-earlier": r"It counted toward the period before \(period \d+\), in that period's grace\.",
    "grace": r"Completed after this period ended \(\d{4}-\d\d-\d\d\), in its grace",
    "look-back": r"Completed before the first period, in its look-back",
    "earlier-period": r"Completed in period \d+; it counts toward this period's requirement",
    "repeat-share": r"The \w+ time '.*' is claimed, it earns .*% of its credit",
    "tier": r"In tiers of .*: .* count as ",
    "cap-cut": r"Cut from .* to .*: .* counts at most .* per ",
    "cap-reached": r"The cap of .* for .* was already reached, so this activity adds nothing\.",
    "limit-cut": r"Cut from .* to .* by the limit '",
    "limit-reached": r".*: at most .*, already reached, so this adds nothing\.",
}
"""What the sentence of each engine code says: a code swapped for another (cut for reached) fails here."""


def test_every_engine_code_has_its_sentence_described_and_documented() -> None:
    language = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    assert set(SENTENCES) == set(ENGINE)
    table = dict(re.findall(r"^\| `([a-z-]+)` \| (.+) \|$", language.split("## Reason codes")[1].split("\n## ")[0],
                            re.MULTILINE))
    assert table == ENGINE
    assert all(CODE.fullmatch(code) and "." not in code for code in ENGINE)


def _template_pattern(template: Template) -> re.Pattern[str]:
    """What a template can write: its literal parts in order, anything for each placeholder."""
    return re.compile("".join(re.escape(part) if isinstance(part, str) else ".*" for part in template.parts),
                      re.DOTALL)


def _spec_code_owners(spec: CompiledSpec, code: str) -> bool:
    """Whether a spec code names rules the spec has: categories and checks by id, with a kind after them."""
    *ids, kind = code.split(".")
    categories = {category.id for category in spec.model.categories}
    if kind not in SPEC_KINDS:
        return False
    if kind != "check":
        return len(ids) == 1 and ids[0] in categories
    if len(ids) == 1:
        return ids[0] in {check.id for check in spec.model.checks}
    owner = next((category for category in spec.model.categories if category.id == ids[0]), None)
    return owner is not None and ids[1] in {check.id for check in owner.checks}


def _example_activities() -> Iterator[tuple[CompiledSpec, Any]]:
    for folder in FOLDERS:
        specs = load_specs([str(ROOT / folder)])
        for run in run_examples(specs):
            assert run.result is not None
            for credential in run.result.credentials:
                spec = specs.get(credential.spec or "", run.spec)
                for activity in credential.activities:
                    yield spec, activity


def test_every_reason_of_every_example_has_a_code_that_says_what_its_sentence_says() -> None:
    engine_seen = set()
    checked = 0
    for spec, activity in _example_activities():
        codes, sentences = activity.reason_codes, activity.reasons
        assert len(codes) == len(sentences), (activity.id, codes, sentences)
        by_code: dict[str, list[Template]] = {}
        for template in spec.templates:
            by_code.setdefault(template.code, []).append(template)
        for code, sentence in zip(codes, sentences, strict=True):
            checked += 1
            assert code != UNCODED and CODE.fullmatch(code), (code, sentence)
            if code in ENGINE:
                engine_seen.add(code)
                assert re.match(SENTENCES[code], sentence), (code, sentence)
            else:
                assert _spec_code_owners(spec, code), (spec.id, code)
                assert any(_template_pattern(t).fullmatch(sentence) for t in by_code[code]), (code, sentence)
    case_codes = {code for case in CASES for _, codes in case["expect"] for code in codes}
    assert checked > 1000
    assert set(ENGINE) - engine_seen - case_codes == set()  # every documented engine code is written somewhere


def test_every_template_of_every_spec_has_a_code_and_no_two_rules_share_one() -> None:
    """Each place of a spec that writes a sentence (a category's explain, reason, minimum, maximum; a top-level
    check; a category's own check) has its own code, and every template the back end made carries one of them or
    an engine code."""
    from ceruleng.reasoncodes import category_code, check_code

    for folder in FOLDERS:
        for spec in load_specs([str(ROOT / folder)]).values():
            places: set[tuple[str, ...]] = set()
            for category in spec.model.categories:
                places.add((category.id, "explain"))
                places.update((category.id, kind) for kind in ("reason", "minimum", "maximum")
                              if getattr(category, kind) is not None)
                places.update((category.id, "check", check.id) for check in category.checks)
            places.update(("", "check", check.id) for check in spec.model.checks)
            codes = {place: check_code(place[2], place[0] or None) if place[1] == "check"
                     else category_code(place[0], place[1]) for place in places}
            assert len(set(codes.values())) == len(codes), spec.id
            for template in spec.templates:
                assert template.code in ENGINE or template.code in set(codes.values()), (spec.id, template.code)


def _eval(*arguments: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", *arguments], cwd=ROOT, input=stdin,
                          capture_output=True, check=False)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict[str, Any]) -> None:
    line = json.dumps(case["member"], default=str).encode() + b"\n"
    arguments = ("--rules", case["rules"], "-", "--as-of", str(case["as_of"]), "--format", "jsonl")
    codes = _eval(*arguments, "--reasons", "codes", stdin=line)
    text = _eval(*arguments, stdin=line)
    assert codes.returncode == text.returncode and codes.returncode in (0, 1), codes.stderr
    [credential] = json.loads(codes.stdout)["results"]
    got = [[activity["id"], activity["reasons"]] for activity in credential["activities"]]
    assert got == [[identifier, list(wanted)] for identifier, wanted in case["expect"]]
    [worded] = json.loads(text.stdout)["results"]
    for activity, sentences in zip(credential["activities"], worded["activities"], strict=True):
        for code, sentence in zip(activity["reasons"], sentences["reasons"], strict=True):
            assert code not in SENTENCES or re.match(SENTENCES[code], sentence), (code, sentence)


# ---- the options through the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled examples as one JSON Lines batch, a few times over (enough lines for two processes)."""
    from ceruleng.inputs import read_members

    lines = [json.dumps(item.document, default=str) for path in EXAMPLES for item in read_members(str(path))]
    path = tmp_path_factory.mktemp("codes") / "batch.jsonl"
    path.write_text("\n".join(lines * 5) + "\n", encoding="utf-8")
    return path


def _members(done: subprocess.CompletedProcess[bytes], fmt: str) -> list[dict[str, Any]]:
    assert done.returncode in (0, 1), done.stderr
    if fmt == "jsonl":
        return [json.loads(line) for line in done.stdout.splitlines()]
    document = json.loads(done.stdout)
    jsonschema.validate(document, RESULT_SCHEMA)
    members: list[dict[str, Any]] = document["members"]
    return members


def _activities(members: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for member in members:
        for credential in member["results"]:
            yield from credential["activities"]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("explain", [False, True], ids=["plain", "explain"])
def test_codes_stand_where_the_sentences_stand_and_nothing_else_changes(batch: Path, fmt: str,
                                                                         explain: bool) -> None:
    extra = ("--explain",) if explain else ()
    common = ("--rules", "rules", str(batch), "--as-of", "2025-06-01", "--format", fmt, *extra)
    text, codes = _eval(*common), _eval(*common, "--reasons", "codes")
    assert codes.stderr == text.stderr and codes.returncode == text.returncode
    worded, coded = _members(text, fmt), _members(codes, fmt)
    pairs = list(zip(_activities(worded), _activities(coded), strict=True))
    assert sum(len(a["reasons"]) for a, _ in pairs) > 100
    for sentences, names in pairs:
        assert len(names["reasons"]) == len(sentences["reasons"])
        assert all(CODE.fullmatch(code) for code in names["reasons"])
        assert {**names, "reasons": None} == {**sentences, "reasons": None}  # the trace too, with --explain
        assert ("trace" in names) == explain
    assert len(codes.stdout) < len(text.stdout)


def test_codes_and_every_category_on_two_processes_are_the_same_bytes(batch: Path) -> None:
    common = ("--rules", "rules", str(batch), "--as-of", "2025-06-01", "--format", "jsonl", "--reasons", "codes")
    for extra in ((), ("--categories", "all")):
        one, two = _eval(*common, *extra), _eval(*common, *extra, "--jobs", "2")
        assert two.returncode == one.returncode and two.stdout == one.stdout and one.stdout


def test_csv_carries_the_codes_beside_the_sentences(batch: Path) -> None:
    import csv
    import io

    common = ("--rules", "rules", str(batch), "--as-of", "2025-06-01")
    rows = list(csv.DictReader(io.StringIO(_eval(*common, "--format", "csv").stdout.decode())))
    coded = list(_activities(_members(_eval(*common, "--format", "jsonl", "--reasons", "codes"), "jsonl")))
    assert len(rows) == len(coded)
    assert [row["reason_codes"] for row in rows] == [" ".join(a["reasons"]) for a in coded]
    assert list(rows[0])[-1] == "reason_codes"


@pytest.mark.parametrize(("fmt", "option"), [("table", ("--reasons", "codes")), ("csv", ("--reasons", "codes")),
                                             ("html", ("--reasons", "codes")), ("parquet", ("--reasons", "codes")),
                                             ("csv", ("--categories", "all")), ("parquet", ("--categories", "all")),
                                             ("table", ("--categories", "all"))])
def test_formats_people_read_refuse_the_options(fmt: str, option: tuple[str, str], tmp_path: Path) -> None:
    done = _eval("--rules", "rules", "examples/pace-member.yaml", "--format", fmt, *option,
                 "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stdout == b""
    assert f"{option[0]} {option[1]} applies to --format json and jsonl".encode() in done.stderr
    assert b"Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_categories_lists_the_used_ones_and_all_lists_every_one(batch: Path) -> None:
    common = ("--rules", "rules", str(batch), "--as-of", "2025-06-01", "--format", "json")
    used, every = _members(_eval(*common), "json"), _members(_eval(*common, "--categories", "all"), "json")
    specs = load_specs([str(ROOT / "rules")])
    dropped = 0
    for member_used, member_every in zip(used, every, strict=True):
        for short, full in zip(member_used["results"], member_every["results"], strict=True):
            assert {**short, "categories": None} == {**full, "categories": None}
            spec = specs[full["spec"]]
            assert list(full["categories"]) == list(dict.fromkeys(c.id for c in spec.model.categories))  # every one
            touched = {activity["category"] for activity in full["activities"]}
            kept = {key: total for key, total in full["categories"].items()
                    if total["earned"].strip("0.") or total["cap"] is not None or key in touched}
            assert short["categories"] == kept
            assert list(short["categories"]) == [key for key in full["categories"] if key in kept]
            dropped += len(full["categories"]) - len(kept)
    assert dropped  # some credential of the bundled examples leaves categories out


def test_a_category_with_a_cap_is_listed_though_nothing_reached_it() -> None:
    member = {"member": "M", "credentials": [{"spec": "reason-codes", "certified_on": "2024-01-01"}],
              "activities": [{"id": "L1", "type": "lunch", "date": "2024-03-01", "minutes": 60},
                             {"id": "U1", "type": "seminar", "date": "2024-03-01"}]}
    done = _eval("--rules", "tests/reason_codes/engine.yaml", "-", "--as-of", "2024-06-01", "--format", "jsonl",
                 stdin=json.dumps(member).encode())
    [credential] = json.loads(done.stdout)["results"]
    # the rejected lunch touched its category; the webinars have a cap; nothing else is used
    assert credential["categories"] == {"webinar": {"title": "Webinars", "earned": "0.0", "cap": "3.0"},
                                        "lunch": {"title": "Lunch", "earned": "0.0", "cap": None}}


def test_a_credential_left_unscored_lists_no_category() -> None:
    member = {"member": "M", "credentials": [{"spec": "asap-pace"}],
              "activities": [{"id": "A1", "type": "webinar", "date": "2025-02-11", "minutes": 90}]}
    done = _eval("--rules", "rules", "-", "--as-of", "2025-06-01", "--format", "jsonl", "--reasons", "codes",
                 stdin=json.dumps(member).encode())
    assert done.returncode == 1
    [credential] = json.loads(done.stdout)["results"]
    assert credential["categories"] == {}
    assert credential["activities"][0]["reasons"] == ["credential-malformed"]


def test_a_sentence_a_python_caller_wrote_itself_is_uncoded_never_dropped() -> None:
    from ceruleng.scoring.results import ActivityResult

    activity = ActivityResult(0, "A1", "webinar", None, None, "rejected", ZERO, ["Written by hand."], [], 1)
    assert json.loads(activity.json_text("codes"))["reasons"] == [UNCODED]
    assert json.loads(activity.json_text())["reasons"] == ["Written by hand."]
