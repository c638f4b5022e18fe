"""The check cache: a hit gives the same diagnostics as a fresh check, and any change to what a spec reads misses."""

from __future__ import annotations

import shutil
from pathlib import Path

from ceruleng.checkcache import check_paths

ROOT = Path(__file__).parent.parent


def _codes(path: Path) -> list[tuple[str, int, int]]:
    [report] = check_paths([str(path)])
    return [(d.code, d.span.line, d.span.column) for d in report.diagnostics]


def test_a_cached_check_equals_a_fresh_one(tmp_path: Path) -> None:
    spec = tmp_path / "pace.yaml"
    shutil.copytree(ROOT / "rules" / "sources", tmp_path / "sources")
    spec.write_text((ROOT / "rules" / "asap-pace.yaml").read_text().replace("credit: 0.1\n", "credit: flor(1)\n"))
    fresh = check_paths([str(spec)], use_cache=False)[0].diagnostics
    first = check_paths([str(spec)])[0].diagnostics
    again = check_paths([str(spec)])[0].diagnostics
    assert [d.code for d in fresh] == [d.code for d in first] == [d.code for d in again] == ["expr-unknown-function"]
    assert again[0].span == fresh[0].span and again[0].hint == fresh[0].hint


def test_changing_a_cited_text_invalidates_the_cached_result(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "rules" / "sources", tmp_path / "sources")
    spec = tmp_path / "pace.yaml"
    shutil.copy(ROOT / "rules" / "asap-pace.yaml", spec)
    assert _codes(spec) == []
    text = tmp_path / "sources" / "asap-pace.txt"
    text.write_text(text.read_text().replace("CAP = 1.6 CEU.", "CAP = 2 CEU."))
    codes = [code for code, _, _ in _codes(spec)]
    assert codes and set(codes) == {"source-quote-not-found"}  # the sentence is cited by two rules


def test_editing_the_spec_misses_the_cache(tmp_path: Path) -> None:
    spec = tmp_path / "pace.yaml"
    shutil.copytree(ROOT / "rules" / "sources", tmp_path / "sources")
    original = (ROOT / "rules" / "asap-pace.yaml").read_text()
    spec.write_text(original)
    assert _codes(spec) == []
    spec.write_text(original.replace("places: 1", "places: 9"))
    assert [code for code, _, _ in _codes(spec)] == ["schema-range"]
