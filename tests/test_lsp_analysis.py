"""The language server's pure parts, without a client: positions, schema paths, places and scopes at a cursor.

The protocol tests (tests/test_lsp.py) show the features work end to end; these pin the rules behind them case by
case — where a key being typed belongs, which names an expression sees at each place, how a span without an end
becomes a range — so a regression names the rule it broke.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ceruleng.engine import check_text
from ceruleng.errors import sorted_diagnostics
from ceruleng.lsp.analysis import analyse, enclosing_call, indent_path
from ceruleng.lsp.features import completions, hover, quick_fixes
from ceruleng.lsp.positions import Lines, Position, Range, from_client, span_range, to_client
from ceruleng.lsp.schemapath import schema_at
from ceruleng.source import Span

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "rules" / "asap-pace.yaml"
TEXT = SPEC.read_text(encoding="utf-8")


def _texts() -> list[Path]:
    found = sorted((ROOT / "rules").glob("*.yaml"))
    for path in sorted((Path(__file__).parent / "check_cases").glob("*.yaml")):
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found.append(path)
    return found


@pytest.mark.parametrize("path", _texts(), ids=lambda p: p.name)
def test_problems_are_checks_diagnostics(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = [(d.code, d.severity, d.span.line - 1, d.span.column - 1, d.message, d.hint)
                for d in sorted_diagnostics(check_text(text, str(path), generate=False).diagnostics)]
    got = [(p.code, p.severity, p.range.start.line, p.range.start.character, p.message, p.hint)
           for p in analyse(text, str(path)).problems]
    assert got == expected


LINES = Lines('a: 1\nname: "😀x" + flor(2)\r\nlast')


@pytest.mark.parametrize(("span", "expected"), [
    (Span("f", 2, 14, 0, 0), ((1, 13), (1, 17))),       # an expression token: the word at its start
    (Span("f", 2, 13, 0, 0), ((1, 12), (1, 13))),       # not a word: one character
    (Span("f", 1, 1, 1, 5), ((0, 0), (0, 4))),          # a YAML node: its own end (exclusive, 1-based)
    (Span("f", 9, 9, 0, 0), ((2, 4), (2, 4))),          # past the end of the file: its last position
    (Span("f", 2, 99, 0, 0), ((1, 20), (1, 20))),       # past the end of a line ("\r" excluded)
    (Span("f", 1, 3, 1, 1), ((0, 2), (0, 3))),          # an end before the start: treated as unknown
])
def test_span_ranges(span: Span, expected: tuple[tuple[int, int], tuple[int, int]]) -> None:
    assert span_range(span, LINES) == Range(Position(*expected[0]), Position(*expected[1]))


def test_client_units_count_surrogate_pairs() -> None:
    assert to_client(LINES, Position(1, 8)) == (1, 9)  # 'x' after the emoji: 2 UTF-16 units for one character
    assert to_client(LINES, Position(1, 8), "utf-8") == (1, 11)
    assert to_client(LINES, Position(1, 8), "utf-32") == (1, 8)
    assert from_client(LINES, 1, 9) == Position(1, 8)
    assert from_client(LINES, 1, 8) == Position(1, 7)  # inside the pair: the emoji itself
    assert from_client(LINES, 1, 500) == Position(1, 20)
    assert from_client(LINES, 40, 3) == Position(2, 4)
    assert from_client(LINES, -1, 3) == Position(0, 0)


_NESTED = """\
categories:
  - id: a
    checks:
      - id: b
        require: x
        source:
          doc: d
    let:
      n: 1
list:
- id: c
  title: t
