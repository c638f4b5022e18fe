"""Activity records: the compiled checker is at least as strict as schemas/activities.schema.json, and says why."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from ceruleng.engine import load_spec
from ceruleng.schema import load_schema

SPEC = load_spec("rules/asap-pace.yaml")
VALID = {"id": "A1", "type": "webinar", "date": "2025-02-11", "minutes": 90}

RECORDS: list[tuple[dict[str, Any] | Any, str | None]] = [
    (VALID, None),
    ({**VALID, "minutes": "90"}, None),
    ({**VALID, "minutes": Decimal("90.5")}, None),
    ({**VALID, "id": 7}, None),
    ({**VALID, "segments": [{"kind": "talk", "minutes": 60}, {"kind": "break", "minutes": 30}]}, None),
    ({k: v for k, v in VALID.items() if k != "id"}, "id: missing"),
    ({k: v for k, v in VALID.items() if k != "type"}, "type: missing"),
    ({k: v for k, v in VALID.items() if k != "date"}, "date: missing"),
    ({**VALID, "minutes": "ninety"}, "minutes: must be a number"),
    ({**VALID, "minutes": -5}, "minutes: must not be negative"),
    ({**VALID, "minutes": [90]}, "minutes: must be a number"),
    ({**VALID, "minutes": True}, "minutes: must be a number"),
    ({**VALID, "minutes": 90.5}, "minutes: must be a number, got the binary float 90.5 (pass a Decimal"),
    ({**VALID, "minutes": float("inf")}, "minutes: must be a number, got the binary float inf"),
    ({**VALID, "segments": [{"kind": "talk", "minutes": 60.0}]}, "segments: item 1 minutes: must be a number, got the "
     "binary float 60.0"),
    ({**VALID, "date": "2025-02-30"}, "not a real calendar date"),
    ({**VALID, "date": 20250211}, "date: must be a date"),
    ({**VALID, "type": ""}, "type: must not be empty"),
    ({**VALID, "type": ["webinar"]}, "type: must be text"),
    ({**VALID, "segments": "keynote"}, "segments: must be a list"),
    ({**VALID, "segments": [{"minutes": 30}]}, "segments: item 1 needs a kind"),
    ({**VALID, "segments": [{"kind": "x"}]}, "segments: item 1 needs minutes"),
    ({**VALID, "segments": [{"kind": "x", "minutes": 30}]}, "does not match the segments"),
    ({**VALID, "grade": "Q"}, "grade: 'Q' is not on the letter_grade scale"),
    ({**VALID, "length": "quarter-day"}, "length: 'quarter-day' is not one of half-day, full-day"),
    ("not a mapping", "must be a mapping"),
]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize(("record", "problem"), RECORDS, ids=[str(p) for _, p in RECORDS])
def test_record_problems_name_the_field(record: Any, problem: str | None) -> None:
    assert SPEC.coerce is not None
    typed, problems = SPEC.coerce(record)
    if problem is None:
        assert problems == [] and typed is not None
        assert all(not isinstance(v, float) for v in typed.values())
    else:
        assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(("record", "problem"), RECORDS, ids=[str(p) for _, p in RECORDS])
def test_what_the_schema_refuses_the_checker_refuses_too(record: Any, problem: str | None) -> None:
    schema = load_schema("activities")
    validator = jsonschema.Draft202012Validator({**schema["$defs"]["activity"], "$defs": schema["$defs"]})
    assert SPEC.coerce is not None
    schema_ok = validator.is_valid(_jsonable(record) if isinstance(record, dict) else record)
    _, problems = SPEC.coerce(record)
    if not schema_ok:
        assert problems, "the schema refuses this record but the checker accepts it"


def test_segments_give_minutes_when_minutes_are_absent() -> None:
    assert SPEC.coerce is not None
    typed, problems = SPEC.coerce({"id": "A", "type": "training", "date": "2025-01-01",
                                   "segments": [{"kind": "a", "minutes": 30}, {"kind": "b", "minutes": "45"}]})
    assert not problems and typed is not None and typed["minutes"] == Decimal(75)


def test_an_activity_for_another_spec_is_an_unknown_type_not_malformed() -> None:
    """One log serves several specs: this spec's own attributes are checked only on its own activity types."""
    assert SPEC.coerce is not None
    foreign = {"id": "X1", "type": "cpr-aed", "date": "2025-03-01", "grade": "Pass", "length": "an hour"}
    typed, problems = SPEC.coerce(foreign)
    assert problems == [] and typed is not None and typed["date"].isoformat() == "2025-03-01"
    typed, problems = SPEC.coerce({**foreign, "date": "2025-02-30"})
    assert any("not a real calendar date" in p for p in problems)
    _, problems = SPEC.coerce({**foreign, "type": "college-course"})
    assert any("grade: 'Pass' is not on the letter_grade scale" in p for p in problems)


def test_a_day_seen_before_reads_the_same_and_a_bad_one_is_refused_every_time() -> None:
    """The checker remembers ISO days it has read (a batch repeats them); what it has not read, and what is not a
    day, still go through the full check, however often they come."""
    assert SPEC.coerce is not None
    for _ in range(3):
        typed, problems = SPEC.coerce({**VALID, "date": "2025-02-11"})
        assert problems == [] and typed is not None and typed["date"].isoformat() == "2025-02-11"
        _, problems = SPEC.coerce({**VALID, "date": "2025-02-30"})
        assert any("not a real calendar date" in p for p in problems), problems
        _, problems = SPEC.coerce({**VALID, "date": ["2025-02-11"]})  # unhashable: never looked up
        assert any("date: must be a date" in p for p in problems), problems
        typed, problems = SPEC.coerce({**VALID, "date": "2025-W07-2"})  # ISO week date: not this format
        assert problems, typed
