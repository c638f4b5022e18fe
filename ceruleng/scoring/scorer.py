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

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from msgspec.structs import replace

from ceruleng.compiled import CompiledCategory, CompiledSpec, CompiledWindow
from ceruleng.errors import did_you_mean
from ceruleng.runtime import COMPUTE_ERRORS, Missing, NotInForce, Outcome, Reason
from ceruleng.scoring.credentials import Credential, read_credential
from ceruleng.scoring.entries import Entry, entries_of, window_of
from ceruleng.scoring.ledger import Ledger
from ceruleng.scoring.notes import (
    CARRIED_NOTE,
    LOOK_BACK_NOTE,
    malformed_reasons,
    outside_reason,
    problem_words,
    repeated_id,
    said,
)
from ceruleng.scoring.periods import LayoutError, Period, Periods, reported
from ceruleng.scoring.results import (
    ActivityResult,
    AuditDraw,
    CategoryTitles,
    CredentialResult,
    PeriodInfo,
    Sentence,
    TraceLine,
)
from ceruleng.values import ZERO, PastTheCalendar, ValueProblem, add_days, format_number

_COMPUTE_ERRORS = COMPUTE_ERRORS
_COUNTING = ("awarded", "capped")
"""The statuses of an activity whose credit counts (`ActivityResult.counts`)."""
_RULE_ERRORS = (Missing, NotInForce, *COMPUTE_ERRORS)
"""What a rule may raise for one activity's values: that activity is rejected, naming the rule."""


LAYOUTS_KEPT = 10_000
"""Reported periods a scorer remembers (by the day scored and the credential's certification date and attributes)
before it starts afresh. Members of a batch share certification dates, and finding the period a result is about
(laying out the first, the current and the one before it) is a good share of a small member's cost: with no memo,
a bundled spec's members (10 activities each) scored about 12% slower. An entry keeps only that period (about
0.4 kB), not the credential's other periods: a member whose result reaches into other periods lays them out afresh,
which the memo never saved much of. So a full memo is a few megabytes, and memory stays flat however long the
batch."""