"""


@pytest.mark.parametrize(("line", "column", "expected"), [
    (1, 4, ("categories", 0)),                  # beside `id` in the first item
    (2, 4, ("categories", 0)),
    (4, 8, ("categories", 0, "checks", 0)),
    (6, 10, ("categories", 0, "checks", 0, "source")),
    (7, 4, ("categories", 0)),                  # a key after a nested block
    (8, 6, ("categories", 0, "let")),
    (9, 0, ()),
    (11, 2, ("list", 0)),                       # a list at its key's own indentation
    (12, 0, ()),
])
def test_indent_paths(line: int, column: int, expected: tuple[object, ...]) -> None:
    assert indent_path(Lines(_NESTED), Position(line, column)) == expected


def test_a_new_list_item_belongs_to_its_list() -> None:
    lines = Lines(_NESTED + "categories2:\n  - wh")
    assert indent_path(lines, Position(13, 4)) == ("categories2", 0)


@pytest.mark.parametrize(("path", "kind"), [
    (("categories", 3, "credit"), "expression"),
    (("categories", 3, "explain"), "template"),
    (("categories", 0, "checks", 1, "require"), "expression"),
    (("let", "anything"), "expression"),
    (("requirement", "alternatives", 0, "met_when"), "expression"),
    (("categories", 0, "title"), None),
    (("nonsense", 1, "deeper"), None),
])
def test_the_schema_says_which_values_are_expressions(path: tuple[str | int, ...], kind: str | None) -> None:
    node = schema_at(path)
    assert (node.kind if node else None) == kind


@pytest.mark.parametrize(("text", "offset", "expected"), [
    ("sum(segments, min", 17, ("sum", 1, "segments")),
    ("sum(segments, min", 6, ("sum", 0, "se")),
    ('round(x, 0.25, "d', 16, None),                     # inside quotes
    ("count(segments, kind in [lunch, ", 32, ("count", 1, "segments")),  # inside a list literal: still the call
    ("sum(segments, (minutes + ", 25, ("sum", 1, "segments")),  # inside plain parentheses: still the call
    ("t[sum(s, m", 10, ("sum", 1, "s")),
    ("floor(x) + ", 11, None),
    ("(a + b", 6, None),
])
def test_enclosing_calls(text: str, offset: int, expected: tuple[str, int, str] | None) -> None:
    assert enclosing_call(text, offset) == expected


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _names(text: str, fragment: str, offset: int) -> set[str]:
    analysis = analyse(text, str(SPEC))
    lines = text.split("\n")
    [number] = [n for n, line in enumerate(lines) if fragment in line]
    found = completions(analysis, Position(number, lines[number].index(fragment) + offset))
    return {item.label for item in found}


def test_scopes_follow_the_compiler() -> None:
    text = _replace(TEXT, "    credit: 1.0\n", "    let:\n      own: 2\n    credit: own\n")
    assert "own" in _names(text, "credit: own", len("credit: "))
    assert "own" not in _names(text, 'require: grade >= "C+"', len("require: "))  # checks come before lets
    explain = _names(text, "graded {grade} earns", len("graded {g"))
    assert {"credits", "own", "grade"} <= explain
    alternative = _replace(text, "  carry_over:\n", "  alternatives:\n    - id: alt\n      title: t\n"
                                                    "      met_when: true\n"
                                                    "      source: {doc: pace, quote: not in the text}\n"
                                                    "  carry_over:\n")
    met = _names(alternative, "met_when: true", len("met_when: "))
    assert "activities" in met and "minutes" not in met


def test_a_placeholder_being_typed_completes() -> None:
    text = _replace(TEXT, '"APC attendance earns the {credits} CEU of the sessions selected."',
                    '"APC attendance earns the {sel"')
    names = _names(text, "APC attendance earns the {sel", len("APC attendance earns the {sel"))
    assert {"selected_credits", "credits"} <= names


def test_hover_on_a_function_shows_its_documented_example() -> None:
    analysis = analyse(TEXT, str(SPEC))
    lines = TEXT.split("\n")
    [number] = [n for n, line in enumerate(lines) if "floor(learning_minutes / 60)" in line]
    found = hover(analysis, Position(number, lines[number].index("floor") + 1))
    assert found is not None
    assert "floor(90 / 60) → 1" in found[0]


def test_windows_line_endings_change_no_position() -> None:
    broken = TEXT.replace("floor(learning_minutes / 60)", "rond(learning_minutes / 60)")
    unix = analyse(broken, str(SPEC))
    windows = analyse(broken.replace("\n", "\r\n"), str(SPEC))
    assert [(p.code, p.range) for p in windows.problems] == [(p.code, p.range) for p in unix.problems]
    line = next(n for n, text in enumerate(broken.split("\n")) if "rond(" in text)
    cursor = Position(line, broken.split("\n")[line].index("rond(") + len("rond(lear"))
    assert {"learning_minutes", "round"} <= {item.label for item in completions(windows, cursor)}


def test_a_block_scalar_expression_maps_every_line() -> None:
    explain = next(line for line in TEXT.split("\n") if line.startswith("    explain: ") and "learning_minutes" in line)
    text = _replace(TEXT, f"    credit: full_hours / hours_per_unit\n{explain}\n    source:\n      - doc: pace\n"
                          "        quote: Lorman",
                    f"    credit: |\n      full_hours\n        / hours_per_unit\n{explain}\n    source:\n"
                    "      - doc: pace\n        quote: Lorman")
    analysis = analyse(text, str(SPEC))
    lines = text.split("\n")
    line = lines.index("        / hours_per_unit")
    found = hover(analysis, Position(line, len("        / hours")))
    assert found is not None and found[0].startswith("**hours_per_unit** — unit, number")
    assert found[1] == Range(Position(line, 10), Position(line, 24))


def test_a_misspelt_rounding_mode_gets_a_quick_fix() -> None:
    path = ROOT / "rules" / "aca.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("      mode: down\n") == 1
    analysis = analyse(text.replace("      mode: down\n", "      mode: dwn\n"), str(path))
    [problem] = [p for p in analysis.problems if p.code == "unknown-rounding-mode"]
    line = text.split("\n").index("      mode: down")
    [fix] = quick_fixes(analysis, problem.range)
    assert (fix.new_text, fix.range) == ("down", Range(Position(line, 12), Position(line, 15)))
    quoted = analyse(text.replace("      mode: down\n", '      mode: "dwn"\n'), str(path))
    [fix] = quick_fixes(quoted, quoted.problems[0].range)
    assert fix.range == Range(Position(line, 13), Position(line, 16))  # inside the quotes
