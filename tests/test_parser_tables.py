"""The expression parser runs no code from outside the package: its LALR tables ship as JSON generated from the
grammar, and Lark's pickle cache in the shared temporary folder is never read or written.

The planted-pickle test writes a real Lark cache file at the exact path older ceruleng read (Lark's `cache=True`
names it from the grammar, the options and the versions), swaps in a pickle that creates a marker file when
loaded, proves the plant works by loading it the old way, and then runs `ceruleng check` in a subprocess with
that temporary folder: the marker must not appear, and no new cache file may be written.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceruleng.errors import ExpressionError
from ceruleng.expr import parser
from ceruleng.source import Span

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "tests" / "check_cases" / "expr-syntax.yaml"


def test_the_shipped_tables_are_for_this_grammar_and_lark() -> None:
    """parse_tables.json was made by write_tables() from grammar.lark as it is, with the Lark installed (regenerate
    it after editing the grammar or upgrading Lark: `python -c 'from ceruleng.expr.parser import write_tables;
    write_tables()'`), and it is plain JSON of the shape write_tables() writes."""
    shipped = json.loads((ROOT / "ceruleng" / "expr" / "parse_tables.json").read_text(encoding="utf-8"))
    assert set(shipped) == {"about", "fingerprint", "data", "memo"}
    assert shipped["fingerprint"] == parser._fingerprint(parser._grammar())
    assert set(json.loads(parser.tables_source())) == set(shipped)


def _corpus() -> list[str]:
    cases = yaml.safe_load((ROOT / "tests" / "expressions" / "cases.yaml").read_text(encoding="utf-8"))["cases"]
    broken = ["(", "1 +", "a b", "if x then 1", "'unterminated", "1 == 2 == 3", "f(,)", "[1, 2", "a.b.c[", "--1",
              "not not x", "x in [1, 'a']", "1.5.3", "#comment only", "a && b", "x = 1", "50%"]
    return [case["expr"] for case in cases] + broken


def _outcome(text: str) -> Any:
    try:
        return repr(parser.parse(text, lambda offset: Span("e", 1, offset + 1)))
    except ExpressionError as exc:
        return [(d.code, d.message, d.span.column) for d in exc.diagnostics]


def test_the_shipped_tables_parse_exactly_like_the_grammar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every expression of the corpus, good and broken, gives the same tree or the same diagnostics either way."""
    monkeypatch.setattr(parser, "_parser", None)
    from_tables = [_outcome(text) for text in _corpus()]
    monkeypatch.setattr(parser, "_parser", None)
    monkeypatch.setattr(parser, "_shipped_tables", dict)  # no tables: built from the grammar
    from_grammar = [_outcome(text) for text in _corpus()]
    assert from_tables == from_grammar
    assert sum(isinstance(outcome, list) for outcome in from_tables) >= 17  # the broken ones are errors


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["1", "2.5", ".5", "x", "minutes", "'a'", '"b"', "(", ")", "[", "]", ",", "+", "-",
                                 "*", "/", "==", "!=", "<", "<=", ">", ">=", "in", "not", "and", "or", "if", "then",
                                 "else", "true", "false", ".", "floor", "@", "#", " "]), max_size=14))
def test_random_text_parses_the_same_with_the_shipped_tables(monkeypatch: pytest.MonkeyPatch,
                                                            tokens: list[str]) -> None:
    text = " ".join(tokens)
    monkeypatch.setattr(parser, "_parser", _TABLES_PARSER)
    from_tables = _outcome(text)
    monkeypatch.setattr(parser, "_parser", _GRAMMAR_PARSER)
    assert _outcome(text) == from_tables


def _parser_from(tables: bool) -> Any:
    saved, saved_tables = parser._parser, parser._shipped_tables
    parser._parser = None
    if not tables:
        parser._shipped_tables = dict
    try:
        return parser._get_parser()
    finally:
        parser._parser, parser._shipped_tables = saved, saved_tables


_TABLES_PARSER = _parser_from(tables=True)
_GRAMMAR_PARSER = _parser_from(tables=False)


def test_stale_tables_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables made for another grammar or Lark (the fingerprint differs) are ignored, not trusted."""
    monkeypatch.setattr(parser, "_parser", None)
    monkeypatch.setattr(parser, "_shipped_tables", lambda: {"fingerprint": "stale", "data": {}, "memo": {}})
    assert _outcome("floor(minutes / 60)").startswith("Call(")


_PAYLOAD = """
import pathlib, sys
pathlib.Path(sys.argv[1]).write_text("pwned")
"""


class _Planted:
    """Unpickling this runs `python -c PAYLOAD MARKER`: what an attacker's file in /tmp could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return subprocess.call, ([sys.executable, "-c", _PAYLOAD, str(self.marker)],)


_OLD_WAY = """
import sys
from importlib import resources
from lark import Lark
grammar = resources.files("ceruleng.expr").joinpath("grammar.lark").read_text(encoding="utf-8")
try:
    Lark(grammar, parser="lalr", keep_all_tokens=True, maybe_placeholders=True, cache=True)
except Exception:
    pass  # a planted file is not a parser: loading it fails after it has run
"""


def _python(code: str, temp: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(temp), "CERULENG_NO_CACHE": "1"}
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *arguments], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_pickle_planted_at_the_old_lark_cache_path_is_never_loaded(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    assert _python(_OLD_WAY, temp).returncode == 0  # Lark writes its cache file where the old ceruleng looked
    [cache_file] = temp.glob(".lark_cache_*.tmp")
    marker = tmp_path / "pwned"
    fingerprint_line = cache_file.read_bytes().split(b"\n", 1)[0] + b"\n"  # Lark checks it, then unpickles
    cache_file.write_bytes(fingerprint_line + pickle.dumps(_Planted(marker)))
    _python(_OLD_WAY, temp)
    assert marker.read_text() == "pwned"  # the plant works: the old way runs it
    marker.unlink()

    done = _python("", temp, "-m", "ceruleng", "check", "--no-cache", str(SPEC))
    assert done.returncode == 1 and "error[expr-syntax]" in done.stdout, done.stdout + done.stderr
    assert not marker.exists()
    assert [path.name for path in temp.iterdir()] == [cache_file.name]  # and nothing new written there


def test_check_writes_no_parser_cache_to_the_temporary_folder(tmp_path: Path) -> None:
    done = _python("", tmp_path, "-m", "ceruleng", "check", "--no-cache", str(ROOT / "rules"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []
