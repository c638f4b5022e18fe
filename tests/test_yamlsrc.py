"""The YAML loader: YAML 1.2 core scalars, positions of every node, duplicate keys, bounded aliases and depth."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ceruleng.files import decode
from ceruleng.yamlsrc import MAX_DEPTH, load_yaml


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.50", Decimal("1.50")),
        ("90", 90),
        ("-0", 0),
        ("1e400", Decimal("1e400")),
        ("2025-02-11", "2025-02-11"),  # dates stay text until a spec says how to read them
        ("no", "no"),  # YAML 1.1 booleans are text
        ("yes", "yes"),
        ("0x10", "0x10"),
        ("1_000", "1_000"),
        (".inf", ".inf"),
        (".nan", ".nan"),
        ("1:30", "1:30"),  # not sexagesimal 90
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("'0.1'", "0.1"),
    ],
)
def test_scalars_follow_yaml_1_2_core_and_never_become_floats(text: str, value: object) -> None:
    document, diagnostics = load_yaml(f"key: {text}\n", "t.yaml")
    assert document is not None and not diagnostics
    assert document.data["key"] == value
    assert type(document.data["key"]) is type(value)


def test_every_value_and_key_has_its_position() -> None:
    document, _ = load_yaml("a:\n  b: [1, 2]\n  c: x\n", "t.yaml")
    assert document is not None
    assert (document.span(("a", "b", 1)).line, document.span(("a", "b", 1)).column) == (2, 10)
    assert (document.key_span(("a", "c")).line, document.key_span(("a", "c")).column) == (3, 3)


def test_positions_inside_a_quoted_expression_map_to_the_file() -> None:
    document, _ = load_yaml('credit: "floor(minutes / 60)"\n', "t.yaml")
    assert document is not None
    span = document.span_in_scalar(("credit",), 6)
    assert (span.line, span.column) == (1, 16)  # "minutes" starts in column 16


def test_positions_inside_a_block_scalar_map_to_the_file() -> None:
    document, _ = load_yaml("credit: |\n  if a\n  then b else c\n", "t.yaml")
    assert document is not None
    span = document.span_in_scalar(("credit",), document.data["credit"].index("then"))
    assert (span.line, span.column) == (3, 3)


def test_duplicate_keys_are_reported_at_the_second_key_and_the_first_kept() -> None:
    document, diagnostics = load_yaml("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n", "t.yaml")
    assert document is not None and document.data == {"a": 1, "b": {"c": 2}}
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [
        ("yaml-duplicate-key", 4, 3),
        ("yaml-duplicate-key", 5, 1),
    ]


def test_alias_bombs_stop_early() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for index in range(1, 10):
        previous, name = chr(96 + index), chr(97 + index)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    _, diagnostics = load_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert [d.code for d in diagnostics] == ["yaml-alias-bomb"]


def test_a_few_aliases_are_fine() -> None:
    document, diagnostics = load_yaml("base: &s {doc: x, quote: y}\none: *s\ntwo: *s\n", "t.yaml")
    assert not diagnostics and document is not None and document.data["two"] == {"doc": "x", "quote": "y"}


@pytest.mark.parametrize(("depth", "code"), [(50, None), (MAX_DEPTH + 5, "yaml-too-deep"), (10_000, "yaml-too-deep")])
def test_nesting_is_bounded(depth: int, code: str | None) -> None:
    _, diagnostics = load_yaml("[" * depth + "]" * depth, "deep.yaml")
    assert [d.code for d in diagnostics] == ([code] if code else [])


def test_tags_that_construct_objects_are_refused() -> None:
    _, diagnostics = load_yaml('!!python/object/apply:os.system ["true"]\n', "t.yaml")
    assert [d.code for d in diagnostics] == ["yaml-tag"]


def test_merge_keys_are_refused() -> None:
    _, diagnostics = load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n", "t.yaml")
    assert [(d.code, d.span.line) for d in diagnostics] == [("yaml-key", 3)]


def test_tabs_get_a_hint() -> None:
    document, diagnostics = load_yaml("a:\n\tb: 1\n", "t.yaml")
    assert document is None
    assert diagnostics[0].code == "yaml-syntax" and "tabs" in (diagnostics[0].hint or "")


def test_bom_is_dropped_and_bad_bytes_are_located() -> None:
    assert decode(b"\xef\xbb\xbfa: 1\n", "t.yaml") == ("a: 1\n", None)
    text, problem = decode(b"a: 1\nb: \xff\n", "t.yaml")
    assert text is None and problem is not None
    assert (problem.code, problem.span.line, problem.span.column) == ("yaml-encoding", 2, 4)


def test_empty_document_is_none() -> None:
    document, diagnostics = load_yaml("", "t.yaml")
    assert document is not None and document.data is None and not diagnostics
