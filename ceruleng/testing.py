"""Running the worked examples embedded in specs: `ceruleng test`, and the same cases under pytest.

Input: compiled specs (all of them, so an example may hold credentials of several specs). Output: one
`ExampleRun` per example, each with the failures found (where in the spec the wrong expectation is written,
expected, actual). An example is a small member log plus what it must produce; see `expected_result` in
schemas/spec.schema.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ceruleng.compiler import CompiledSpec
from ceruleng.compiler.examples import example_activities
from ceruleng.engine import Evaluator
from ceruleng.model import Example
from ceruleng.scoring.results import ActivityResult, CredentialResult, MemberResult
from ceruleng.source import Span
from ceruleng.values import DateReader, format_credits, parse_iso_date


@dataclass(frozen=True)
class Failure:
    span: Span
    message: str


@dataclass
class ExampleRun:
    spec: CompiledSpec
    example: Example
    failures: list[Failure] = field(default_factory=list)
    result: MemberResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def member_document(spec: CompiledSpec, example: Example) -> tuple[dict[str, Any], date]:
    """The member document an example describes, and the day to score it on."""
    data = example.data
    records = [record for _path, record in example_activities(example)]
    if "activity" in data and isinstance(records[0], dict) and "id" not in records[0]:
        records = [{**records[0], "id": "A1"}]
    reader = DateReader(spec.model.date_formats)
    dates = sorted(day for day in (_date(reader, r.get("date")) for r in records if isinstance(r, dict)) if day)
    if "credentials" in data:
        credentials = [{"spec": spec.id, **entry} for entry in data["credentials"]]
    else:
        first = dates[0].isoformat() if dates else "2000-01-01"
        credentials = [{"spec": spec.id, "certified_on": str(data.get("certified_on", first)),
                        **(data.get("credential") or {})}]
    as_of = parse_iso_date(str(data["as_of"])) if "as_of" in data else (dates[-1] if dates else date.today())
    return {"member": example.name, "credentials": credentials, "activities": records}, as_of


def _date(reader: DateReader, value: Any) -> date | None:
    try:
        return reader(str(value)) if value is not None else None
    except ValueError:
        return None


def run_examples(specs: Mapping[str, CompiledSpec], selected: list[CompiledSpec] | None = None) -> list[ExampleRun]:
    runs = []
    for spec in selected if selected is not None else list(specs.values()):
        for example in spec.model.examples:
            runs.append(run_example(specs, spec, example))
    return runs


def run_example(specs: Mapping[str, CompiledSpec], spec: CompiledSpec, example: Example) -> ExampleRun:
    document, as_of = member_document(spec, example)
    result = Evaluator(specs, as_of, explain=True, seed=0).member(document)
    run = ExampleRun(spec, example, result=result)
    expect = example.data["expect"]
    expectations = expect if isinstance(expect, list) else [expect]
    base = (*example.path, "expect")
    for number, expected in enumerate(expectations):
        path = (*base, number) if isinstance(expect, list) else base
        credential = _pick(result, spec, expected, number)
        if credential is None:
            run.failures.append(Failure(spec.model.document.span(path), "no result for the expected credential"))
            continue
        run.failures.extend(_compare(spec, example, credential, expected, path))
    return run


def _pick(result: MemberResult, spec: CompiledSpec, expected: dict[str, Any], number: int) -> CredentialResult | None:
    which = expected.get("credential")
    if isinstance(which, int):
        return result.credentials[which] if which < len(result.credentials) else None
    if isinstance(which, str):
        return next((c for c in result.credentials if c.name == which), None)
    own = [c for c in result.credentials if c.spec == spec.id]
    return own[number] if number < len(own) else (own[0] if own else None)


_ACTIVITY_KEYS = ("category", "status", "credits", "reason", "malformed")
_TOTAL_KEYS = ("required", "earned", "carried_in", "remaining")


def _compare(spec: CompiledSpec, example: Example, credential: CredentialResult, expected: dict[str, Any],
             path: tuple[Any, ...]) -> Iterator[Failure]:
    document = spec.model.document

    def fail(key_path: tuple[Any, ...], message: str) -> Failure:
        return Failure(document.span(key_path), message)

    yield from _compare_activities(credential, expected, path, fail)
    yield from _compare_totals(credential, expected, path, fail)
    yield from _compare_cycle(credential, expected, path, fail)
    yield from _compare_parts(credential, expected, path, fail)


def _compare_activities(credential: CredentialResult, expected: dict[str, Any], path: tuple[Any, ...],
                        fail: Any) -> Iterator[Failure]:
    if any(key in expected for key in _ACTIVITY_KEYS):
        if not credential.activities:
            yield fail(path, "the example has no activity result to compare")
        else:
            yield from _compare_activity(credential.activities[0], expected, path, fail, credential.places)
    for activity_id, wanted in (expected.get("activities") or {}).items():
        found = next((a for a in credential.activities if a.id == str(activity_id)), None)
        if found is None:
            yield fail((*path, "activities", activity_id), f"no activity with id '{activity_id}' in the result")
        else:
            yield from _compare_activity(found, wanted, (*path, "activities", activity_id), fail, credential.places)


def _compare_totals(credential: CredentialResult, expected: dict[str, Any], path: tuple[Any, ...],
                    fail: Any) -> Iterator[Failure]:
    for key in _TOTAL_KEYS:
        if key in expected:
            actual = getattr(credential, key)
            if not _same_number(expected[key], actual):
                yield fail((*path, key), f"{key}: expected {_shown(expected[key])}, got "
                           f"{_credits(actual, credential.places)}")
    for key in ("met", "met_by"):
        if key in expected and expected[key] != getattr(credential, key):
            yield fail((*path, key), f"{key}: expected {expected[key]}, got {getattr(credential, key)}")


def _compare_parts(credential: CredentialResult, expected: dict[str, Any], path: tuple[Any, ...],
                   fail: Any) -> Iterator[Failure]:
    """Categories, minimums, fee and audit."""
    categories = credential.categories
    for category, wanted in (expected.get("categories") or {}).items():
        total = categories.get(category)
        actual = total.earned if total else None
        if not _same_number(wanted, actual):
            yield fail((*path, "categories", category), f"category {category}: expected {_shown(wanted)}, got "
                       f"{_credits(actual, credential.places)}")
    for minimum_id, wanted in (expected.get("minimums") or {}).items():
        found = next((m for m in credential.minimums if m.id == minimum_id), None)
        if found is None or found.met != wanted:
            actual_met = found.met if found else "no such minimum"
            yield fail((*path, "minimums", minimum_id), f"minimum {minimum_id}: expected met={wanted}, got "
                       f"{actual_met}")
    if "fee" in expected and not _same_number(expected["fee"], credential.fee[0] if credential.fee else None):
        yield fail((*path, "fee"), f"fee: expected {_shown(expected['fee'])}, got {credential.fee}")
    if "audit_selected" in expected:
        actual_audit = credential.audit[1] if credential.audit else None
        if actual_audit != expected["audit_selected"]:
            yield fail((*path, "audit_selected"), f"audit_selected: expected {expected['audit_selected']}, got "
                       f"{actual_audit}")


def _compare_cycle(credential: CredentialResult, expected: dict[str, Any], path: tuple[Any, ...],
                   fail: Any) -> Iterator[Failure]:
    cycle = expected.get("cycle")
    if cycle:
        actual = {"start": credential.cycle[0].isoformat(), "end": credential.cycle[1].isoformat()} \
            if credential.cycle else None
        for key, value in cycle.items():
            if actual is None or actual[key] != str(value):
                yield fail((*path, "cycle", key), f"cycle {key}: expected {value}, got "
                           f"{actual[key] if actual else 'no cycle'}")
    if "deadline" in expected:
        actual_deadline = credential.deadline.isoformat() if credential.deadline else None
        if actual_deadline != str(expected["deadline"]):
            yield fail((*path, "deadline"), f"deadline: expected {expected['deadline']}, got {actual_deadline}")


def _compare_activity(activity: ActivityResult, wanted: dict[str, Any], path: tuple[Any, ...], fail: Any,
                      places: int) -> Iterator[Failure]:
    reasons = " ".join(activity.reasons)
    context = f" (status {activity.status}, {_credits(activity.credits, places)}; reasons: {reasons or '-'})"
    for key in ("category", "status", "malformed"):
        if key in wanted and wanted[key] != getattr(activity, key):
            yield fail((*path, key), f"{key}: expected {wanted[key]}, got {getattr(activity, key)}{context}")
    if "credits" in wanted and not _same_number(wanted["credits"], activity.credits):
        yield fail((*path, "credits"), f"credits: expected {_shown(wanted['credits'])}, got "
                   f"{_credits(activity.credits, places)}{context}")
    if "reason" in wanted and str(wanted["reason"]) not in reasons:
        yield fail((*path, "reason"), f"reason: expected text containing {wanted['reason']!r}, got {reasons!r}")


def _same_number(expected: Any, actual: Decimal | None) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    try:
        return Decimal(str(expected)) == actual
    except InvalidOperation:
        return False


def _shown(value: Any) -> str:
    return str(value)


def _credits(value: Decimal | None, places: int) -> str:
    return "none" if value is None else format_credits(value, places)


def select(specs: Mapping[str, CompiledSpec], patterns: Sequence[str]) -> tuple[list[ExampleRun], int]:
    """The examples whose name or `SPEC::NAME` contains one of `patterns` (case-insensitive; all when none), run;
    and how many were left out."""
    wanted = [pattern.casefold() for pattern in patterns]
    chosen, left_out = [], 0
    for spec in specs.values():
        for example in spec.model.examples:
            label = f"{spec.id}::{example.name}".casefold()
            if wanted and not any(pattern in label for pattern in wanted):
                left_out += 1
                continue
            chosen.append(run_example(specs, spec, example))
    return chosen, left_out


_XML_UNSAFE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Text XML 1.0 can hold: characters it cannot (control characters, lone surrogates, U+FFFE/U+FFFF) written
    as visible escapes (`\\u0001`), so the report stays well-formed and still shows what the name held."""
    return _XML_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def printable(text: str) -> str:
    """Text safe to print: lone surrogates (which no terminal encoding holds) as visible escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def junit_xml(runs: list[ExampleRun]) -> str:
    """A JUnit XML report (one test suite per spec), for CI systems; well-formed whatever the names hold."""
    from xml.sax.saxutils import escape, quoteattr

    def attribute(text: str) -> str:
        return quoteattr(xml_safe(text))

    suites: dict[str, list[ExampleRun]] = {}
    for run in runs:
        suites.setdefault(run.spec.model.path, []).append(run)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for path, items in suites.items():
        failed = sum(1 for run in items if not run.passed)
        parts.append(f"  <testsuite name={attribute(path)} tests=\"{len(items)}\" failures=\"{failed}\">")
        for run in items:
            name = attribute(run.example.name)
            if run.passed:
                parts.append(f"    <testcase classname={attribute(run.spec.id)} name={name}/>")
                continue
            parts.append(f"    <testcase classname={attribute(run.spec.id)} name={name}>")
            message = escape(xml_safe("; ".join(f"{f.span}: {f.message}" for f in run.failures)))
            parts.append(f"      <failure message={attribute(run.failures[0].message)}>{message}</failure>")
            parts.append("    </testcase>")
        parts.append("  </testsuite>")
    parts.append("</testsuites>")
    return "\n".join(parts) + "\n"


def json_report(runs: list[ExampleRun], left_out: int, version: str) -> str:
    """The runs for tools: every example with where it is written, whether it passed, and each failure."""
    examples = [{
        "spec": run.spec.id,
        "path": run.spec.model.path,
        "name": run.example.name,
        "line": run.example.span.line,
        "passed": run.passed,
        "failures": [{"path": f.span.path, "line": f.span.line, "column": f.span.column, "message": f.message}
                     for f in run.failures],
    } for run in runs]
    failed = sum(1 for run in runs if not run.passed)
    document = {"ceruleng": version, "examples": examples,
                "summary": {"passed": len(runs) - failed, "failed": failed, "deselected": left_out}}
    return printable(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
