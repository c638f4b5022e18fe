"""Back end: the record checker — attribute declarations → one generated `coerce(raw) -> (typed, problems)` function.

Input: the attributes a spec reads (standard ones plus its declarations), its date formats and scales. Output: a
compiled checker that costs a few attribute tests per valid record and calls `ceruleng.fields` for everything else.
It is written with the same `CodeWriter` as the scoring module (each line maps back to the attribute declaration it
checks) and runs with the same kind of restricted globals (`ceruleng.runtime.RECORDS`): no Python built-ins beyond
a handful of safe ones.

Why generated: checking a record this way costs a few attribute tests instead of a JSON Schema validation (which
manages ~45,000 records/s).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR
from typing import Any

from ceruleng.backend.writer import CodeWriter
from ceruleng.compiled import Origin
from ceruleng.compiler.state import CompileState
from ceruleng.fields import MAX_TEXT, STANDARD_ATTRIBUTES, Coercer
from ceruleng.model import Attribute
from ceruleng.runtime import RECORDS
from ceruleng.source import nowhere
from ceruleng.values import MAX_MAGNITUDE, DateReader

DAYS_KEPT = 20_000
"""The most ISO days a record checker remembers (about 55 years of days; then it starts again)."""

_INT_HIGH = int(MAX_MAGNITUDE) - 1
_INT_LOW = -_INT_HIGH
"""The int range a number attribute accepts without further checks (below values.MAX_MAGNITUDE in size)."""


def build_coercer(
    attributes: Mapping[str, Attribute], reader: DateReader, scales: Mapping[str, Sequence[str]], label: str,
    types: Collection[str] | None = None, spec_path: str = "",
) -> Coercer:
    """Generate and compile the record checker for one spec (or for a spec's credential attributes).

    With `types` (the spec's activity types), a record of another type is checked for the standard attributes
    only: one log serves several specs, and an activity meant for another body must be rejected as an unknown
    type, not as malformed because it lacks an attribute this spec requires of its own activities.

    The typed record is a copy of the input with converted values (numbers → Decimal, dates → date); absent
    attributes stay absent and read as None. Each attribute gets a fast path for the common, valid case (plain
    text, an int within bounds, an ISO date), decided at generation time; anything else goes to the field
    functions, which convert what they can and explain the rest.
    """
    namespace: dict[str, Any] = {**RECORDS, "_reader": reader, "_scales": scales, "_ValueError": ValueError}
    writer = CodeWriter(f"<ceruleng records of {label} in {spec_path or 'a spec'}>")
    own = {name: attribute for name, attribute in attributes.items() if name not in STANDARD_ATTRIBUTES}
    with writer.block("def coerce(r):"):
        with writer.block("if r.__class__ is not _dict:"):
            with writer.block("if _is_unreadable(r):"):
                writer.line("return None, _problems_of(r)")
            with writer.block("if not _is_mapping(r):"):
                writer.line(f"return None, [{label + ' must be a mapping of attributes, got '!r} + _shown(r)]")
        if types is not None and own:
            namespace["_types"] = frozenset(types)
            standard = {name: attribute for name, attribute in attributes.items() if name in STANDARD_ATTRIBUTES}
            namespace["_standard"] = build_coercer(standard, reader, scales, label, spec_path=spec_path)
            writer.line("k = r.get('type')")
            with writer.block("if k.__class__ is _str and k not in _types:"):
                writer.line("return _standard(r)")
        writer.line("p = []")
        writer.line("t = r.copy()")
        writer.line("get = r.get")
        for index, attribute in enumerate(attributes.values()):
            namespace[f"_a{index}"] = attribute
            span = attribute.span or nowhere(spec_path or label)
            with writer.origin(Origin(span, f"record check of {attribute.name}")):
                _field(writer, attribute, index, namespace, reader, scales)
        if "segments" in attributes:
            with writer.block("if s:"):
                writer.line("_reconcile(t, p)")
        writer.line("return t, p")
    program = writer.compile(namespace)
    coerce: Coercer = program.namespace["coerce"]
    return coerce


def _field(writer: CodeWriter, attribute: Attribute, index: int, namespace: dict[str, Any], reader: DateReader,
           scales: Mapping[str, Sequence[str]]) -> None:
    """Check one attribute of `r` and store its typed value in `t` (None when malformed).

    The valid case costs one test: bounds and limits are written into the code as literals.
    """
    key = repr(attribute.name)
    if attribute.type == "segments":  # kept in `s`, so the check that reconciles them reads no mapping
        writer.line(f"s = get({key})")
        with writer.block("if s is not None:"):
            writer.line(f"t[{key}] = s = _segments(s, p)")
        return
    slow = {
        "number": f"_number(v, _a{index}, p)", "integer": f"_number(v, _a{index}, p)",
        "text": f"_text(v, _a{index}, p, _scales)", "date": f"_date(v, _a{index}, p, _r{index})",
        "boolean": f"_boolean(v, _a{index}, p)", "text-list": f"_text_list(v, _a{index}, p)",
    }[attribute.type]  # fmt: skip
    writer.line("v = k" if attribute.name == "type" and "_types" in namespace else f"v = get({key})")
    if attribute.type == "text" and not attribute.required:
        with writer.block(f"if v is not None and ({_text_problem(attribute, index, namespace, scales)}):"):
            writer.line(f"t[{key}] = {slow}")
        return
    if attribute.type in ("boolean", "text-list") and not attribute.required:
        with writer.block("if v is not None:"):
            writer.line(f"t[{key}] = {slow}")
        return
    if attribute.required:
        with writer.block("if v is None:"):
            writer.line(f"p.append({attribute.name + ': missing (required)'!r})")
            writer.line(f"t[{key}] = None")
    else:
        with writer.block("if v is None:"):
            writer.line("pass")
    _present_value(writer, attribute, index, key, slow, namespace, reader, scales)


def _present_value(writer: CodeWriter, attribute: Attribute, index: int, key: str, slow: str,
                   namespace: dict[str, Any], reader: DateReader, scales: Mapping[str, Sequence[str]]) -> None:
    """The branches after `if v is None:` — the fast path for a valid value, then the field reader."""
    if attribute.type in ("number", "integer"):
        # int bounds written as literals, so the common case compares int with int
        low, high = attribute.minimum, attribute.maximum
        lo = _INT_LOW if low is None else int(low.to_integral_value(ROUND_CEILING))
        hi = _INT_HIGH if high is None else int(high.to_integral_value(ROUND_FLOOR))
        with writer.block(f"elif v.__class__ is _int and {lo} <= v <= {hi}:"):
            writer.line(f"t[{key}] = _Decimal(v)")
    elif attribute.type == "text":
        with writer.block(f"elif {_text_problem(attribute, index, namespace, scales)}:"):
            writer.line(f"t[{key}] = {slow}")
        return
    elif attribute.type == "date":
        date_reader = DateReader(attribute.formats) if attribute.formats else reader
        namespace[f"_r{index}"] = date_reader
        if "YYYY-MM-DD" in date_reader.formats:
            # an ISO day seen before is one lookup: a batch has a few thousand days for millions of records
            namespace.setdefault("_days", {})
            with writer.block("elif v.__class__ is _str and (d := _days.get(v)) is not None:"):
                writer.line(f"t[{key}] = d")
            with writer.block("elif v.__class__ is _str and len(v) == 10 and v[4] == '-' and v[7] == '-' "
                              "and v[:4].isdigit():"):
                with writer.block("try:"):
                    writer.line(f"t[{key}] = d = _fromiso(v)")
                with writer.block("except _ValueError:"):
                    writer.line(f"t[{key}] = {slow}")
                with writer.block("else:"):
                    with writer.block(f"if len(_days) >= {DAYS_KEPT}:"):
                        writer.line("_days.clear()")
                    writer.line("_days[v] = d")
    with writer.block("else:"):
        writer.line(f"t[{key}] = {slow}")


def _text_problem(attribute: Attribute, index: int, namespace: dict[str, Any],
                  scales: Mapping[str, Sequence[str]]) -> str:
    """The test that sends a text value to the field reader: not text, too long, empty when required, or not one of
    the values its scale or `one_of` allows."""
    allowed = attribute.one_of or (tuple(scales.get(attribute.scale, ())) if attribute.scale else None)
    if allowed is not None:
        namespace[f"_in{index}"] = frozenset(allowed)
        return f"v.__class__ is not _str or v not in _in{index}"
    return f"v.__class__ is not _str or len(v) > {MAX_TEXT}" + (" or not v.strip()" if attribute.required else "")



def record_checkers(state: CompileState) -> tuple[Coercer, Coercer]:
    """The record checkers of a checked spec: for its activities, and for its credentials' own attributes."""
    model = state.model
    scales = {name: scale.values for name, scale in model.scales.items()}
    reader = DateReader(model.date_formats)
    activity = build_coercer(state.attributes, reader, scales, "an activity", types=model.activity_types,
                             spec_path=model.path)
    credential = build_coercer(model.credential_attributes, reader, scales, "a credential", spec_path=model.path)
    return activity, credential
