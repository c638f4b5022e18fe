"""Running the worked examples embedded in specs: `ceruleng test`, and the same cases under pytest.

Input: compiled specs (all of them, so an example may hold credentials of several specs). Output: one
`ExampleRun` per example, each with the failures found (where in the spec the wrong expectation is written,
expected, actual). An example is a small member log plus what it must produce; see `expected_result` in
schemas/spec.schema.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ceruleng.compiled import CompiledSpec
from ceruleng.engine import Evaluator
from ceruleng.model import Example, Expectation
from ceruleng.scoring.periods import PERIOD_CHOICES
from ceruleng.scoring.results import ActivityResult, CredentialResult, MemberResult
from ceruleng.source import Span
from ceruleng.values import DateReader, at_precision, format_credits, parse_iso_date


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
    records = [record.record for record in example.records]
    reader = DateReader(spec.model.date_formats)
    dates = sorted(day for day in (_date(reader, r.get("date")) for r in records if isinstance(r, dict)) if day)
    if example.credentials is not None:
        credentials = [{"spec": spec.id, **entry} for entry in example.credentials]
    else:
        first = dates[0].isoformat() if dates else "2000-01-01"
        credentials = [{"spec": spec.id, "certified_on": example.certified_on or first, **example.credential}]
    as_of = parse_iso_date(example.as_of) if example.as_of is not None else (dates[-1] if dates else date.today())
    return {"member": example.name, "credentials": credentials, "activities": records}, as_of


def example_period(example: Example) -> str | date:
    """The period an example's result is about (`period:`, read as `eval --period` reads its value)."""
    if example.period is None or example.period in PERIOD_CHOICES:
        return example.period or "due"
    return parse_iso_date(example.period)


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
    result = Evaluator(specs, as_of, explain=True, seed=0, period=example_period(example)).member(document)
    run = ExampleRun(spec, example, result=result)
    for number, expected in enumerate(example.expectations):
        credential = _pick(result, spec, expected, number)
        if credential is None:
            run.failures.append(Failure(spec.model.document.span(expected.path),
                                        "no result for the expected credential"))
            continue
        run.failures.extend(_compare(spec, credential, expected))
    return run


def _pick(result: MemberResult, spec: CompiledSpec, expected: Expectation, number: int) -> CredentialResult | None:
    which = expected.credential
    if isinstance(which, int):
        return result.credentials[which] if which < len(result.credentials) else None
    if isinstance(which, str):
        return next((c for c in result.credentials if c.name == which), None)
    own = [c for c in result.credentials if c.spec == spec.id]
    return own[number] if number < len(own) else (own[0] if own else None)


Fail = Callable[[tuple[Any, ...], str], Failure]


def _compare(spec: CompiledSpec, credential: CredentialResult, expected: Expectation) -> Iterator[Failure]:
    document = spec.model.document

    unscored = f" (the credential was not scored: {credential.error})" if credential.error else ""

    def fail(key_path: tuple[Any, ...], message: str) -> Failure:
        return Failure(document.span(key_path), message + unscored)  # else "got 0.0" would hide why

    path = expected.path
    yield from _compare_activities(credential, expected, fail)
    yield from _compare_totals(credential, expected.totals, path, fail)
    yield from _compare_cycle(credential, expected, fail)
    yield from _compare_parts(credential, expected, fail)
    yield from _compare_minimums(credential, expected, fail)
    yield from _compare_limits(credential, expected, fail)
    yield from _compare_conditions(credential, expected, fail)


def _compare_activities(credential: CredentialResult, expected: Expectation, fail: Fail) -> Iterator[Failure]:
    path = expected.path
    if expected.activity:
        if not credential.activities:
            yield fail(path, "the example has no activity result to compare")
        else:
            yield from _compare_activity(credential.activities[0], expected.activity, path, fail, credential.places)
    for activity_id, wanted in expected.activities.items():
        found = next((a for a in credential.activities if a.id == activity_id), None)
        if found is None:
            yield fail((*path, "activities", activity_id), f"no activity with id '{activity_id}' in the result")
        else:
            yield from _compare_activity(found, wanted, (*path, "activities", activity_id), fail, credential.places)


_NUMBER_TOTALS = ("required", "earned", "carried_in", "remaining")


