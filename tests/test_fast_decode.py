"""The fast JSON decoder gives exactly what the standard library's decoder gives, or hands the text to it.

`inputs.fast_decode` reads JSON Lines and JSON files at C speed; whenever it answers, the answer must be the
standard library decoder's, value for value and type for type (an exact Decimal of the same digits, never a
float), and a document the standard library refuses (a duplicate key, NaN, a lone surrogate, an integer too long,
a document too deep) must never be answered. The hostile corpus checks what users see; these check the decoder
itself, on generated documents and their neighbours.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceruleng.inputs import _DECODER, FAST_MAX_DEPTH, NOT_FAST, DuplicateKey, fast_decode, parse_line, standard_decode


def _exact(value: Any) -> Any:
    """A value with its types and a Decimal's digits made visible, so equal-but-different values compare unequal."""
    if isinstance(value, dict):
        return ("dict", [(key, _exact(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_exact(item) for item in value])
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    return (type(value).__name__, value)


def _agrees(text: str) -> None:
    fast = fast_decode(text)
    try:
        slow = standard_decode(_DECODER, text)
    except (ValueError, RecursionError):  # DuplicateKey is a ValueError
        assert fast is NOT_FAST, text
        return
    if fast is not NOT_FAST:
        assert _exact(fast) == _exact(slow), text


keys = st.text(alphabet=st.sampled_from("ab:\\\"é𝄞 \t"), max_size=4)
scalars = (st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from("a:\\\"\n\u2028é"), max_size=6)
           | st.decimals(allow_nan=False, allow_infinity=False, places=3))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(keys, inner, max_size=3), max_leaves=12)


def _text(value: Any, separators: tuple[str, str], ascii_only: bool) -> str:
    """JSON text with decimals written as bare numbers (json.dumps cannot write a Decimal)."""
    comma, colon = separators
    if isinstance(value, dict):
        return "{" + comma.join(json.dumps(key, ensure_ascii=ascii_only) + colon + _text(item, separators, ascii_only)
                                for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + comma.join(_text(item, separators, ascii_only) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=ascii_only)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]), st.booleans())
def test_fast_decoder_agrees_with_the_standard_library(document: Any, separators: tuple[str, str],
                                                       ascii_only: bool) -> None:
    text = _text(document, separators, ascii_only)
    _agrees(text)
    assert fast_decode(text) is not NOT_FAST or "\\u" in text  # no duplicates here: only an escape sends it back


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, scalars, min_size=1, max_size=4), st.data())
def test_a_repeated_key_is_never_answered_by_the_fast_decoder(document: dict[str, Any], data: st.DataObject) -> None:
    """The text repeats one of its keys (with a colon-bearing value elsewhere to mislead the count)."""
    key = data.draw(st.sampled_from(sorted(document)))
    body = json.dumps(document, default=str, ensure_ascii=False)[1:-1]
    text = "{" + body + ", " + json.dumps(key, ensure_ascii=data.draw(st.booleans())) + ': "x:y"}'
    with pytest.raises(DuplicateKey):
        standard_decode(_DECODER, text)
    assert fast_decode(text) is NOT_FAST


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}',
    '{"a": "t:1", "a": 2}',
    '{"a\\u003a": 1, "a:": 2, "b": 3}',          # an escaped colon inside a key cannot hide a duplicate
    '{"x": {"a": 1, "\\u0061": 2}}',
    '[{"a": "1:2:3"}, {"b": 1, "b": 1}]',
])
def test_duplicates_go_to_the_standard_library(text: str) -> None:
    assert fast_decode(text) is NOT_FAST
    with pytest.raises(DuplicateKey):
        standard_decode(_DECODER, text)


@pytest.mark.parametrize(("text", "want"), [
    ('{"minutes": 90.50}', {"minutes": ("Decimal", "90.50")}),
    ('{"n": 7e2000000}', {"n": ("Decimal", "7E+2000000")}),
    ('{"n": 1e99999999999999999999}', {"n": ("Decimal", "1E+1000000000000000")}),
    ('{"n": -0.0}', {"n": ("Decimal", "-0.0")}),
    ('{"n": 123456789012345678901234567890}', {"n": ("int", 123456789012345678901234567890)}),
    ('{"t": "10:30", "u": "a:b:c"}', {"t": ("str", "10:30"), "u": ("str", "a:b:c")}),
])
def test_numbers_stay_exact_and_colons_in_text_are_counted(text: str, want: dict[str, Any]) -> None:
    found = fast_decode(text)
    assert found is not NOT_FAST
    assert dict(_exact(found)[1]) == want
    _agrees(text)


@pytest.mark.parametrize("text", [
    "NaN", '{"a": Infinity}', '{"a": -Infinity}', '"\\ud800"', '{"a": "\\udc41"}', "1" * 4301,
    "[" * (FAST_MAX_DEPTH + 1) + "]" * (FAST_MAX_DEPTH + 1), "[" * 5000 + "]" * 5000, '{"a": 1,}', "\ufeff{}",
    '{"a":\t1}\x0c', '"tab\there"', "",
])
def test_what_the_fast_decoder_cannot_vouch_for_goes_to_the_standard_library(text: str) -> None:
    assert fast_decode(text) is NOT_FAST
    _agrees(text)


def test_a_jsonl_line_reads_the_same_through_either_decoder() -> None:
    line = ('{"member": "M-1", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}], '
            '"activities": [{"id": "A1", "type": "webinar", "date": "2025-02-11", "minutes": 90, '
            '"title": "Excel: pivot tables", "selected_credits": 1.20}]}\r\n')
    item = parse_line("batch.jsonl", 1, line.encode())
    assert item is not None and item.problem is None
    assert _exact(item.document) == _exact(standard_decode(_DECODER, line))
    assert item.document["activities"][0]["selected_credits"] == Decimal("1.20")
