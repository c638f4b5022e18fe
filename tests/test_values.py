"""Exact decimals, rounding to increments, calendar arithmetic and how values print."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ceruleng.values import (
    DateReader,
    ValueProblem,
    add_months,
    checked_decimal,
    format_credits,
    format_number,
    months_between,
    round_to,
)

D = Decimal


@pytest.mark.parametrize(
    ("value", "increment", "mode", "expected"),
    [
        ("1.25", "0.25", "down", "1.25"),
        ("1.49", "0.25", "down", "1.25"),
        ("1.26", "0.25", "up", "1.5"),
        ("1.125", "0.25", "half-up", "1.25"),
        ("1.125", "0.25", "half-down", "1"),
        ("1.125", "0.25", "half-even", "1"),
        ("1.375", "0.25", "half-even", "1.5"),
        ("-0.1", "1", "down", "-1"),
        ("-0.1", "1", "up", "0"),
        ("2.8", "0.2", "down", "2.8"),
        ("2.8", "0.5", "down", "2.5"),
    ],
)
def test_round_to(value: str, increment: str, mode: str, expected: str) -> None:
    assert round_to(D(value), D(increment), mode) == D(expected)


def test_round_to_refuses_a_zero_increment() -> None:
    with pytest.raises(ValueProblem):
        round_to(D(1), D(0), "down")


def test_division_error_never_crosses_an_increment() -> None:
    assert round_to(D(100) / D(60) * D(60), D(1), "up") == D(100)
    assert round_to(D(1) / D(3) * D(3), D(1), "down") == D(1)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [("2024-01-31", 1, "2024-02-29"), ("2024-02-29", 12, "2025-02-28"), ("2023-06-15", 24, "2025-06-15"),
     ("2025-03-31", -1, "2025-02-28")],
)
def test_add_months_clamps_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(date.fromisoformat(start), months) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [("2025-03-10", "2025-05-20", 2), ("2025-03-10", "2025-05-10", 2), ("2025-03-10", "2025-05-09", 1),
     ("2025-05-20", "2025-03-10", -2),
     ("2025-01-31", "2025-02-28", 1)],  # one month after 31 January is 28 February, as add_months says
)
def test_months_between_counts_whole_months(start: str, end: str, months: int) -> None:
    assert months_between(date.fromisoformat(start), date.fromisoformat(end)) == months


@pytest.mark.parametrize(
    ("formats", "text", "expected"),
    [
        (["YYYY-MM-DD"], "2025-02-11", "2025-02-11"),
        (["MM/DD/YYYY", "YYYY-MM-DD"], "03/15/2025", "2025-03-15"),
        (["MM/DD/YYYY", "YYYY-MM-DD"], "2025-03-15", "2025-03-15"),
        (["DD/MM/YYYY"], "15/03/2025", "2025-03-15"),
        (["MM/DD/YYYY"], "6/5/2024", "2024-06-05"),
    ],
)
def test_date_reader_accepts_declared_formats(formats: list[str], text: str, expected: str) -> None:
    assert DateReader(formats)(text) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("2025-02-30", "not a real calendar date"), ("02/30/2025", "not a date written"),
     ("2025-13-01", "not a real calendar date"), ("10000-01-01", "not a date written"),
     ("2025-02-11T10:00:00+02:00", "timestamp"), ("20250211", "not a date written")],
)
def test_date_reader_explains_bad_dates(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DateReader(["YYYY-MM-DD"])(text)


@pytest.mark.parametrize("text", ["\uff12\uff10\uff12\uff14-\uff10\uff16-\uff11\uff15",
                                  "\u0660\u0666/\u0661\u0665/\u0662\u0660\u0662\u0664"])
@pytest.mark.parametrize("formats", [["YYYY-MM-DD"], ["YYYY-MM-DD", "MM/DD/YYYY"]])
def test_dates_are_written_with_ascii_digits_only(formats: list[str], text: str) -> None:
    with pytest.raises(ValueError, match="not a date written"):
        DateReader(formats)(text)


@pytest.mark.parametrize(("value", "text"), [("1.50", "1.5"), ("2.0", "2"), ("1E+2", "100"), ("0.000", "0"),
                                             ("-0.10", "-0.1"), ("1234567890" * 3, "1234567890" * 3),
                                             ("1e999", "1E+999"), ("1e-999999999", "1E-999999999")])
def test_format_number(value: str, text: str) -> None:
    assert format_number(D(value)) == text


def test_format_credits_keeps_the_spec_precision() -> None:
    assert format_credits(D("0.1"), 1) == "0.1"
    assert format_credits(D("2"), 2) == "2.00"
    assert format_credits(D("1.25"), 0) == "1"


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e400", "-1e13", "0.0000000000001"])
def test_checked_decimal_refuses_what_no_record_should_hold(text: str) -> None:
    with pytest.raises(ValueError):
        checked_decimal(D(text))


def test_negative_zero_becomes_zero() -> None:
    assert str(checked_decimal(D("-0"))) == "0"
