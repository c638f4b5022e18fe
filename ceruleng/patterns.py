"""Regular expressions matched in linear time: a spec's `matches` pattern → a compiled RE2 program, or why not.

Input: the pattern text a spec writes in `matches(text, "PATTERN")`. Output: a compiled pattern whose `fullmatch`
runs in time linear in the text (RE2, google-re2: no backtracking, so no input can make it explode), or a
`PatternProblem` saying why the pattern cannot be matched that way. `check` refuses what RE2 cannot express
(`expr.builtins.regex_problem`); generated code matches with `compiled()`. Imports nothing of ceruleng.

RE2 bounds the time by the text's length times the compiled program's size; the program is bounded here
(MAX_PROGRAM_SIZE) and the text by `matches` itself (MAX_MATCH_INPUT), so one match costs at most
a millisecond whatever the pattern and the text (measured in bench/scaling.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from msgspec import Struct

MAX_PROGRAM_SIZE = 2000
"""Most RE2 instructions a pattern may compile to: `(CEP|CP|CA|CS|CL)[0-9]{5,6}` is 18, `[a-z]{0,20}` six times
244; `(.*){1000}` (9,003) is refused."""

MAX_MATCH_INPUT = 200
"""Longest text `matches` will test; longer input rejects the activity. RE2's time is linear in the text times the
pattern's program (at most MAX_PROGRAM_SIZE steps): bounding both keeps one match under a millisecond,
where 100,000 characters against the largest allowed program can take almost a second (bench/scaling.py)."""


class PatternProblem(Struct, frozen=True):
    """RE2 refused the pattern (`message` is its reason), or it compiles to too large a program (`too_large`)."""

    message: str
    too_large: bool = False


def _options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own line on stderr for every refused pattern
    options.never_capture = True  # only whether the whole text matches is wanted: the fastest engine
    return options


def compile_linear(pattern: str) -> Any:
    """The pattern compiled by RE2 (`fullmatch(text)` is linear in the text), or a PatternProblem."""
    import re2

    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not a pattern RE2 can read"
        return PatternProblem(reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason))
    except UnicodeEncodeError:
        return PatternProblem("the pattern holds a character that is not text (a lone surrogate)")
    size = int(compiled.programsize)
    if size > MAX_PROGRAM_SIZE:
        return PatternProblem(f"the pattern compiles to {size:,} steps (limit {MAX_PROGRAM_SIZE:,})", too_large=True)
    return compiled


@cache
def compiled(pattern: str) -> Any:
    """The compiled pattern for generated code: checked by `check` already, so a problem here is a bug."""
    found = compile_linear(pattern)
    if isinstance(found, PatternProblem):
        raise ValueError(f"pattern {pattern!r} cannot be matched: {found.message}")
    return found