def _compare_totals(credential: CredentialResult, totals: dict[str, Any], path: tuple[Any, ...],
                    fail: Fail) -> Iterator[Failure]:
    for key in _NUMBER_TOTALS:
        if key in totals:
            actual = getattr(credential, key)
            if not _same_number(totals[key], actual, credential.places):
                yield fail((*path, key), f"{key}: expected {_shown(totals[key])}, got "
                           f"{_credits(actual, credential.places)}")
    for key in ("met", "met_by"):
        if key in totals and totals[key] != getattr(credential, key):
            yield fail((*path, key), f"{key}: expected {totals[key]}, got {getattr(credential, key)}")
    if "fee" in totals and not _same_number(totals["fee"], credential.fee[0] if credential.fee else None, 12):
        yield fail((*path, "fee"), f"fee: expected {_shown(totals['fee'])}, got {credential.fee}")
    if "audit_selected" in totals:
        actual_audit = credential.audit[1] if credential.audit else None
        if actual_audit != totals["audit_selected"]:
            yield fail((*path, "audit_selected"), f"audit_selected: expected {totals['audit_selected']}, got "
                       f"{actual_audit}")


def _compare_parts(credential: CredentialResult, expected: Expectation, fail: Fail) -> Iterator[Failure]:
    """Categories and minimums."""
    path = expected.path
    categories = credential.categories
    for category, wanted in expected.categories.items():
        total = categories.get(category)
        actual = total.earned if total else None
        if not _same_number(wanted, actual, credential.places):
            yield fail((*path, "categories", category), f"category {category}: expected {_shown(wanted)}, got "
                       f"{_credits(actual, credential.places)}")
    for minimum_id, wanted_parts in expected.minimum_parts.items():
        found_minimum = next((m for m in credential.minimums if m.id == minimum_id), None)
        got_parts = found_minimum.parts if found_minimum else []
        where = (*path, "minimum_parts", minimum_id)
        if len(got_parts) != len(wanted_parts):
            yield fail(where, f"minimum {minimum_id}: expected {len(wanted_parts)} parts, got {len(got_parts)}")
            continue
        for number, (wanted_part, part) in enumerate(zip(wanted_parts, got_parts, strict=True)):
            actual_part = {"start": part.start.isoformat(), "end": part.end.isoformat(), "met": part.met}
            for key, value in wanted_part.items():
                if key == "counted":
                    if not _same_number(value, part.counted, credential.places):
                        yield fail((*where, number, key), f"minimum {minimum_id} part {number + 1}: counted "
                                   f"expected {_shown(value)}, got {_credits(part.counted, credential.places)}")
                elif str(actual_part[key]) != str(value) and actual_part[key] != value:
                    yield fail((*where, number, key), f"minimum {minimum_id} part {number + 1}: {key} expected "
                               f"{value}, got {actual_part[key]}")



def _compare_minimums(credential: CredentialResult, expected: Expectation, fail: Fail) -> Iterator[Failure]:
    """Each named minimum: met, or {met, counted, entries}."""
    path = expected.path
    for minimum_id, wanted in expected.minimums.items():
        found = next((m for m in credential.minimums if m.id == minimum_id), None)
        where = (*path, "minimums", minimum_id)
        wanted_met = wanted.get("met") if isinstance(wanted, dict) else wanted
        if found is None or (wanted_met is not None and found.met != wanted_met):
            actual_met = found.met if found else "no such minimum"
            yield fail(where, f"minimum {minimum_id}: expected met={wanted_met}, got {actual_met}")
            continue
        if not isinstance(wanted, dict):
            continue
        if "counted" in wanted and not _same_number(wanted["counted"], found.counted, credential.places):
            yield fail((*where, "counted"), f"minimum {minimum_id}: counted expected {_shown(wanted['counted'])}, "
                       f"got {_credits(found.counted, credential.places)}")
        if "entries" in wanted:
            yield from _compare_entries(f"minimum {minimum_id}", wanted["entries"], found.entries, where, fail)


def _compare_entries(what: str, wanted: Sequence[Any], entries: Sequence[Any], where: tuple[Any, ...],
                     fail: Fail) -> Iterator[Failure]:
    """The activities behind a minimum or a limit, by id in date order."""
    got_ids = [entry.activity for entry in entries]
    if [str(item) for item in wanted] != got_ids:
        wanted_ids = ", ".join(map(str, wanted)) or "none"
        yield fail((*where, "entries"), f"{what}: entries expected {wanted_ids}, got {', '.join(got_ids) or 'none'}")


