"""A hand-written PACE scorer: the speed limit ceruleng is measured against (bench/run.py).

It implements the same policy as rules/asap-pace.yaml directly in Python, the way a careful developer would code
it by hand for production: it checks every record against the same contract (required fields, types of the standard
and PACE attributes, unique ids, segments that add up), scores it, and says why in a sentence. It produces the same
per-activity results (category, status, credits) and cycle totals, so the benchmark can assert agreement record by
record. It uses no ceruleng code. Reasons are not compared (ceruleng words them from the spec). As ceruleng does, it
keeps a reason that quotes values as a (sentence, values...) pair, rendered only when read (`render`), and writes a
malformed record's problem at once: both defer the same sentences, so neither is timed formatting text the other
skips.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
TENTH = Decimal("0.1")
ONE = Decimal("1.0")
REQUIRED = Decimal("2.4")
MODULES = frozenset({"Interpersonal Communication", "Task and Project Management", "Management Skills",
                     "Computer and Internet Technology"})
NOT_EDUCATION = frozenset({"networking", "reception", "lunch", "break"})
GRADES = {g: i for i, g in enumerate(["F", "D-", "D", "D+", "C-", "C", "C+", "B-", "B", "B+", "A-", "A", "A+"])}
C_PLUS = GRADES["C+"]
WORKSHOPS = {"half-day": Decimal("0.3"), "full-day": Decimal("0.6")}
CERTIFICATIONS = {"MOS Master": Decimal("0.5"), "MOS Expert": Decimal("0.5"), "CAP": Decimal("1.6")}
TIMED = {"training", "adult-education"}
NOT_CREDITED = {"networking", "reception", "lunch", "break"}


def _months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30,
            31, 30, 31][month]
    return date(year, month + 1, min(day.day, last))


def _number(value: Any) -> Decimal | None:
    if type(value) is int:
        return Decimal(value) if 0 <= value < 10**12 else None
    if type(value) is Decimal or type(value) is str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            return None
        return number if number.is_finite() and 0 <= number < 10**12 else None
    return None


def _minutes(activity: dict[str, Any]) -> tuple[Decimal, Decimal] | None:
    """(learning minutes, longest continuous minutes), or None when minutes are missing or bad."""
    segments = activity.get("segments")
    if segments:
        learning = longest = run = ZERO
        for segment in segments:
            minutes = _number(segment.get("minutes"))
            if minutes is None:
                return None
            if segment.get("kind") in NOT_EDUCATION:
                run = ZERO
                continue
            learning += minutes
            run += minutes
            longest = max(longest, run)
        return learning, longest
    minutes = _number(activity.get("minutes"))
    return None if minutes is None else (minutes, minutes)


TEXT_FIELDS = ("title", "provider", "topic", "certification")
LENGTHS = frozenset(WORKSHOPS)


def malformed(activity: Any) -> str | None:  # noqa: PLR0912 - written the way a developer would, check by check
    """Why a record does not fit the activity contract and PACE's attributes, or None."""
    if type(activity) is not dict:
        return "an activity must be a mapping"
    identifier, kind, day = activity.get("id"), activity.get("type"), activity.get("date")
    if identifier is None or (type(identifier) is str and not identifier.strip()):
        return "id: missing"
    if type(kind) is not str or not kind.strip():
        return "type: missing or not text"
    if type(day) is not str:
        return "date: missing or not a date"
    try:
        date.fromisoformat(day) if len(day) == 10 and day[4] == "-" and day[7] == "-" else date.fromisoformat("x")
    except ValueError:
        return f"date: {day!r} is not a date written YYYY-MM-DD"
    for name in TEXT_FIELDS:
        value = activity.get(name)
        if value is not None and type(value) is not str and type(value) not in (int, Decimal):
            return f"{name}: must be text"
    minutes = activity.get("minutes")
    if minutes is not None and _number(minutes) is None:
        return f"minutes: {minutes!r} is not a number of minutes"
    selected = activity.get("selected_credits")
    if selected is not None and _number(selected) is None:
        return "selected_credits: must be a number"
    grade, length = activity.get("grade"), activity.get("length")
    if grade is not None and grade not in GRADES:
        return f"grade: {grade!r} is not a letter grade"
    if length is not None and length not in LENGTHS:
        return f"length: {length!r} is not half-day or full-day"
    segments = activity.get("segments")
    if segments is not None:
        if type(segments) is not list:
            return "segments: must be a list"
        total = ZERO
        for segment in segments:
            if type(segment) is not dict or type(segment.get("kind")) is not str or not segment["kind"].strip():
                return "segments: each needs a kind"
            part = _number(segment.get("minutes"))
            if part is None:
                return "segments: each needs minutes"
            total += part
        if segments and minutes is not None and _number(minutes) != total:
            return "minutes: do not match the segments"
    return None


