"""Result serialisation: the fast JSON text is exactly `json.dumps(to_json())`, and valid against the schema."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from ceruleng.engine import Evaluator, load_specs
from ceruleng.inputs import read_members
from ceruleng.schema import load_schema

ROOT = Path(__file__).parent.parent
SPECS = load_specs([str(ROOT / "rules")])
DOCUMENTS = [item for path in sorted((ROOT / "examples").glob("*.yaml")) for item in read_members(str(path))]


@pytest.mark.parametrize("explain", [False, True])
@pytest.mark.parametrize("item", DOCUMENTS, ids=[f"{Path(i.file).name}" for i in DOCUMENTS])
def test_json_text_is_exactly_json_dumps(item, explain: bool) -> None:  # type: ignore[no-untyped-def]
    result = Evaluator(SPECS, date(2025, 6, 1), explain=explain).member(item.document, item.file, item.line,
                                                                         item.problem)
    assert result.json_text() == json.dumps(result.to_json(), ensure_ascii=False)


def test_text_with_quotes_and_newlines_is_escaped() -> None:
    document = {"member": 'M "1"\n', "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
                "activities": [{"id": 'x"\\', "type": "weird\ttype", "date": "2024-01-01"}, "not a record"]}
    result = Evaluator(SPECS, date(2024, 6, 1)).member(document, "in\u00e9.jsonl", 3)
    text = result.json_text()
    assert text == json.dumps(result.to_json(), ensure_ascii=False)
    assert json.loads(text)["results"][0]["activities"][0]["id"] == 'x"\\'


def test_every_result_validates_against_the_published_schema() -> None:
    validator = jsonschema.Draft202012Validator(load_schema("result"))
    member_schema = {**load_schema("result")["$defs"]["member"], "$defs": load_schema("result")["$defs"]}
    members = jsonschema.Draft202012Validator(member_schema)
    for item in DOCUMENTS:
        result = Evaluator(SPECS, date(2025, 6, 1), explain=True).member(item.document, item.file)
        members.validate(json.loads(result.json_text()))
    assert validator.is_valid({"ceruleng": "0", "as_of": "2025-06-01", "members": [], "summary": {
        "members": 0, "activity_results": 0, "awarded": 0, "capped": 0, "rejected": 0, "pending": 0,
        "malformed": 0, "unreadable_members": 0}})
