"""Back end: the record checker — attribute declarations → one generated `coerce(raw) -> (typed, problems)` function.

Input: the attributes a spec reads (standard ones plus its declarations), its date formats and scales. Output: a
compiled checker that costs a few attribute tests per valid record and calls `ceruleng.fields` for everything else.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ceruleng.fields import (
    MAX_TEXT,
    STANDARD_ATTRIBUTES,
    Coercer,
    Unreadable,
    _shown,
    boolean_field,
    date_field,
    number_field,
    reconcile_minutes,
    segments_field,
    text_field,
    text_list_field,
)
from ceruleng.model import Attribute
from ceruleng.values import DateReader


def build_coercer(
    attributes: Mapping[str, Attribute], reader: DateReader, scales: Mapping[str, Sequence[str]], label: str,
    types: Collection[str] | None = None,
) -> Coercer:
    """Generate and compile the record checker for one spec (or for a spec's credential attributes).

    With `types` (the spec's activity types), a record of another type is checked for the standard attributes
    only: one log serves several specs, and an activity meant for another body must be rejected as an unknown
    type, not as malformed because it lacks an attribute this spec requires of its own activities.

    The typed record is a copy of the input with converted values (numbers → Decimal, dates → date); absent
    attributes stay absent and read as None. Each attribute gets a fast path for the common, valid case (plain
    text, an int within bounds, an ISO date), decided at generation time; anything else goes to the field
    functions above, which convert what they can and explain the rest.
    """
    lines = [
        "def coerce(r):",
        "    if r.__class__ is not dict:",
        "        if isinstance(r, _Unreadable):",
        "            return None, list(r.problems)",
        "        if not isinstance(r, dict):",
        f"            return None, ['{label} must be a mapping of attributes, got ' + _shown(r)]",
    ]
    own = {name: attribute for name, attribute in attributes.items() if name not in STANDARD_ATTRIBUTES}
    if types is not None and own:
        lines += ["    k = r.get('type')",
                  "    if k.__class__ is str and k not in _types:",
                  "        return _standard(r)"]
    lines += [
        "    p = []",
        "    t = r.copy()",
        "    get = r.get",
    ]
    namespace: dict[str, Any] = {
        "_shown": _shown, "_Decimal": Decimal, "_number": number_field, "_text": text_field, "_date": date_field,
        "_boolean": boolean_field, "_text_list": text_list_field, "_segments": segments_field,
        "_reconcile": reconcile_minutes, "_reader": reader, "_scales": scales, "_Unreadable": Unreadable,
        "_fromiso": date.fromisoformat, "_MAX_TEXT": MAX_TEXT,
    }  # fmt: skip
    if types is not None and own:
        namespace["_types"] = frozenset(types)
        standard = {name: attribute for name, attribute in attributes.items() if name in STANDARD_ATTRIBUTES}
        namespace["_standard"] = build_coercer(standard, reader, scales, label)
    for index, attribute in enumerate(attributes.values()):
        namespace[f"_a{index}"] = attribute
        lines.extend(_field_lines(attribute, index, namespace, reader, scales))
    if "segments" in attributes:
        lines.append("    if t.get('segments'):")
        lines.append("        _reconcile(t, p)")
    lines.append("    return t, p")
    exec(compile("\n".join(lines) + "\n", f"<records {label}>", "exec"), namespace)
    coerce: Coercer = namespace["coerce"]
    return coerce


def _field_lines(attribute: Attribute, index: int, namespace: dict[str, Any], reader: DateReader,
                 scales: Mapping[str, Sequence[str]]) -> list[str]:
    """Lines that check one attribute of `r` and store its typed value in `t` (None when malformed).

    The valid case costs one test: bounds and limits are written into the code as literals.
    """
    key = repr(attribute.name)
    slow = {
        "number": f"_number(v, _a{index}, p)", "integer": f"_number(v, _a{index}, p)",
        "text": f"_text(v, _a{index}, p, _scales)", "date": f"_date(v, _a{index}, p, _r{index})",
        "boolean": f"_boolean(v, _a{index}, p)", "text-list": f"_text_list(v, _a{index}, p)",
    }[attribute.type] if attribute.type != "segments" else ""  # fmt: skip
    lines = [f"    v = get({key})"]
    if attribute.required:
        lines += ["    if v is None:", f"        p.append({attribute.name + ': missing (required)'!r})",
                  f"        t[{key}] = None"]
        present = "    elif"
    else:
        present = "    elif"
        if attribute.type in ("number", "integer", "date", "segments"):
            lines += ["    if v is None:", "        pass"]
    if attribute.type == "segments":
        return [f"    v = get({key})", "    if v is not None:", f"        t[{key}] = _segments(v, p)"]
    if attribute.type in ("number", "integer"):
        # int bounds written as literals, so the common case compares int with int
        low, high = attribute.minimum, attribute.maximum
        lo = -(10**12) + 1 if low is None else int(low.to_integral_value(ROUND_CEILING))
        hi = 10**12 - 1 if high is None else int(high.to_integral_value(ROUND_FLOOR))
        return [*lines, f"{present} v.__class__ is int and {lo} <= v <= {hi}:", f"        t[{key}] = _Decimal(v)",
                "    else:", f"        t[{key}] = {slow}"]
    if attribute.type == "text":
        allowed = attribute.one_of or (tuple(scales.get(attribute.scale, ())) if attribute.scale else None)
        if allowed is not None:
            namespace[f"_in{index}"] = frozenset(allowed)
            bad = f"v.__class__ is not str or v not in _in{index}"
        else:
            bad = f"v.__class__ is not str or len(v) > {MAX_TEXT}" + (" or not v.strip()" if attribute.required else "")
        if attribute.required:
            return [*lines, f"    elif {bad}:", f"        t[{key}] = {slow}"]
        return [f"    v = get({key})", f"    if v is not None and ({bad}):", f"        t[{key}] = {slow}"]
    if attribute.type == "date":
        date_reader = DateReader(attribute.formats) if attribute.formats else reader
        namespace[f"_r{index}"] = date_reader
        fast: list[str] = []
        if "YYYY-MM-DD" in date_reader.formats:
            fast = [f"{present} v.__class__ is str and len(v) == 10 and v[4] == '-' and v[7] == '-' "
                    "and v[:4].isdigit():",
                    "        try:",
                    f"            t[{key}] = _fromiso(v)",
                    "        except ValueError:",
                    f"            t[{key}] = {slow}"]
            return [*lines, *fast, "    else:", f"        t[{key}] = {slow}"]
        return [*lines, "    else:", f"        t[{key}] = {slow}"]
    if attribute.required:
        return [*lines, "    else:", f"        t[{key}] = {slow}"]
    return [f"    v = get({key})", "    if v is not None:", f"        t[{key}] = {slow}"]
