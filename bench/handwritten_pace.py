"""A hand-written PACE scorer: the speed limit ceruleng is measured against (bench/run.py).

It implements the same policy as rules/asap-pace.yaml directly in Python, the way a developer would code it by
hand, and produces the same per-activity results (category, status, credits) and cycle totals, so the benchmark
can assert agreement record by record. It uses no ceruleng code. Malformed records are rejected with the same
status; reasons are not compared (ceruleng words them from the spec).
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


def score_activity(activity: Any, certified_on: date) -> tuple[str | None, str, Decimal]:
    """(category, status, credits) for one activity, before the cycle window."""
    if type(activity) is not dict:
        return None, "rejected", ZERO
    kind, day = activity.get("type"), activity.get("date")
    if type(kind) is not str or not kind or type(day) is not str or activity.get("id") is None:
        return None, "rejected", ZERO
    try:
        date.fromisoformat(day)
    except ValueError:
        return None, "rejected", ZERO
    if "minutes" in activity and activity["minutes"] is not None and _number(activity["minutes"]) is None:
        return None, "rejected", ZERO
    grade = activity.get("grade")
    if grade is not None and grade not in GRADES:
        return None, "rejected", ZERO
    if kind == "apc":
        selected = _number(activity.get("selected_credits"))
        if selected is None or not Decimal("0.5") <= selected <= Decimal("1.6"):
            return "apc", "rejected", ZERO
        return "apc", "awarded", selected
    if kind == "apc-workshop":
        credit = WORKSHOPS.get(activity.get("length"))  # type: ignore[arg-type]
        return ("apc-workshop", "awarded", credit) if credit is not None else ("apc-workshop", "rejected", ZERO)
    if kind in NOT_CREDITED:
        return "not-education", "rejected", ZERO
    if kind == "orientation":
        return "organization-specific", "rejected", ZERO
    if kind == "college-course":
        if activity.get("topic") not in MODULES or grade is None or GRADES[grade] < C_PLUS:
            return "college-course", "rejected", ZERO
        return "college-course", "awarded", ONE
    if kind == "certification":
        achieved = date.fromisoformat(day)
        name = activity.get("certification")
        if achieved <= certified_on:
            return "certification", "rejected", ZERO
        if name not in CERTIFICATIONS:
            return "certification", "pending", ZERO
        return "certification", "awarded", CERTIFICATIONS[name]
    if kind == "webinar" or kind in TIMED:
        provider = activity.get("provider")
        category = ("asap-webinar" if provider == "ASAP" else "lorman-webinar" if provider == "Lorman"
                    else "training") if kind == "webinar" else kind
        minutes = _minutes(activity)
        if minutes is None:
            return category, "rejected", ZERO
        learning, continuous = minutes
        if continuous < 60:
            return category, "rejected", ZERO
        if category == "asap-webinar":
            return category, "awarded", TENTH
        if activity.get("topic") not in MODULES:
            return category, "rejected", ZERO
        return category, "awarded", (learning // 60) * TENTH
    return None, "rejected", ZERO


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
        for activity in document["activities"]:
            category, status, credits = score_activity(activity, certified_on)
            if category is not None or status != "rejected" or type(activity) is dict:
                day = activity.get("date") if type(activity) is dict else None
                if status != "rejected" or category is not None:
                    when = date.fromisoformat(day)  # type: ignore[arg-type]
                    if not start <= when <= end:
                        category, status, credits = None, "rejected", ZERO
            if status == "awarded":
                earned += credits
            outcomes.append((category, status, credits))
        results.append({"cycle": (start, end), "activities": outcomes, "earned": earned,
                        "met": earned >= REQUIRED})
    return results