def _compare_conditions(credential: CredentialResult, expected: Expectation, fail: Fail) -> Iterator[Failure]:
    """Each named condition: met or not."""
    for condition_id, wanted in expected.conditions.items():
        found = next((c for c in credential.conditions if c.id == condition_id), None)
        if found is None or found.met != wanted:
            actual = found.met if found else "no such condition"
            yield fail((*expected.path, "conditions", condition_id),
                       f"condition {condition_id}: expected met={wanted}, got {actual}")


def _compare_limits(credential: CredentialResult, expected: Expectation, fail: Fail) -> Iterator[Failure]:
    """Each named limit: what it let count, what it cut, the activities behind it."""
    path = expected.path
    for limit_id, wanted_limit in expected.limits.items():
        found_limit = next((limit for limit in credential.limits if limit.id == limit_id), None)
        where = (*path, "limits", limit_id)
        if found_limit is None:
            yield fail(where, f"limit {limit_id}: not in force for the period (limits: "
                       f"{', '.join(limit.id for limit in credential.limits) or 'none'})")
            continue
        for key in ("counted", "cut"):
            if key in wanted_limit and not _same_number(wanted_limit[key], getattr(found_limit, key),
                                                         credential.places):
                yield fail((*where, key), f"limit {limit_id}: {key} expected {_shown(wanted_limit[key])}, got "
                           f"{_credits(getattr(found_limit, key), credential.places)}")
        if "entries" in wanted_limit:
            yield from _compare_entries(f"limit {limit_id}", wanted_limit["entries"], found_limit.entries, where,
                                        fail)


def _compare_cycle(credential: CredentialResult, expected: Expectation, fail: Fail) -> Iterator[Failure]:
    path = expected.path
    if expected.cycle:
        actual = {"start": credential.cycle[0].isoformat(), "end": credential.cycle[1].isoformat()} \
            if credential.cycle else None
        for key, value in expected.cycle.items():
            if actual is None or actual[key] != str(value):
                yield fail((*path, "cycle", key), f"cycle {key}: expected {value}, got "
                           f"{actual[key] if actual else 'no cycle'}")
    actual_period = credential.period
    for key, value in expected.period.items():
        got = getattr(actual_period, key, None) if actual_period is not None else None
        shown = got.isoformat() if isinstance(got, date) else got
        if str(shown) != str(value):
            yield fail((*path, "period", key), f"period {key}: expected {value}, got {shown}")
    window = credential.window or credential.cycle
    for key, value in expected.requirement_window.items():
        got_day = window[0 if key == "start" else 1].isoformat() if window else None
        if got_day != str(value):
            yield fail((*path, "requirement_window", key), f"requirement window {key}: expected {value}, got "
                       f"{got_day}")
    if "deadline" in expected.totals:
        wanted = expected.totals["deadline"]
        actual_deadline = credential.deadline.isoformat() if credential.deadline else None
        if actual_deadline != str(wanted):
            yield fail((*path, "deadline"), f"deadline: expected {wanted}, got {actual_deadline}")


def _compare_activity(activity: ActivityResult, wanted: dict[str, Any], path: tuple[Any, ...], fail: Fail,
                      places: int) -> Iterator[Failure]:
    reasons = " ".join(activity.reasons)
    context = f" (status {activity.status}, {_credits(activity.credits, places)}; reasons: {reasons or '-'})"
    for key in ("category", "status", "malformed"):
        if key in wanted and wanted[key] != getattr(activity, key):
            yield fail((*path, key), f"{key}: expected {wanted[key]}, got {getattr(activity, key)}{context}")
    if "credits" in wanted and not _same_number(wanted["credits"], activity.credits, places):
        yield fail((*path, "credits"), f"credits: expected {_shown(wanted['credits'])}, got "
                   f"{_credits(activity.credits, places)}{context}")
    if "reason" in wanted and str(wanted["reason"]) not in reasons:
        yield fail((*path, "reason"), f"reason: expected text containing {wanted['reason']!r}, got {reasons!r}")


def _same_number(expected: Any, actual: Decimal | None, places: int) -> bool:
    """Whether an expected amount is the one the report shows (at the spec's precision, as totals are judged)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    try:
        return Decimal(str(expected)) == at_precision(actual, places)
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