def score_activity(  # noqa: PLR0912 - one branch per category, as a developer would write it
    activity: Any, certified_on: date
) -> tuple[str | None, str, Decimal, str | tuple[Any, ...]]:
    """(category, status, credits, reason) for one activity, before the cycle window (see `render`)."""
    problem = malformed(activity)
    if problem is not None:
        return None, "rejected", ZERO, f"Malformed: {problem}."
    kind, day = activity["type"], activity["date"]
    grade = activity.get("grade")
    if kind == "apc":
        selected = _number(activity.get("selected_credits"))
        if selected is None:
            return "apc", "rejected", ZERO, "The activity has no selected_credits."
        if not Decimal("0.5") <= selected <= Decimal("1.6"):
            return "apc", "rejected", ZERO, ("The APC earns between 0.5 and 1.6 CEUs; {} is outside that range.",
                                             selected)
        return "apc", "awarded", selected, ("APC attendance earns the {} CEU of the sessions selected.", selected)
    if kind == "apc-workshop":
        length = activity.get("length")
        if length is None:
            return "apc-workshop", "rejected", ZERO, "The activity has no length."
        credits = WORKSHOPS[length]
        return "apc-workshop", "awarded", credits, ("A {} APC workshop earns {} CEU.", length, credits)
    if kind in NOT_CREDITED:
        return "not-education", "rejected", ZERO, "Networking, receptions, lunch periods and breaks do not count."
    if kind == "orientation":
        return "organization-specific", "rejected", ZERO, "Organization-specific training does not count."
    if kind == "college-course":
        topic = activity.get("topic")
        if topic not in MODULES:
            return "college-course", "rejected", ZERO, ("The topic {!r} is not a PACE proficiency module.", topic)
        if grade is None or GRADES[grade] < C_PLUS:
            return "college-course", "rejected", ZERO, ("A college course counts with C+ or higher, not {}.", grade)
        return "college-course", "awarded", ONE, ("A completed college course graded {} earns 1.0 CEU.", grade)
    if kind == "certification":
        achieved = date.fromisoformat(day)
        name = activity.get("certification")
        if achieved <= certified_on:
            return "certification", "rejected", ZERO, "Only certifications achieved after PACE count."
        if name not in CERTIFICATIONS:
            return "certification", "pending", ZERO, ("ASAP decides the value of {}.", name)
        credits = CERTIFICATIONS[name]
        return "certification", "awarded", credits, ("Achieving {} earns {} CEU.", name, credits)
    if kind == "webinar" or kind in TIMED:
        provider = activity.get("provider")
        category = ("asap-webinar" if provider == "ASAP" else "lorman-webinar" if provider == "Lorman"
                    else "training") if kind == "webinar" else kind
        minutes = _minutes(activity)
        if minutes is None:
            return category, "rejected", ZERO, "The activity has no minutes."
        learning, continuous = minutes
        if continuous < 60:
            return category, "rejected", ZERO, ("Training under an hour does not count ({} minutes).", continuous)
        if category == "asap-webinar":
            return category, "awarded", TENTH, "An ASAP webinar earns 0.1 CEU."
        topic = activity.get("topic")
        if topic not in MODULES:
            return category, "rejected", ZERO, ("The topic {!r} is not a PACE proficiency module.", topic)
        hours = learning // 60
        credits = hours * TENTH
        return category, "awarded", credits, ("{} minutes earn {} full hours, {} CEU.", learning, hours, credits)
    return None, "rejected", ZERO, ("{!r} is not a PACE activity type.", kind)


def render(reason: str | tuple[Any, ...]) -> str:
    """A reason as a sentence: a plain one as it is, a deferred (sentence, values...) pair filled in."""
    return reason if isinstance(reason, str) else reason[0].format(*reason[1:])


def score_member(document: dict[str, Any], as_of: date) -> list[dict[str, Any]]:
    """Per credential: cycle, per-activity (category, status, credits) in input order, earned, met."""
    results = []
    for credential in document["credentials"]:
        certified_on = date.fromisoformat(credential["certified_on"])
        index = max(0, ((as_of.year - certified_on.year) * 12 + as_of.month - certified_on.month) // 24)
        while index > 0 and _months(certified_on, index * 24) > as_of:
            index -= 1
        while _months(certified_on, (index + 1) * 24) <= as_of:
            index += 1
        start = _months(certified_on, index * 24)
        end = _months(certified_on, (index + 1) * 24) - timedelta(days=1)
        outcomes = []
        earned = ZERO
        seen: set[Any] = set()
        for activity in document["activities"]:
            category, status, credits, reason = score_activity(activity, certified_on)
            identifier = activity.get("id") if type(activity) is dict else None
            repeated = identifier is not None and identifier in seen
            seen.add(identifier)
            if repeated:
                category, status, credits, reason = None, "rejected", ZERO, "Malformed: repeated id."
            elif category is not None or not (type(reason) is str and reason.startswith("Malformed")):
                when = date.fromisoformat(activity["date"])
                if not start <= when <= end:
                    category, status, credits = None, "rejected", ZERO
                    reason = ("Completed {}, outside this cycle ({} to {}).", when, start, end)
            if status == "awarded":
                earned += credits
            outcomes.append((category, status, credits, reason))
        results.append({"cycle": (start, end), "activities": outcomes, "earned": earned,
                        "met": earned >= REQUIRED})
    return results
