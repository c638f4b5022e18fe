"""The function table: every function an expression may call, its type rule and its docs.

Input: a call's argument types and nodes (from the checker). Output: the call's result type and diagnostics through
the `report` callback. Expressions can call nothing that is not in this table: that is what keeps them from reaching
Python. How each call becomes Python is the back end's (`ceruleng.backend.expressions.CALLS`). The `summary` and
`example` of each entry are the language reference (docs/language.md is checked against them by a test).

Functions whose later arguments are evaluated once per element of the first (sum, count, any, all, longest_run)
are marked `scoped`: the checker types those arguments with the element's fields in scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ceruleng.errors import did_you_mean
from ceruleng.expr import ast
from ceruleng.expr.types import (
    ANY,
    BOOLEAN,
    DATE,
    NUMBER,
    TEXT,
    ListType,
    RecordType,
    ScaleType,
    Type,
    fits,
    unify,
)
from ceruleng.patterns import MAX_MATCH_INPUT
from ceruleng.values import ROUNDING_MODES, parse_iso_date

Report = Callable[[str, str, ast.Expr, str | None], None]
"""report(code, message, node, hint): how a type rule records a diagnostic."""



@dataclass(frozen=True)
class CallTypes:
    """What a type rule sees of one call: the node, argument types (None for scoped ones) and a reporter."""

    node: ast.Call
    types: Sequence[Type | None]
    report: Report
    kind: Callable[[ast.Expr], str | None] = lambda _node: None
    """What a name among the arguments is (its binding's kind: "parameter", "attribute", ...), or None."""

    def arg(self, index: int) -> ast.Expr:
        return self.node.args[index]

    def need(self, index: int, expected: Type, what: str) -> None:
        actual = self.types[index]
        if actual is not None and not fits(actual, expected):
            self.report(
                "expr-type",
                f"{self.node.function}() needs {what} as argument {index + 1}, got {actual.name}",
                self.arg(index),
                None,
            )

    def literal_text(self, index: int, what: str,
                     hint: str = "it is checked when the spec is checked, so it cannot be computed") -> str | None:
        node = self.arg(index)
        if isinstance(node, ast.String):
            return node.value
        self.report(
            "expr-not-literal",
            f"{self.node.function}() needs {what} written out in quotes as argument {index + 1}",
            node,
            hint,
        )
        return None


@dataclass(frozen=True)
class Builtin:
    name: str
    signature: str
    summary: str
    example: str
    min_args: int
    max_args: int
    check: Callable[[CallTypes], Type]
    scoped: bool = False


def _numbers(call: CallTypes) -> Type:
    for index in range(len(call.node.args)):
        call.need(index, NUMBER, "a number")
    return NUMBER


def _min_max(call: CallTypes) -> Type:
    first = call.types[0] or NUMBER
    for index, actual in enumerate(call.types):
        if actual is not None and (actual not in (NUMBER, DATE) or unify(first, actual) != first):
            call.report(
                "expr-type",
                f"{call.node.function}() compares numbers with numbers or dates with dates, got {actual.name}",
                call.arg(index),
                None,
            )
    return first


def _round(call: CallTypes) -> Type:
    call.need(0, NUMBER, "a number")
    call.need(1, NUMBER, "an increment (a number)")
    node = call.arg(1)
    if isinstance(node, ast.Number) and node.value <= 0:
        call.report("expr-value", "the rounding increment must be above zero", node, "for example 0.25 or 1")
    if isinstance(call.arg(2), ast.Name) and call.kind(call.arg(2)) == "parameter":
        call.need(2, TEXT, "a rounding mode (text)")  # each of its versions is checked by the compiler
        return NUMBER
    mode = call.literal_text(2, "a rounding mode", "write it in quotes, or name a parameter that gives one")
    if mode is not None and mode not in ROUNDING_MODES:
        call.report(
            "unknown-rounding-mode",
            f"unknown rounding mode '{mode}'",
            call.arg(2),
            did_you_mean(mode, ROUNDING_MODES) or "modes: " + ", ".join(ROUNDING_MODES),
        )
    return NUMBER


def _text_to(result: Type) -> Callable[[CallTypes], Type]:
    def check(call: CallTypes) -> Type:
        for index in range(len(call.node.args)):
            call.need(index, TEXT, "text")
        return result

    return check


def _matches(call: CallTypes) -> Type:
    call.need(0, TEXT, "text")
    pattern = call.literal_text(1, "a regular expression")
    if pattern is not None:
        problem = regex_problem(pattern)
        if problem:
            code, message, hint = problem
            call.report(code, message, call.arg(1), hint)
    return BOOLEAN


def _plural(call: CallTypes) -> Type:
    call.need(0, NUMBER, "a number")
    for index in range(1, len(call.node.args)):
        call.need(index, TEXT, "a word")
    return TEXT


MAX_FIXED_PLACES = 12
"""Most places fixed() shows: as many as any number a spec or a record may hold."""


def _fixed(call: CallTypes) -> Type:
    call.need(0, NUMBER, "a number")
    call.need(1, NUMBER, "a number of decimal places")
    places = call.arg(1)
    written = places.value if isinstance(places, ast.Number) else None
    if isinstance(places, ast.Neg) and isinstance(places.operand, ast.Number):
        written = -places.operand.value
    if written is not None and (written != written.to_integral_value() or not 0 <= written <= MAX_FIXED_PLACES):
        call.report("expr-value", f"fixed() shows a whole number of places from 0 to {MAX_FIXED_PLACES}", places,
                    "for example fixed(hours, 2)")
    return TEXT


def _join(call: CallTypes) -> Type:
    listed = call.types[0]
    if listed is not None and not (isinstance(listed, ListType) and fits(listed.element, TEXT)):
        call.report("expr-type", f"join() needs a list of text as argument 1, got {listed.name}", call.arg(0),
                    "a list attribute of text, or the texts of a list of records: join(segments.kind, ', ')")
    call.need(1, TEXT, "a separator (text)")
    return TEXT


def _date_literal(call: CallTypes) -> Type:
    if len(call.node.args) == 3:  # date(year, month, day)
        for index, what in enumerate(("a year", "a month (1-12)", "a day of the month")):
            call.need(index, NUMBER, what)
        return DATE
    if len(call.node.args) != 1:
        call.report("expr-arity", "date() takes a date written YYYY-MM-DD, or a year, a month and a day",
                    call.node, None)
        return DATE
    text = call.literal_text(0, "a date (YYYY-MM-DD)")
    if text is not None:
        try:
            parse_iso_date(text)
        except ValueError as exc:
            call.report("date-invalid", str(exc), call.arg(0), None)
    return DATE


def _date_plus(call: CallTypes) -> Type:
    call.need(0, DATE, "a date")
    call.need(1, NUMBER, "a whole number")
    return DATE


def _between(call: CallTypes) -> Type:
    call.need(0, DATE, "a date")
    call.need(1, DATE, "a date")
    return NUMBER


def _date_to_date(call: CallTypes) -> Type:
    call.need(0, DATE, "a date")
    return DATE


def _date_part(call: CallTypes) -> Type:
    call.need(0, DATE, "a date")
    return NUMBER


def _presence(call: CallTypes) -> Type:
    """has(name) and default(name, value): the first argument must name an attribute that may be missing."""
    node = call.arg(0)
    if not isinstance(node, ast.Name):
        call.report(
            "expr-not-name",
            f"{call.node.function}() needs the name of an attribute as its first argument",
            node,
            None,
        )
    if call.node.function == "has":
        return BOOLEAN
    first, second = call.types[0], call.types[1]
    fallback = call.arg(1)
    if isinstance(first, ScaleType) and isinstance(fallback, ast.String):
        if first.rank(fallback.value) is None:  # a default grade is a grade: it must be on the scale
            call.report("unknown-scale-value", f"'{fallback.value}' is not on the {first.scale} scale", fallback,
                        did_you_mean(fallback.value, first.values) or "values: " + ", ".join(first.values))
        return first
    if first is not None and second is not None and unify(first, second) is None:
        call.report(
            "expr-type",
            f"default() value must have the attribute's type ({first.name}), got {second.name}",
            call.arg(1),
            None,
        )
    return first or second or ANY


def _lookup(call: CallTypes) -> Type:
    from ceruleng.expr.types import RowType, TableType  # local: only the table functions need them

    table = call.types[0]
    if table is not None and not isinstance(table, TableType):
        call.report("expr-type", f"lookup() needs a table as argument 1, got {table.name}", call.arg(0), None)
        return ANY
    if table is None:
        return ANY
    if isinstance(table.value, RowType):
        columns = table.value.field_names
        call.report("expr-type", f"lookup() of table {table.table}, which has columns, needs one of them: "
                    f"lookup({table.table}.{columns[0]}, key, fallback)", call.arg(0),
                    "columns: " + ", ".join(columns))
        return ANY
    call.need(1, table.key, f"a key ({table.key.name})")
    call.need(2, table.value, f"a fallback value ({table.value.name})")
    return table.value


def _aggregate(result: Type | None, value_arg: bool, condition_args: Sequence[int]) -> Callable[[CallTypes], Type]:
    """Type rule for sum/count/any/all/longest_run; scoped arguments arrive already typed (element scope)."""

    def check(call: CallTypes) -> Type:
        listed = call.types[0]
        if listed is not None and not isinstance(listed, ListType):
            call.report(
                "expr-type",
                f"{call.node.function}() needs a list as argument 1, got {listed.name}",
                call.arg(0),
                None,
            )
        scoped_value = value_arg and len(call.node.args) > 1
        if scoped_value:
            call.need(1, NUMBER, "a number for each element")
        elif value_arg and isinstance(listed, ListType) and not fits(listed.element, NUMBER):
            call.report(
                "expr-type",
                f"{call.node.function}() of a list of {listed.element.name} needs the value to add, "
                f"e.g. {call.node.function}(segments, minutes)",
                call.arg(0),
                None,
            )
        for index in condition_args:
            if index < len(call.node.args):
                call.need(index, BOOLEAN, "a condition (true or false) for each element")
        return result or NUMBER

    return check


_NUMBERS_ONLY = _numbers

FUNCTIONS: dict[str, Builtin] = {
    f.name: f
    for f in [
        Builtin("round", "round(value, increment, mode)",
                "Rounds to a multiple of increment. mode is 'down', 'up', 'half-up', 'half-down' or 'half-even' "
                "('down'/'up' go toward minus/plus infinity; the 'half-' modes go to the nearest multiple and say "
                "where an exact tie goes), in quotes or from a parameter (every version of which `check` checks).",
                'round(75 / 60, 0.25, "down") → 1.25', 3, 3, _round),
        Builtin("floor", "floor(value)", "Rounds down to a whole number.", "floor(90 / 60) → 1", 1, 1,
                _NUMBERS_ONLY),
        Builtin("ceil", "ceil(value)", "Rounds up to a whole number.", "ceil(90 / 60) → 2", 1, 1,
                _NUMBERS_ONLY),
        Builtin("min", "min(a, b, ...)", "The smallest of its arguments (numbers, or dates).",
                "min(1.2, 0.5) → 0.5", 2, 16, _min_max),
        Builtin("max", "max(a, b, ...)", "The largest of its arguments (numbers, or dates).",
                "max(0, 2 - 3) → 0", 2, 16, _min_max),
        Builtin("clamp", "clamp(value, low, high)", "value, raised to low or lowered to high when outside them.",
                "clamp(7, 0, 5) → 5", 3, 3, _numbers),
        Builtin("abs", "abs(value)", "The value without its sign.", "abs(-2) → 2", 1, 1, _numbers),
        Builtin("hours", "hours(minutes)", "Minutes converted to hours (divided by 60, exactly).",
                "hours(90) → 1.5", 1, 1, _numbers),
        Builtin("to_minutes", "to_minutes(hours)", "Hours converted to minutes (times 60).",
                "to_minutes(1.5) → 90", 1, 1, _numbers),
        Builtin("matches", "matches(text, pattern)",
                "Whether the whole text matches a regular expression (written in quotes), in time linear in the "
                "text (RE2 syntax: no back-references or look-arounds, which `check` refuses; \\d, \\w and "
                f"\\s are ASCII). Text longer than {MAX_MATCH_INPUT} characters rejects the activity.",
                'matches("AB12345", "(AB|XY)[0-9]{5,6}") → true', 2, 2, _matches),
        Builtin("lower", "lower(text)", "The text in lower case.", 'lower("Ethics") → "ethics"', 1, 1,
                _text_to(TEXT)),
        Builtin("upper", "upper(text)", "The text in upper case.", 'upper("abc") → "ABC"', 1, 1,
                _text_to(TEXT)),
        Builtin("trim", "trim(text)", "The text without spaces at either end.", 'trim(" abc ") → "abc"', 1, 1,
                _text_to(TEXT)),
        Builtin("length", "length(text)", "The number of characters in the text.", 'length("AB12345") → 7',
                1, 1, _text_to(NUMBER)),
        Builtin("contains", "contains(text, part)", "Whether part occurs in text (case-sensitive).",
                'contains("Annual safety briefing", "safety") → true', 2, 2, _text_to(BOOLEAN)),
        Builtin("starts_with", "starts_with(text, prefix)", "Whether text begins with prefix.",
                'starts_with("CEP123456", "CEP") → true', 2, 2, _text_to(BOOLEAN)),
        Builtin("plural", "plural(count, word) or plural(count, word, plural_word)",
                "The count and the word, the word made plural (with 's', or plural_word) unless the count is 1: "
                "for reason sentences.",
                'plural(1, "full hour") → "1 full hour"; plural(4, "full hour") → "4 full hours"', 2, 3,
                _plural),
        Builtin("fixed", "fixed(number, places)",
                f"The number as text with exactly places decimal places (0 to {MAX_FIXED_PLACES}), an exact tie "
                "going to the even digit as the spec's own totals do: for reason sentences. Round it first for "
                "another rule: fixed(round(hours, 0.01, 'half-up'), 2).",
                'fixed(1.5, 2) → "1.50"; fixed(0.125, 2) → "0.12"; fixed(2 / 3, 0) → "1"', 2, 2, _fixed),
        Builtin("join", "join(list, separator)",
                "The texts of a list in order, separator between each two (an empty list gives empty text): for "
                "reason sentences.",
                'join(["ethics", "tax"], " and ") → "ethics and tax"', 2, 2, _join),
        Builtin("has", "has(attribute)",
                "Whether an optional attribute is present in the record (a list attribute: present and not empty).",
                "has(grade) → false when the record gives no grade", 1, 1, _presence),
        Builtin("default", "default(attribute, value)", "The attribute's value, or value when it is missing.",
                'default(role, "attendee") → "attendee" when no role is given', 2, 2, _presence),
        Builtin("lookup", "lookup(table, key, fallback)",
                "The table's value for key, or fallback when it has no row; of a table with columns, name the "
                "column: lookup(levels.rate, key, fallback).",
                'lookup(rates, "unknown", 0) → 0 when rates has no row unknown', 3, 3, _lookup),
        Builtin("date", "date(text) or date(year, month, day)",
                "A date written YYYY-MM-DD in quotes (checked when the spec is checked), or made of a year, a month "
                "and a day (whole numbers; a day the month does not have rejects the activity: see end_of_month).",
                'date("2023-07-01"); date(2024, 6, 1) → 2024-06-01', 1, 3, _date_literal),
        Builtin("start_of_month", "start_of_month(date)", "The first day of the date's month.",
                'start_of_month(date("2024-06-15")) → 2024-06-01', 1, 1, _date_to_date),
        Builtin("end_of_month", "end_of_month(date)", "The last day of the date's month.",
                'end_of_month(date("2024-02-10")) → 2024-02-29', 1, 1, _date_to_date),
        Builtin("day", "day(date)", "The day of the month of a date (1-31).", 'day(date("2025-02-11")) → 11', 1, 1,
                _date_part),
        Builtin("mod", "mod(value, divisor)",
                "The remainder of value divided by divisor (above zero); never negative, so years alternate: "
                "mod(year, 2) is 0 in even years.", "mod(2025, 2) → 1", 2, 2, _numbers),
        Builtin("add_days", "add_days(date, days)", "The date plus a whole number of days (negative: earlier).",
                'add_days(date("2025-06-14"), 1) → 2025-06-15', 2, 2, _date_plus),
        Builtin("add_months", "add_months(date, months)",
                "The date plus whole months; the day is clamped to the end of a shorter month.",
                'add_months(date("2024-01-31"), 1) → 2024-02-29', 2, 2, _date_plus),
        Builtin("add_years", "add_years(date, years)", "The date plus whole years (29 February → 28 February).",
                'add_years(date("2024-02-29"), 1) → 2025-02-28', 2, 2, _date_plus),
        Builtin("days_between", "days_between(start, end)", "Days from start to end (negative if end is earlier).",
                'days_between(date("2025-01-01"), date("2025-03-01")) → 59', 2, 2, _between),
        Builtin("months_between", "months_between(start, end)",
                "Whole months from start to end; a month counts once its day of the month is reached.",
                'months_between(date("2025-03-10"), date("2025-05-20")) → 2', 2, 2, _between),
        Builtin("year", "year(date)", "The year of a date.", 'year(date("2025-02-11")) → 2025', 1, 1,
                _date_part),
        Builtin("month", "month(date)", "The month of a date (1-12).", 'month(date("2025-02-11")) → 2', 1, 1,
                _date_part),
        Builtin("sum", "sum(list) or sum(list, value) or sum(list, value, condition)",
                "The total of a list of numbers; or of value computed for each element (its fields are names), "
                "counting only the elements for which condition holds.",
                'sum(segments, minutes, kind != "lunch") → 30 for a 30-minute keynote inside a 90-minute lunch',
                1, 3, _aggregate(NUMBER, True, (2,)), scoped=True),
        Builtin("count", "count(list) or count(list, condition)",
                "How many elements the list has, or how many satisfy condition.",
                'count(segments, kind == "break") → 1', 1, 2, _aggregate(NUMBER, False, (1,)),
                scoped=True),
        Builtin("any", "any(list, condition)", "Whether condition holds for at least one element.",
                'any(segments, kind == "keynote") → true when one part is a keynote', 2, 2,
                _aggregate(BOOLEAN, False, (1,)), scoped=True),
        Builtin("all", "all(list, condition)", "Whether condition holds for every element (true for an empty list).",
                "all(segments, minutes < 50) → true when every part is under 50 minutes", 2, 2,
                _aggregate(BOOLEAN, False, (1,)), scoped=True),
        Builtin("longest_run", "longest_run(list, value, breaks_when)",
                "The largest total of value over consecutive elements, a run ending wherever breaks_when holds: "
                "the longest continuous time when breaks interrupt a session.",
                'longest_run(segments, minutes, kind in ["break", "lunch"]) → 40 for 40 + break + 35 minutes',
                3, 3, _aggregate(NUMBER, True, (2,)), scoped=True),
    ]
}
"""Every function an expression may call, by name."""


# ---- regular expressions -----------------------------------------------------------------------------------------


def regex_problem(pattern: str) -> tuple[str, str, str | None] | None:
    """Why a spec's pattern is refused, as (code, message, hint), or None when it is accepted.

    `matches` runs on RE2 (ceruleng.patterns), whose matching time is linear in the text whatever the pattern, so no
    shape of pattern needs refusing for speed any more. Refused: text that is no pattern at all (`regex-invalid`,
    Python's message, the clearest), what RE2 cannot express because only a backtracking engine can match it
    (back-references, look-arounds, atomic groups, possessive repeats: `regex-unsafe`), a pattern that compiles to
    more than patterns.MAX_PROGRAM_SIZE steps (`regex-unsafe`), and anything else RE2 rejects (`regex-invalid`
    with its reason: a repeat count over 1000, `\\Z`).
    """
    try:
        parsed = _python_parse(pattern)
    except re.error as exc:
        return "regex-invalid", f"invalid regular expression: {exc.msg}", None
    from ceruleng.patterns import PatternProblem, compile_linear

    found = compile_linear(pattern)
    if not isinstance(found, PatternProblem):
        return None
    if found.too_large:
        return "regex-unsafe", f"{found.message}, which would make matching slow", "lower the repeat counts"
    backtracking = _backtracking_feature(parsed)
    if backtracking is not None:
        return ("regex-unsafe", f"{backtracking} are not supported: they need a backtracking matcher, whose time "
                "can explode on a long near-miss", "describe the text with plain alternatives and repeats")
    hint = "write \\z (or nothing: matches always tests the whole text)" if "\\Z" in found.message else None
    if "repetition" in found.message:
        hint = "a repeat count is at most 1000"
    return "regex-invalid", f"invalid regular expression: {found.message}", hint


def _python_parse(pattern: str) -> Any:
    """The stdlib's parse of the pattern (raises re.error), used to name what RE2 refuses."""
    re.compile(pattern)
    import re._parser as sre_parse  # type: ignore[import-not-found]  # the stdlib's own pattern parser

    return sre_parse.parse(pattern)


def _backtracking_feature(parsed: Any) -> str | None:
    """The first construct only a backtracking engine can match, in words, or None."""
    import re._constants as sre  # type: ignore[import-not-found]

    names = {sre.GROUPREF: "back-references", sre.GROUPREF_EXISTS: "conditional groups ((?(1)...))",
             sre.ASSERT: "look-arounds ((?=...), (?<=...))", sre.ASSERT_NOT: "look-arounds ((?!...), (?<!...))",
             sre.ATOMIC_GROUP: "atomic groups ((?>...))", sre.POSSESSIVE_REPEAT: "possessive repeats (*+, ++)"}
    stack = [parsed]
    while stack:
        for op, value in stack.pop():
            if op in names:
                return names[op]
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
                stack.append(value[2])
            elif op == sre.BRANCH:
                stack.extend(value[1])
            elif op == sre.SUBPATTERN:
                stack.append(value[-1])
    return None


__all__ = ["FUNCTIONS", "MAX_FIXED_PLACES", "MAX_MATCH_INPUT", "Builtin", "CallTypes", "RecordType", "ScaleType",
           "regex_problem"]
