"""Stage 4, evaluate: one credential's activities → a `CredentialResult`, using a `CompiledSpec`'s functions.

Input: a compiled spec, a member id, the credential (certified_on and its attributes), the member's raw activity
records and the as-of date. Output: one `ActivityResult` for every input record, in input order, and the cycle's
totals: caps applied in date order (then id), requirement, minimums, alternatives, carry-over, fee and audit.

Per activity: check and type the record (malformed → rejected, naming the field), keep it only if it falls in the
current cycle, and call the generated function for its type, which routes it to the first category whose `when`
holds, picks the version in force on its date and applies every rule (with `--explain`, its traced twin, which also
records each step). That call is the one scoring path; when a rule fails for this activity's values, the generated
program's line map says which rule, and the activity is rejected with a reason naming it. Nothing here interprets
an expression: rules are already Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ceruleng.compiled import CompiledCategory, CompiledSpec
from ceruleng.errors import did_you_mean
from ceruleng.runtime import COMPUTE_ERRORS, Missing, NotInForce, Outcome, Reason
from ceruleng.scoring.results import ActivityResult, CategoryTitles, CredentialResult, MinimumResult, TraceLine
from ceruleng.values import ZERO, add_months, format_credits, format_number, parse_iso_date

_COMPUTE_ERRORS = COMPUTE_ERRORS
_RULE_ERRORS = (Missing, NotInForce, *COMPUTE_ERRORS)
"""What a rule may raise for one activity's values: that activity is rejected, naming the rule."""


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
        self.ids = [category.id for category in spec.by_number]
        self._cycles: dict[tuple[date, date], tuple[int, date, date]] = {}
        rate = spec.model.audit_rate
        self.audit_threshold = int(rate * 2**64) if rate is not None else 0
        """Draws below this select a member for audit (see `audit_draw`)."""
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

    def score_activity(self, position: int, item: dict[str, Any], context: dict[str, Any]) -> ActivityResult:
        """Score one typed activity inside the cycle: the generated function for its type decides everything."""
        scorer = self.spec.scorers.get(item["type"])
        trace: list[TraceLine] | None = [] if self.explain else None
        if scorer is None:
            outcome = Outcome(None, "rejected", ZERO, (self.unknown_type(item["type"]),))
        else:
            try:
                if trace is None:
                    outcome = scorer.fast(item, context)
                else:
                    steps: list[tuple[int, Any]] = []
                    try:
                        outcome = scorer.traced(item, context, steps)
                    finally:
                        trace.extend(self.trace_lines(steps))
            except _RULE_ERRORS as exc:
                outcome = self.failure(exc)
        number = outcome.category
        return ActivityResult(position, item["id"], item["type"], item["date"],
                              None if number is None else self.ids[number], outcome.status, outcome.credits,
                              outcome.reasons, self.templates, self.places, False, trace)

    def unknown_type(self, type_name: str) -> str:
        hint = did_you_mean(type_name, self.model.activity_types)
        suggestion = f" ({hint})" if hint else ""
        return f"'{type_name}' is not an activity type {self.model.title} recognises{suggestion}."

    def failure(self, exc: Exception) -> Outcome:
        """The outcome when a rule fails for this activity's values: rejected, with a reason naming the rule (the
        generated program's line map says which rule was running, and in which category)."""
        origins = self.spec.origins_of(exc)
        number = next((origin.category for origin in reversed(origins) if origin.category is not None), None)
        step_number = next((origin.step for origin in reversed(origins) if origin.step is not None), None)
        category = self.spec.by_number[number] if number is not None else None
        step = self.spec.steps[step_number] if step_number is not None else None
        if isinstance(exc, Missing):
            reason = self.missing_reason(exc, category)
        elif isinstance(exc, NotInForce):
            reason = f"{str(exc)[0].upper()}{str(exc)[1:]}."
        elif step is not None and step.kind == "when":
            reason = f"Could not decide the category: {_problem(exc)}."
        else:
            where = f" at {step.label} ({step.span})" if step is not None else ""
            reason = f"Could not compute the credit{where}: {_problem(exc)}."
        return Outcome(number, "rejected", ZERO, (reason,))

    def missing_reason(self, missing: Missing, category: CompiledCategory | None) -> str:
        rules = f"the rules for {category.title}" if category is not None else "the rules"
        if missing.kind == "table row":
            return f"No entry for {missing.what} in {rules}."
        attribute = self.spec.attributes.get(missing.what) or self.model.credential_attributes.get(missing.what)
        described = f" ({attribute.description})" if attribute and attribute.description != missing.what else ""
        return f"The activity has no {missing.what}{described}, which {rules} need."

    def trace_lines(self, steps: Sequence[tuple[int, Any]]) -> list[TraceLine]:
        lines = []
        for index, value in steps:
            step = self.spec.steps[index]
            shown = format_number(value) if isinstance(value, Decimal) else (
                ("passed" if value else "failed") if step.kind == "check" else str(value))
            if step.kind == "when":
                rule = f"when of {step.label}"
            else:
                rule = f"{step.kind} {step.label}" if step.kind != step.label else step.label
            lines.append(TraceLine(rule, step.span, shown))
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
        score = self.score_activity
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
            append(score(position, item, context))
        return activities

    def outside(self, position: int, record: Any, item: dict[str, Any], start: date, end: date) -> ActivityResult:
        """An activity dated outside the cycle: rejected, saying which cycle it was judged in."""
        reason = (f"Completed {item['date'].isoformat()}, outside this cycle "
                  f"({start.isoformat()} to {end.isoformat()}).")
        return self.rejected_record(position, record, [reason], typed=item)

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
            version = minimum.version_on(judged)
            if version is None:
                raise NotInForce(f"minimum '{minimum.id}'", judged)
            counted = ZERO
            for counted_category in version.counts:
                earned = sums.get(counted_category.category, ZERO)
                up_to = counted_category.up_to
                counted += min(earned, up_to(context)) if up_to else earned
            needed = version.at_least(context)
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
            past.activities = [self.score_activity(position, item, earlier) for position, item in enumerate(typed)
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


def audit_draw(seed: int, spec_id: str, member: str | None, cycle_start: date) -> int:
    """The reproducible draw for one member and cycle: a number in [0, 2**64)."""
    digest = hashlib.sha256(f"{seed}|{spec_id}|{member}|{cycle_start.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None



_PROBLEMS = {"DivisionByZero": "division by zero", "DivisionUndefined": "division by zero",
             "Overflow": "a number too large", "InvalidOperation": "an invalid operation"}


def _problem(exc: Exception) -> str:
    """What went wrong computing a rule, in words (the decimal module's own messages are for programmers)."""
    return _PROBLEMS.get(type(exc).__name__, str(exc))