class Scorer:
    """Scores activities against one spec; holds nothing per member, so one Scorer serves a whole batch."""

    def __init__(self, spec: CompiledSpec, explain: bool = False) -> None:
        self.spec = spec
        self.explain = explain
        self.model = spec.model
        self.places = spec.model.places
        self.templates = spec.templates
        self.ids = [category.id for category in spec.by_number]
        self.scorers = spec.scorers
        self.fast = {} if explain else {type_name: scorer.fast for type_name, scorer in spec.scorers.items()}
        """Each type's untraced scoring function, when nothing is explained (empty when it is: then every
        activity takes the traced path)."""
        self._reported: dict[Any, Period] = {}
        rate = spec.model.audit_rate
        self.audit_threshold = int(rate * 2**64) if rate is not None else 0
        """Draws below this select a member for audit (see `audit_draw`)."""
        fee = spec.model.fee
        self.fee = (fee.amount, fee.currency, fee.per) if fee is not None else None
        """What every result of the spec says of its fee (one tuple, shared: results read it, never change it)."""
        self.titles = CategoryTitles({key: category.title for key, category in spec.categories.items()})
        self.ledger = Ledger(spec, self.titles)
        layout = spec.layout
        self.carries = spec.carry_max is not None and not spec.carry_none
        self.reaches_back = self.carries or self.ledger.windowed or (layout is not None and (
            layout.grace is not None or layout.look_back is not None))
        """Whether a period's result can depend on activities outside it (carry-over, grace, look-back, windows)."""

    def read_credential(self, raw: dict[str, Any]) -> Credential:
        """A credential entry of this spec, typed (`read_credential`)."""
        return read_credential(self.spec, raw)

    def reported(self, base: dict[str, Any], as_of: date, choice: str | date) -> Period:
        """The period reported as of `as_of` — remembered: many members of a batch share a certification date, and
        the layout depends on nothing else of the member."""
        try:  # the names, then their values: the same attributes in another order only miss the memo
            key: Any = (choice, *base, *base.values())
            found = self._reported.get(key)
        except TypeError:  # a list attribute: not worth remembering
            return reported(self.periods_of(base), as_of, choice)
        if found is None:
            if len(self._reported) >= LAYOUTS_KEPT:
                self._reported.clear()
            found = self._reported[key] = reported(self.periods_of(base), as_of, choice)
        return found

    def periods_of(self, base: dict[str, Any]) -> Periods:
        """A credential's periods (of a spec with a cycle), laid out as they are asked for."""
        assert self.spec.layout is not None
        return Periods(self.spec.layout, base)

    # ---- one activity --------------------------------------------------------------------------------------------

    def score_activity(self, position: int, item: dict[str, Any], context: dict[str, Any]) -> ActivityResult:
        """Score one typed activity inside the cycle: the generated function for its type decides everything.
        Called once per activity scored, so the common case (a known type, no trace) is tested first."""
        fast = self.fast.get(item["type"])
        trace: list[TraceLine] | None = None
        try:
            if fast is not None:
                found = fast(item, context)
            elif (scorer := self.scorers.get(item["type"])) is None:
                if self.explain:
                    trace = []
                found = Outcome(None, "rejected", ZERO, (self.unknown_type(item["type"]),))
            else:
                trace = []
                steps: list[tuple[int, Any]] = []
                try:
                    found = scorer.traced(item, context, steps)
                finally:
                    trace.extend(self.trace_lines(steps))
        except _RULE_ERRORS as exc:
            found = self.failure(exc)
        number, status, credits, reasons = found.category, found.status, found.credits, found.reasons
        return ActivityResult(position, item["id"], item["type"], item["date"],
                              None if number is None else self.ids[number], status, credits, reasons,
                              self.templates, self.places, False, trace, found)

    def unknown_type(self, type_name: str) -> Sentence:
        hint = did_you_mean(type_name, self.model.activity_types)
        suggestion = f" ({hint})" if hint else ""
        return said("unknown-type", f"'{type_name}' is not an activity type {self.model.title} recognises"
                    f"{suggestion}.")

    def failure(self, exc: Exception) -> Outcome:
        """The outcome when a rule fails for this activity's values: rejected, with a reason naming the rule (the
        generated program's line map says which rule was running, and in which category)."""
        origins = self.spec.origins_of(exc)
        number = next((origin.category for origin in reversed(origins) if origin.category is not None), None)
        step_number = next((origin.step for origin in reversed(origins) if origin.step is not None), None)
        category = self.spec.by_number[number] if number is not None else None
        step = self.spec.steps[step_number] if step_number is not None else None
        if isinstance(exc, Missing):
            code = "no-table-entry" if exc.kind == "table row" else "missing-attribute"
            reason = self.missing_reason(exc, category)
        elif isinstance(exc, NotInForce):
            code, reason = "not-in-force", f"{str(exc)[0].upper()}{str(exc)[1:]}."
        elif step is not None and step.kind == "when":
            code, reason = "category-undecided", f"Could not decide the category: {problem_words(exc)}."
        else:
            rule = f"{step.label} ({step.span})" if step is not None else (
                f"{origins[-1].what} ({origins[-1].span})" if origins else None)
            where = f" at {rule}" if rule else ""
            code, reason = "rule-failed", f"Could not compute the credit{where}: {problem_words(exc)}."
        return Outcome(number, "rejected", ZERO, (said(code, reason),))

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
                          as_of: date, seed: int = 0, choice: str | date = "due") -> CredentialResult:
        """Every record of the member scored for this credential, in input order, then the period's totals.

        The period reported is the one due as of `as_of` (or `choice`: previous, current, next, or the one
        containing a date)."""
        model = self.model
        result = CredentialResult(model.id, model.title, model.unit_name, self.places, member, credential.name,
                                  credential.certified_on)
        certified_on = credential.certified_on
        if credential.problems or certified_on is None:
            result.error = "; ".join(credential.problems)
            reason = said("credential-malformed", f"The credential is malformed: {result.error}.")
            result.activities = [self.rejected_record(i, r, [reason], malformed=True) for i, r in enumerate(records)]
            return result
        base: dict[str, Any] = {**credential.attributes, "certified_on": certified_on, "as_of": as_of}
        if model.cycle is None:
            entries: list[Entry] = []
            result.activities = self.score_records(records, base, None, entries)
            self.ledger.totals(result, base, entries)
            return result
        try:
            period = self.reported(base, as_of, choice)
        except (LayoutError, *_RULE_ERRORS) as exc:
            return self.unlaid(result, records, certified_on, as_of, exc)
        result.period = PeriodInfo(period.number, period.start, period.end, period.deadline, period.grace_end,
                                   period.status(as_of))
        context = period.context(base)
        result.cycle = (period.start, period.end)
        result.deadline = period.deadline
        try:
            if self.reaches_back:
                self.book(result, records, self.periods_of(base), period, base)
            else:
                entries = []
                result.activities = self.score_records(records, context, period, entries)
                self.ledger.totals(result, context, entries)
        except (LayoutError, *_RULE_ERRORS) as exc:
            return self.unaccounted(result, records, exc)
        self.fee_and_audit(result, member, period.start, seed)
        return result

    def unaccounted(self, result: CredentialResult, records: Sequence[Any], exc: Exception) -> CredentialResult:
        """A credential whose totals a cycle rule could not compute (a credential attribute it needs is missing or
        zero, no version of a rule is in force on the period's end): its activities as scored (or, when scoring
        stopped before them, all listed as not scored), no totals, and a sentence naming the rule."""
        origins = self.spec.origins_of(exc)
        rule = f"{origins[-1].what} ({origins[-1].span})" if origins else "a rule of the period"
        if isinstance(exc, Missing) and exc.what in self.model.tags and exc.what not in \
                self.model.credential_attributes:
            problem = (f"{rule} reads the tag {exc.what}, which some credit it looks at does not have (test "
                       f"has({exc.what}) first, or give the tag a default)")
        elif isinstance(exc, Missing):
            attribute = self.model.credential_attributes.get(exc.what)
            described = f" ({attribute.description})" if attribute and attribute.description != exc.what else ""
            problem = f"{rule} needs the credential's {exc.what}{described}, which it does not give"
        elif isinstance(exc, NotInForce):
            problem = str(exc)
        elif isinstance(exc, LayoutError):
            problem = f"the periods of this credential cannot be laid out: {exc}"
        elif isinstance(exc, ValueProblem) and not origins:  # raised by the ledger, naming the rule itself
            problem = str(exc)
        else:
            problem = f"{rule} could not be computed: {problem_words(exc)}"
        result.error = problem
        result.required = result.remaining = result.met = None
        result.minimums, result.limits = [], []
        if not result.activities:
            reason = said("not-scored", f"Not scored: {problem}.")
            result.activities = [self.rejected_record(i, r, [reason], malformed=True) for i, r in enumerate(records)]
        return result

    def unlaid(self, result: CredentialResult, records: Sequence[Any], certified_on: date, as_of: date,
               exc: Exception) -> CredentialResult:
        """A credential whose periods cannot be laid out: every activity listed, none scored, and why."""
        if isinstance(exc, LayoutError):
            result.error = f"the periods of this credential cannot be laid out: {exc}"
        elif isinstance(exc, Missing | NotInForce):
            result.error = f"the periods of this credential cannot be laid out: {self.failure(exc).reasons[0]}"
        elif isinstance(exc, ValueProblem) and not isinstance(exc, PastTheCalendar):  # a rule's own words: "there
            # is no date 2025-02-29", a bad increment
            result.error = f"the periods of this credential cannot be laid out: {exc}"
        else:  # only near the end of the calendar (year 9999): a period's end or deadline cannot be a date
            result.error = (f"the cycle containing {as_of.isoformat()} for a credential certified on "
                            f"{certified_on.isoformat()} ends after the last date the calendar holds")
        reason = said("not-scored", f"Not scored: {result.error}.")
        result.activities = [self.rejected_record(i, r, [reason], malformed=True) for i, r in enumerate(records)]
        return result

    def typed(self, records: Sequence[Any]) -> Iterator[tuple[int, Any, dict[str, Any] | None, list[str]]]:
        """Each record checked and typed, in order: (position, raw, typed or None, problems). A repeated id makes
        the later record malformed."""
        coerce = self.spec.coerce
        seen: dict[Any, int] = {}
        for position, record in enumerate(records):
            item, problems = coerce(record)
            if item is not None:
                identifier = item["id"]
                first = seen.setdefault(identifier, position) if identifier is not None else position
                if first != position:
                    problems = [*problems, repeated_id(identifier, first)]
            yield position, record, item, problems

    def score_records(self, records: Sequence[Any], context: dict[str, Any], period: Period | None,
                      entries: list[Entry]) -> list[ActivityResult]:
        """One pass over the records: check and type each (`typed`), keep it in the period, score
        it, and add the entries of credit of each that counts to `entries` (the simple path: no rule of the spec
        looks outside the period, so each counts on its own date, in the period's number — 0 without a cycle)."""
        score = self.score_activity
        number = 0 if period is None else period.number
        start, end = (date.min, date.max) if period is None else (period.start, period.end)
        activities: list[ActivityResult] = []
        append = activities.append
        for position, record, item, problems in self.typed(records):
            if problems or item is None:
                append(self.rejected_record(position, record, malformed_reasons(problems),
                                            malformed=True, typed=item))
                continue
            day = item["date"]
            if not start <= day <= end:
                append(self.outside(position, record, item, start, end))
                continue
            activity = score(position, item, context)
            append(activity)
            if activity.category is not None and activity.status in _COUNTING:
                entries += entries_of(activity, day, number)
        return activities

    def book(self, result: CredentialResult, records: Sequence[Any], periods: Periods, period: Period,
             base: dict[str, Any]) -> None:
        """The general path: periods accounted in order from the earliest one the reported period depends on —
        each its own activities (and, with a look-back, earlier ones; with a grace, those of the next period's
        first days it still needs), carrying its surplus to the next — so the reported one sees exactly the
        credit that counts toward it."""
        typed, home, by_home = self.homes(records, periods, period)
        first = self.first_accounted(periods, period, base, home)
        graced = self.spec.layout is not None and self.spec.layout.grace is not None
        scratch = CredentialResult(self.spec.id, "", "", self.places, None, None, base["certified_on"])
        """The book of a period accounted only on the way to the reported one: only what carries on from it is
        read (each period sets it again), so one serves them all."""
        claimed: dict[int, int] = {}
        """Activities a period took from the next one's first days, in its grace: position → that period."""
        history: list[Entry] = []
        carried: Decimal = ZERO
        carried_entries: list[Entry] = []
        scored: dict[tuple[int, int], ActivityResult] = {}
        earlier: dict[int, ActivityResult] = {}
        """Without a grace: the results of activities scored for an earlier period, by position (each is listed as
        outside the reported period, and is no longer needed as it was)."""
        book = result
        for number in range(first, period.number + 1):
            current = periods.at(number)
            context = current.context(base)
            book = result if number == period.number else scratch
            book.carried_in = carried
            if graced:
                own = [self.scored(scored, position, item, context, current, number)
                       for position, item in by_home.get(number, ()) if position not in claimed]
                own.extend(self.grace(book, context, current, by_home.get(number + 1, []), claimed, scored, own,
                                      history, carried_entries, number))
                live = self.entries(own, current, number)
            else:  # each activity is scored once, for its own period
                own, live = self.scored_once(by_home.get(number, ()), context, current, number)
                if number < period.number:
                    for activity in own:
                        earlier[activity.index] = activity
            book.activities = own
            self.ledger.totals(book, context, live, history, carried_entries, judged=number == period.number)
            history.extend(live)
            if self.carries and number < period.number:
                carry_trace: list[TraceLine] | None = [] if self.explain else None
                carried, carried_entries = self.ledger.carry(book, context, live, carried,
                                                             add_days(current.end, 1), carry_trace)
                if carry_trace and number + 1 == period.number:  # what held back credit carried into this period
                    result.trace = carry_trace
        own_results = {a.index: a for a in book.activities}
        own_results.update(self.reaching_back(result, history, period.number))
        result.activities = self.listing(typed, own_results, earlier, period, home, claimed, first)

    def listing(self, typed: list[tuple[int, Any, dict[str, Any] | None, list[str]]],
                own_results: dict[int, ActivityResult], earlier: dict[int, ActivityResult], period: Period,
                home: dict[int, int | None], claimed: dict[int, int], first: int) -> list[ActivityResult]:
        """Every record's result, in input order: the reported period's own, the malformed, and the rest rejected
        as outside it (saying where they belong)."""
        listed: list[ActivityResult] = []
        append = listed.append
        start, end, reported_number = period.start, period.end, period.number
        explain = self.explain
        noted = bool(claimed) or not self.carries  # whether `elsewhere` must say more than the carry-over note
        for position, record, item, problems in typed:
            if problems or item is None:
                append(self.rejected_record(position, record, malformed_reasons(problems),
                                            malformed=True, typed=item))
            elif position in own_results:
                append(own_results[position])
            elif noted:
                append(self.elsewhere(position, record, item, period, home[position], claimed.get(position), first))
            else:  # `elsewhere`, for a credential with no grace taken: only the carry-over note can apply
                own_home = home[position]
                note = CARRIED_NOTE if own_home is not None and first <= own_home < reported_number else None
                activity = earlier.get(position)
                if activity is None:
                    append(self.outside(position, record, item, start, end, note))
                    continue
                # its result as scored for its own period becomes the one `outside` would make: the same id,
                # type, date and position, rejected with no category, credit, trace or outcome
                reason = Sentence(("outside-period", outside_reason, item["date"], start, end))
                activity.category, activity.status, activity.credits = None, "rejected", ZERO
                activity.raw_reasons = [reason] if note is None else [reason, note]
                activity.trace = [] if explain else None
                activity.outcome = None
                append(activity)
        return listed

    def homes(self, records: Sequence[Any], periods: Periods, period: Period) -> tuple[
            list[tuple[int, Any, dict[str, Any] | None, list[str]]], dict[int, int | None],
            dict[int | None, list[tuple[int, dict[str, Any]]]]]:
        """Every record checked and typed (see `typed`), in one pass with the period each well-formed activity
        counts toward by its date (position → number) and each period's own activities, in input order: a period
        looks only at its own (and its grace's), so a credential of many periods costs its activities once, not
        once per period."""
        typed: list[tuple[int, Any, dict[str, Any] | None, list[str]]] = []
        keep = typed.append
        home: dict[int, int | None] = {}
        by_home: dict[int | None, list[tuple[int, dict[str, Any]]]] = {}
        ends = [periods.at(number).end for number in range(1, period.number + 1)] if period.number <= 64 else []
        """The last day of each period up to the reported one (when there are a few): periods follow one another
        without a gap, so the first whose end is not before a day holds it."""
        first_start = periods.first().start
        last_end = ends[-1] if ends else first_start
        for row in self.typed(records):
            keep(row)
            position, _record, item, problems = row
            if item is not None and not problems:
                day = item["date"]
                number = (bisect_left(ends, day) + 1 if first_start <= day <= last_end and ends
                          else self.home(periods, day))
                home[position] = number
                by_home.setdefault(number, []).append((position, item))
        return typed, home, by_home

    def first_accounted(self, periods: Periods, period: Period, base: dict[str, Any],
                        home: dict[int, int | None]) -> int:
        """The earliest period the reported one depends on: its own, or earlier when a window reaches back, or
        when credit can carry over or be taken in a grace (then from the period of the earliest activity)."""
        first = period.number
        if self.ledger.windowed:
            own = [window for window in self.windows() if window is not None]  # None: the period's own days
            if own:
                reach = min(window_of(window, period.context(base))[0] for window in own)
                first = min(first, periods.containing(reach).number)
            if any(c.repeats is not None and c.repeats.within != "cycle" for c in self.ledger.crossing):
                first = min(first, min((n for n in home.values() if n is not None), default=first))
        if self.carries or (self.spec.layout is not None and self.spec.layout.grace is not None):
            first = min(first, min((n for n in home.values() if n is not None), default=first))
        return max(first, 1)

    def entries(self, activities: list[ActivityResult], period: Period, number: int) -> list[Entry]:
        """The entries of credit of a period's activities, each counting on its date (kept inside the period)."""
        found: list[Entry] = []
        start, end = period.start, period.end
        for activity in activities:
            day = activity.date
            if activity.status in _COUNTING and day is not None and activity.category is not None:
                found.extend(entries_of(activity, start if day < start else end if day > end else day, number))
        return found

    def scored(self, scored: dict[tuple[int, int], ActivityResult], position: int, item: dict[str, Any],
               context: dict[str, Any], period: Period, number: int) -> ActivityResult:
        """An activity scored for the period it counts toward (each at most once per period)."""
        activity = scored.get((position, number))
        if activity is None:
            activity = scored[(position, number)] = self.score_activity(position, item, context)
            if item["date"] < period.start:
                activity.raw_reasons = [*activity.raw_reasons, LOOK_BACK_NOTE]
        return activity

    def scored_once(self, items: Sequence[tuple[int, dict[str, Any]]], context: dict[str, Any], period: Period,
                    number: int) -> tuple[list[ActivityResult], list[Entry]]:
        """A period's own activities scored for it, where no grace can score one for another period, and their
        entries (as `entries` makes them), in one pass."""
        score = self.score_activity
        own: list[ActivityResult] = []
        found: list[Entry] = []
        start, end = period.start, period.end
        for position, item in items:
            activity = score(position, item, context)
            own.append(activity)
            day = activity.date
            if day is not None and day < start:
                activity.raw_reasons = [*activity.raw_reasons, LOOK_BACK_NOTE]
            if activity.status in _COUNTING and day is not None and activity.category is not None:
                found.extend(entries_of(activity, start if day < start else end if day > end else day, number))
        return own, found

    def grace(self, book: CredentialResult, context: dict[str, Any], period: Period,
              following: list[tuple[int, dict[str, Any]]], claimed: dict[int, int],
              scored: dict[tuple[int, int], ActivityResult], own: list[ActivityResult], history: list[Entry],
              carried: list[Entry], number: int) -> list[ActivityResult]:
        """The activities dated in the period's grace (the next period's first days, from `following`, that
        period's own) it takes: while it is still short — judged on a trial of its totals — or all of them, when
        the spec says they always count. Each counts once, toward one period."""
        layout = self.spec.layout
        if layout is None or layout.grace is None or period.grace_end is None:
            return []
        always = layout.grace_counts == "always"
        grace_end = period.grace_end
        candidates = sorted(((position, item) for position, item in following
                             if item["date"] <= grace_end and position not in claimed),
                            key=lambda pair: (pair[1]["date"], pair[1]["id"] or ""))
        taken: list[ActivityResult] = []
        for position, item in candidates:
            if not always and self.trial(book, context, period, [*own, *taken], history, carried, number):
                break
            activity = self.scored(scored, position, item, context, period, number)
            if not activity.counts:
                continue
            claimed[position] = number
            activity.raw_reasons = [*activity.raw_reasons, said("grace", f"Completed after this period ended "
                                    f"({period.end.isoformat()}), in its grace: it counts toward this period, "
                                    "not the next.")]
            taken.append(activity)
        return taken

    def trial(self, book: CredentialResult, context: dict[str, Any], period: Period, activities: list[ActivityResult],
              history: list[Entry], carried: list[Entry], number: int) -> bool:
        """Whether the period is met with these activities (accounted on copies, so nothing real is cut twice)."""
        copies = [replace(activity, raw_reasons=list(activity.raw_reasons), trace=None,
                          outcome=_apart(activity.outcome)) for activity in activities]
        trial = CredentialResult(self.spec.id, "", "", self.places, None, None, book.certified_on)
        trial.carried_in = book.carried_in
        trial.activities = copies
        self.ledger.totals(trial, context, self.entries(copies, period, number), history, carried)
        return bool(trial.met) or trial.required is None

    def windows(self) -> list[CompiledWindow | None]:
        """Every window a rule of the spec counts (None: the period's own)."""
        return [self.spec.requirement_window] + [version.window for minimum in self.spec.minimums
                                                 for version in minimum.versions] + [
            condition.window for condition in self.spec.conditions]

    def reaching_back(self, result: CredentialResult, history: list[Entry], number: int) -> dict[int, ActivityResult]:
        """With a requirement window reaching back, the activities of earlier periods it counts, listed as counting
        (with where they came from)."""
        if result.window is None:
            return {}
        start, end = result.window
        counted = {}
        for entry in history:
            if entry.period != number and start <= entry.counts_on <= end:
                activity = entry.activity
                activity.raw_reasons = [*activity.raw_reasons, said("earlier-period", f"Completed in period "
                                        f"{entry.period}; it counts toward this period's requirement, judged from "
                                        f"{start.isoformat()} to {end.isoformat()}.")]
                counted[activity.index] = activity
        return counted

    def home(self, periods: Periods, day: date) -> int | None:
        """The period an activity dated `day` counts toward by its date (a look-back counts for the first)."""
        first = periods.first()
        if day < first.start:
            if first.look_back_start is not None and day >= first.look_back_start:
                return 1
            return None
        return periods.containing(day).number

    def elsewhere(self, position: int, record: Any, item: dict[str, Any], period: Period, home: int | None,
                  taken_by: int | None, first_scored: int) -> ActivityResult:
        """An activity that does not count toward the reported period: rejected, saying where it belongs."""
        note = None
        if taken_by is not None:
            note = said("grace-earlier", f"It counted toward the period before (period {taken_by}), in that "
                        "period's grace.")
        elif home is not None and first_scored <= home < period.number and self.carries:
            note = CARRIED_NOTE
        return self.outside(position, record, item, period.start, period.end, note)

    def outside(self, position: int, record: Any, item: dict[str, Any], start: date, end: date,
                note: Sentence | None = None) -> ActivityResult:
        """An activity dated outside the cycle (a well-formed one, typed): rejected, saying which cycle it was
        judged in (and `note`). Most of a long history is outside the period reported: the sentence is written
        only if a report reads it."""
        identifier = item.get("id")
        day = item.get("date")
        reason = Sentence(("outside-period", outside_reason, day, start, end))
        return ActivityResult(position, None if identifier is None else str(identifier),
                              _text_or_none(item.get("type")), day if isinstance(day, date) else None, None,
                              "rejected", ZERO, [reason] if note is None else [reason, note], self.templates,
                              self.places, malformed=False, trace=[] if self.explain else None)

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

    def fee_and_audit(self, result: CredentialResult, member: str | None, start: date, seed: int) -> None:
        """The spec's fee, and what decides the audit draw (drawn when a report reads `result.audit`)."""
        result.fee = self.fee
        rate = self.model.audit_rate
        if rate is not None:
            result.audit_draw = AuditDraw((rate, self.audit_threshold, seed, self.model.id, member, start))


def _apart(outcome: Outcome | None) -> Outcome | None:
    """An outcome with a mapping of tags of its own, for a trial copy of an activity: an entry writes its credits
    into the mapping it is made from (`entries_of`), and the real activity's entries are made from this one."""
    if outcome is None or outcome.tags is None:
        return outcome
    return outcome._replace(tags=dict(outcome.tags))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
