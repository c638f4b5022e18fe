"""Stage 4, evaluate: one credential's activities → a `CredentialResult`, using a `CompiledSpec`'s functions.

Input: a compiled spec, a member id, the credential (certified_on and its attributes), the member's raw activity
records and the as-of date. Output: one `ActivityResult` for every input record, in input order, and the cycle's
totals: caps applied in date order (then id), requirement, minimums, alternatives, carry-over, fee and audit.

Per activity: check and type the record (malformed → rejected, naming the field), keep it only if it falls in the
current cycle, route it by type to the first category whose `when` holds, pick the category version in force on
its date, and call the generated function. Nothing here interprets an expression: rules are already Python.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ceruleng.compiler import CompiledCategory, CompiledSpec
from ceruleng.errors import did_you_mean
from ceruleng.runtime import Missing, NotInForce
from ceruleng.scoring.results import ActivityResult, CategoryTitles, CredentialResult, MinimumResult, Reason, TraceLine
from ceruleng.values import ZERO, ValueProblem, add_months, format_credits, format_number, parse_iso_date

Outcome = tuple[str | None, str, Decimal, Sequence[Reason], list[TraceLine] | None]
"""(category, status, credits, reasons, trace) for one activity."""

_COMPUTE_ERRORS = (ArithmeticError, ValueProblem, OverflowError)


class Credential:
    """A credential as the scorer needs it: typed, with its context for generated code."""

    __slots__ = ("attributes", "certified_on", "name", "problems")

    def __init__(self, certified_on: date | None, attributes: dict[str, Any], name: str | None,
                 problems: list[str]) -> None:
        self.certified_on = certified_on
        self.attributes = attributes
        self.name = name
        self.problems = problems


def read_credential(spec: CompiledSpec, raw: dict[str, Any]) -> Credential:
    """Type a credential entry: certified_on (YYYY-MM-DD) and the attributes the spec declares."""
    problems: list[str] = []
    certified_on = None
    text = raw.get("certified_on")
    if not isinstance(text, str):
        problems.append("certified_on: missing (required), the date the credential was achieved (YYYY-MM-DD)"
                        if text is None else f"certified_on: must be a date written YYYY-MM-DD, got {text!r}")
    else:
        try:
            certified_on = parse_iso_date(text.strip())
        except ValueError as exc:
            problems.append(f"certified_on: {exc}")
    declared = spec.model.credential_attributes
    attributes: dict[str, Any] = {}
    if declared:
        assert spec.coerce_credential is not None
        typed, more = spec.coerce_credential(raw)
        problems.extend(more)
        attributes = {name: value for name, value in (typed or {}).items() if name in declared}
    name = raw.get("name")
    return Credential(certified_on, attributes, str(name) if name is not None else None, problems)


def cycle_containing(spec: CompiledSpec, certified_on: date, day: date) -> tuple[int, date, date]:
    """(index, start, end) of the cycle containing `day`; cycles count from certified_on (index 0)."""
    assert spec.model.cycle is not None
    months = spec.model.cycle.months
    if day < certified_on:
        index = 0
    else:
        index = ((day.year - certified_on.year) * 12 + day.month - certified_on.month) // months
        while index > 0 and add_months(certified_on, index * months) > day:
            index -= 1
        while add_months(certified_on, (index + 1) * months) <= day:
            index += 1
    start = add_months(certified_on, index * months)
    end = add_months(certified_on, (index + 1) * months) - timedelta(days=1)
    return index, start, end


class Scorer:
    """Scores activities against one spec; holds nothing per member, so one Scorer serves a whole batch."""

    def __init__(self, spec: CompiledSpec, explain: bool = False) -> None:
        self.spec = spec
        self.explain = explain
        self.model = spec.model
        self.places = spec.model.places
        self.templates = spec.templates
        self.fast_routes = {
            type_name: tuple((category, category.when, _single_version(category)) for category in categories)
            for type_name, categories in spec.routes.items()
        }
        """Per activity type: (category, its `when`, its scoring function when it has one undated version)."""
        self._cycles: dict[tuple[date, date], tuple[int, date, date]] = {}
        rate = spec.model.audit_rate
        self.audit_threshold = int(rate * 2**64) if rate is not None else 0
        """Draws below this select a member for audit (see `audit_selected`)."""
        self.titles = CategoryTitles({key: category.title for key, category in spec.categories.items()})
        self.caps = [(key, category.cap) for key, category in spec.categories.items() if category.cap]

    def cycle(self, certified_on: date, as_of: date) -> tuple[int, date, date]:
        """The cycle containing `as_of`, remembered: many members of a batch share certification dates."""
        key = (certified_on, as_of)
        found = self._cycles.get(key)
        if found is None:
            if len(self._cycles) > 10_000:
                self._cycles.clear()
            found = self._cycles[key] = cycle_containing(self.spec, certified_on, as_of)
        return found

    # ---- one activity --------------------------------------------------------------------------------------------

    def route(self, activity: dict[str, Any], context: dict[str, Any]) -> Outcome:
        type_name = activity["type"]
        routes = self.spec.routes.get(type_name)
        trace: list[TraceLine] | None = [] if self.explain else None
        if routes is None:
            hint = did_you_mean(type_name, self.model.activity_types)
            return (None, "rejected", ZERO,
                    [f"'{type_name}' is not an activity type {self.model.title} recognises"
                     + (f" ({hint})" if hint else "") + "."], trace)
        for category in routes:
            if category.when is not None:
                try:
                    matched = category.when(activity, context)
                except Missing:
                    matched = False
                except _COMPUTE_ERRORS as exc:
                    return (category.id, "rejected", ZERO, [f"Could not decide the category: {exc}."], trace)
                if trace is not None:
                    trace.append(TraceLine(f"when of {category.id}", self.model_span(category), str(matched)))
                if not matched:
                    continue
            return self.score(category, activity, context, trace)
        return (None, "rejected", ZERO, [f"No category of {self.model.title} accepts this {type_name} "
                                        "(none of their conditions holds)."], trace)

    def model_span(self, category: CompiledCategory) -> Any:
        return category.span

    def score(self, category: CompiledCategory, activity: dict[str, Any], context: dict[str, Any],
              trace: list[TraceLine] | None) -> Outcome:
        day = activity["date"]
        chosen = None
        for effective, fast, traced in category.versions:
            if effective.covers(day):
                chosen = (fast, traced)
                break
        if chosen is None:
            return (category.id, "rejected", ZERO,
                    [f"No version of the rules for {category.title} is in force on {day.isoformat()}."], trace)
        try:
            if trace is None:
                status, credits, reasons = chosen[0](activity, context)
            else:
                steps: list[tuple[int, Any]] = []
                try:
                    status, credits, reasons = chosen[1](activity, context, steps)
                finally:
                    trace.extend(self.trace_lines(steps))
        except Missing as missing:
            return (category.id, "rejected", ZERO, [self.missing_reason(missing, category)], trace)
        except NotInForce as exc:
            return (category.id, "rejected", ZERO, [f"{str(exc)[0].upper()}{str(exc)[1:]}."], trace)
        except _COMPUTE_ERRORS as exc:
            return (category.id, "rejected", ZERO, [self.compute_reason(exc, category, activity, context)], trace)
        if credits < ZERO:
            return (category.id, "rejected", ZERO,
                    [f"The credit formula gave a negative amount ({format_number(credits)})."], trace)
        return (category.id, status, credits, reasons, trace)

    def missing_reason(self, missing: Missing, category: CompiledCategory) -> str:
        if missing.kind == "table row":
            return f"No entry for {missing.what} in the {category.title} rules."
        attribute = self.spec.attributes.get(missing.what) or self.model.credential_attributes.get(missing.what)
        described = f" ({attribute.description})" if attribute and attribute.description != missing.what else ""
        return f"The activity has no {missing.what}{described}, which the rules for {category.title} need."

    def compute_reason(self, exc: Exception, category: CompiledCategory, activity: dict[str, Any],
                       context: dict[str, Any]) -> str:
        """Say what failed and where: re-run the traced variant to find the last rule reached."""
        where = ""
        steps: list[tuple[int, Any]] = []
        for effective, _fast, traced in category.versions:
            if effective.covers(activity["date"]):
                with contextlib.suppress(Exception):  # the same failure again: only the steps reached matter
                    traced(activity, context, steps)
        if steps:
            last = self.spec.steps[steps[-1][0]]
            following = [s for s in self.spec.steps if s.span.line > last.span.line]
            step = following[0] if following else last
            where = f" at {step.label} ({step.span})"
        problem = {"DivisionByZero": "division by zero", "DivisionUndefined": "division by zero",
                   "Overflow": "a number too large", "InvalidOperation": "an invalid operation"}.get(
            type(exc).__name__, str(exc))
        return f"Could not compute the credit{where}: {problem}."

    def trace_lines(self, steps: Sequence[tuple[int, Any]]) -> list[TraceLine]:
        lines = []
        for index, value in steps:
            step = self.spec.steps[index]
            shown = format_number(value) if isinstance(value, Decimal) else (
                ("passed" if value else "failed") if step.kind == "check" else str(value))
            lines.append(TraceLine(f"{step.kind} {step.label}" if step.kind != step.label else step.label,
                                   step.span, shown))
        return lines

    # ---- one credential ------------------------------------------------------------------------------------------

    def credential_result(self, member: str | None, credential: Credential, records: Sequence[Any],
                          as_of: date, seed: int = 0) -> CredentialResult:
        """Every record of the member scored for this credential, in input order, then the cycle's totals."""
        model = self.model
        result = CredentialResult(model.id, model.title, model.unit_name, self.places, member, credential.name,
                                  credential.certified_on)
        certified_on = credential.certified_on
        if credential.problems or certified_on is None:
            result.error = "; ".join(credential.problems)
            result.activities = [self.rejected_record(i, r, [f"The credential is malformed: {result.error}."],
                                                      malformed=True) for i, r in enumerate(records)]
            return result
        context: dict[str, Any] = {**credential.attributes, "certified_on": certified_on}
        index, start, end = 0, None, None
        if model.cycle is not None:
            try:
                index, start, end = self.cycle(certified_on, as_of)
                context["cycle_start"], context["cycle_end"] = start, end
                result.cycle = (start, end)
                result.deadline = self.spec.deadline(context) if self.spec.deadline else end + timedelta(days=1)
            except (Missing, *_COMPUTE_ERRORS):
                # Only near the end of the calendar (year 9999): the cycle's end or deadline cannot be a date.
                result.cycle = result.deadline = None
                result.error = (f"the cycle containing {as_of.isoformat()} for a credential certified on "
                                f"{certified_on.isoformat()} ends after the last date the calendar holds")
                reason = f"Not scored: {result.error}."
                result.activities = [self.rejected_record(i, r, [reason], malformed=True)
                                     for i, r in enumerate(records)]
                return result
        carries = self.spec.carry_max is not None and not self.spec.carry_none
        typed: list[dict[str, Any]] | None = [] if carries and index > 0 else None
        before: list[ActivityResult] = []
        result.activities = self.score_records(records, context, start, end, typed, before)
        if typed:
            carried, scored_earlier = self.carry_in(credential, typed, index, context)
            result.carried_in = carried
            if scored_earlier:
                for activity in before:
                    activity.raw_reasons = [*activity.raw_reasons, "It counted toward an earlier cycle, whose "
                                            "surplus carries over as the spec allows."]
        self.totals(result, context)
        if start is not None:
            self.fee_and_audit(result, member, start, seed)
        return result

    def score_records(self, records: Sequence[Any], context: dict[str, Any], start: date | None,
                      end: date | None, typed: list[dict[str, Any]] | None,
                      before: list[ActivityResult]) -> list[ActivityResult]:
        """One pass over the records: check and type each, keep it in the cycle window, score it.

        `typed` collects the typed records (for carry-over), `before` the results of records dated before the
        cycle. Ids must be unique: a repeated id makes the later record malformed.
        """
        coerce = self.spec.coerce
        assert coerce is not None
        activities: list[ActivityResult] = []
        append = activities.append
        seen: dict[Any, int] = {}
        dispatchers = None if self.explain else self.spec.dispatchers
        ids = [category.id for category in self.spec.by_number]
        templates, places = self.templates, self.places
        for position, record in enumerate(records):
            item, problems = coerce(record)
            if item is not None:
                identifier = item["id"]
                first = seen.setdefault(identifier, position) if identifier is not None else position
                if first != position:
                    problems = [*problems, f"id: '{identifier}' is used by an earlier activity "
                                f"(position {first + 1}); ids must be unique"]
            if problems or item is None:
                append(self.rejected_record(position, record, [f"Malformed: {problem}." for problem in problems],
                                            malformed=True, typed=item))
                continue
            if typed is not None:
                typed.append(item)
            day = item["date"]
            if start is not None and end is not None and not start <= day <= end:
                outside = self.outside(position, record, item, start, end)
                if day < start:
                    before.append(outside)
                append(outside)
                continue
            dispatch = dispatchers.get(item["type"]) if dispatchers is not None else None
            found = None
            if dispatch is not None:
                try:
                    found = dispatch(item, context)
                except (Missing, NotInForce, *_COMPUTE_ERRORS):
                    found = None
            number, outcome = found if found is not None else (0, None)
            if outcome is None or (outcome[1].is_signed() and outcome[1] < ZERO):
                append(self._result(position, item, self.route(item, context)))
                continue
            status, credits, reasons = outcome
            append(ActivityResult(position, item["id"], item["type"], day, ids[number], status, credits, reasons,
                                  templates, places, False, None))
        return activities

    def outcome(self, position: int, item: dict[str, Any], context: dict[str, Any]) -> ActivityResult:
        """Score one typed activity inside the cycle: the short path when it can, else the full one."""
        routes = None if self.explain else self.fast_routes.get(item["type"])
        found = self.fast_outcome(position, item, context, routes) if routes is not None else None
        return found if found is not None else self._result(position, item, self.route(item, context))

    def fast_outcome(self, position: int, item: dict[str, Any], context: dict[str, Any],
                     routes: tuple[tuple[CompiledCategory, Any, Any], ...]) -> ActivityResult | None:
        """The common case: no trace, one undated version, nothing goes wrong. None sends the activity down the
        full path (`route`), which explains every other outcome."""
        for category, when, fast in routes:
            if when is not None:
                try:
                    if not when(item, context):
                        continue
                except Missing:
                    continue
                except _COMPUTE_ERRORS:
                    return None
            if fast is None:
                return None
            try:
                status, credits, reasons = fast(item, context)
            except (Missing, NotInForce, *_COMPUTE_ERRORS):
                return None
            if credits < ZERO:
                return None
            return ActivityResult(position, item["id"], item["type"], item["date"], category.id, status, credits,
                                  reasons, self.templates, self.places, False, None)
        return None

    def outside(self, position: int, record: Any, item: dict[str, Any], start: date, end: date) -> ActivityResult:
        """An activity dated outside the cycle: rejected, saying which cycle it was judged in."""
        reason = (f"Completed {item['date'].isoformat()}, outside this cycle "
                  f"({start.isoformat()} to {end.isoformat()}).")
        return self.rejected_record(position, record, [reason], typed=item)

    def _result(self, position: int, item: dict[str, Any], outcome: Outcome) -> ActivityResult:
        category, status, credits, reasons, trace = outcome
        return ActivityResult(position, item["id"], item["type"], item["date"], category, status, credits, reasons,
                              self.templates, self.places, trace=trace)

    def rejected_record(self, position: int, record: Any, reasons: list[Reason], malformed: bool = False,
                        typed: dict[str, Any] | None = None) -> ActivityResult:
        raw = record if isinstance(record, dict) else {}
        source = typed or raw
        identifier = source.get("id")
        day = source.get("date") if isinstance(source.get("date"), date) else None
        return ActivityResult(position, None if identifier is None else str(identifier),
                              _text_or_none(source.get("type")), day, None, "rejected", ZERO, reasons,
                              self.templates, self.places, malformed=malformed,
                              trace=[] if self.explain else None)

    # ---- the cycle -----------------------------------------------------------------------------------------------

    def totals(self, result: CredentialResult, context: dict[str, Any]) -> None:
        """Caps in date order (then id), category totals, requirement, minimums, alternatives."""
        spec = self.spec
        caps = {key: cap(context) for key, cap in self.caps} if self.caps else {}
        awarded = [a for a in result.activities if a.status == "awarded" and a.category is not None]
        if caps:
            awarded.sort(key=lambda a: (a.date or date.min, a.id or ""))
        sums: dict[str, Decimal] = {}
        earned = ZERO
        for activity in awarded:
            category = activity.category
            assert category is not None
            so_far = sums.get(category, ZERO)
            cap = caps.get(category)
            if cap is not None and so_far + activity.credits > cap:
                self.apply_cap(activity, category, so_far, cap)
            sums[category] = so_far + activity.credits
            earned += activity.credits
        result.category_titles = self.titles
        result.category_sums = sums
        result.category_caps = caps
        result.earned = earned
        if spec.requirement is None:
            return
        result.required = spec.requirement(context)
        held = earned + result.carried_in
        result.minimums = self.minimums(sums, context) if spec.minimums else []
        result.met_by = self.alternative(result, context)
        enough = held >= result.required and all(m.met for m in result.minimums)
        result.met = enough or result.met_by is not None
        result.remaining = ZERO if result.met_by else max(ZERO, result.required - held)

    def apply_cap(self, activity: ActivityResult, category: str, so_far: Decimal, cap: Decimal) -> None:
        allowed = max(ZERO, cap - so_far)
        cap_text = format_credits(cap, self.places)
        title = self.titles[category]
        if allowed == ZERO:
            note = (f"The cap of {cap_text} {self.model.unit_name} per cycle for {title} was already "
                    "reached, so this activity adds nothing.")
        else:
            note = (f"Cut from {format_credits(activity.credits, self.places)} to "
                    f"{format_credits(allowed, self.places)} {self.model.unit_name}: {title} counts at "
                    f"most {cap_text} per cycle.")
        activity.status = "capped"
        activity.credits = allowed
        activity.raw_reasons = [*activity.raw_reasons, note]
        if activity.trace is not None:
            activity.trace.append(TraceLine("cap per cycle", self.spec.categories[category].cap_span,
                                            format_number(allowed)))

    def minimums(self, sums: dict[str, Decimal], context: dict[str, Any]) -> list[MinimumResult]:
        results = []
        judged = context["cycle_end"]
        for minimum in self.spec.minimums:
            version = next((v for v in minimum.versions if v[0].covers(judged)), None)
            if version is None:
                raise NotInForce(f"minimum '{minimum.id}'", judged)
            _effective, at_least, counts = version
            counted = ZERO
            for category, up_to in counts:
                earned = sums.get(category, ZERO)
                counted += min(earned, up_to(context)) if up_to else earned
            needed = at_least(context)
            results.append(MinimumResult(minimum.id, minimum.title, needed, counted, counted >= needed))
        return results

    def alternative(self, result: CredentialResult, context: dict[str, Any]) -> str | None:
        if not self.spec.alternatives:
            return None
        scored = [{"id": a.id, "type": a.type, "category": a.category, "status": a.status, "credits": a.credits,
                   "date": a.date} for a in result.activities if not a.malformed]
        for alternative in self.spec.alternatives:
            if alternative.met(context, scored):
                return alternative.id
        return None

    def carry_in(self, credential: Credential, typed: list[Any], index: int,
                 context: dict[str, Any]) -> tuple[Decimal, bool]:
        """Credit carried into cycle `index`, chaining from the earliest earlier cycle with activities.

        Returns (credit, whether earlier cycles were scored). When the previous cycle may carry nothing over
        (`max: 0`), nothing earlier is scored at all.
        """
        spec = self.spec
        certified_on = credential.certified_on
        if spec.carry_max is None or index == 0 or certified_on is None:
            return ZERO, False
        if spec.carry_max(self.cycle_context(context, certified_on, index - 1)) <= ZERO:
            return ZERO, False
        dated = [item["date"] for item in typed if isinstance(item, dict)]
        if not dated or min(dated) >= context["cycle_start"]:
            return ZERO, False
        first = cycle_containing(spec, certified_on, min(dated))[0]
        carried = ZERO
        for number in range(first, index):
            earlier = self.cycle_context(context, certified_on, number)
            start, end = earlier["cycle_start"], earlier["cycle_end"]
            past = CredentialResult(spec.id, "", "", self.places, None, None, certified_on)
            past.carried_in = carried
            past.activities = [self.outcome(position, item, earlier) for position, item in enumerate(typed)
                               if isinstance(item, dict) and start <= item["date"] <= end]
            self.totals(past, earlier)
            surplus = past.earned + carried - (past.required or ZERO)
            carried = max(ZERO, min(surplus, spec.carry_max(earlier), past.earned))
        return carried, True

    def cycle_context(self, context: dict[str, Any], certified_on: date, number: int) -> dict[str, Any]:
        """The context of cycle `number` (from 0) for the same credential."""
        months = self.model.cycle.months  # type: ignore[union-attr]
        start = add_months(certified_on, number * months)
        end = add_months(certified_on, (number + 1) * months) - timedelta(days=1)
        return {**context, "cycle_start": start, "cycle_end": end}

    def fee_and_audit(self, result: CredentialResult, member: str | None, start: date, seed: int) -> None:
        model = self.model
        if model.fee is not None:
            result.fee = (model.fee.amount, model.fee.currency, model.fee.per)
        if model.audit_rate is not None:
            result.audit = (model.audit_rate, audit_draw(seed, model.id, member, start) < self.audit_threshold)


def _single_version(category: CompiledCategory) -> Callable[..., Any] | None:
    """The fast scoring function of a category with one version in force at all times, else None."""
    if len(category.versions) == 1 and not category.versions[0][0].dated:
        return category.versions[0][1]
    return None


def audit_selected(seed: int, spec_id: str, member: str | None, cycle_start: date, rate: Decimal) -> bool:
    """Reproducible random selection: the same seed, spec, member and cycle always give the same answer.

    The draw is the first 8 bytes of SHA-256 of those four values, read as a number in [0, 2**64); the member is
    selected when it falls below rate × 2**64 — so exactly `rate` of all possible draws select.
    """
    return audit_draw(seed, spec_id, member, cycle_start) < int(rate * 2**64)


def audit_draw(seed: int, spec_id: str, member: str | None, cycle_start: date) -> int:
    """The reproducible draw for one member and cycle: a number in [0, 2**64)."""
    digest = hashlib.sha256(f"{seed}|{spec_id}|{member}|{cycle_start.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


ScorerFactory = Callable[[CompiledSpec], Scorer]
