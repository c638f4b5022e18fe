"""A credential entry of a member, typed for the scorer: its certification date and the attributes its spec declares.

Stage 4, evaluate: input a compiled spec and the raw entry; output a `Credential` whose problems (if any) leave the
credential unscored with a sentence.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ceruleng.compiled import CompiledSpec
from ceruleng.values import parse_iso_date


class Credential:
    """A credential as the scorer needs it: typed, with its context for generated code."""

    __slots__ = ("attributes", "certified_on", "name", "problems")

    def __init__(self, certified_on: date | None, attributes: dict[str, Any], name: str | None,
                 problems: list[str]) -> None:
        self.certified_on = certified_on
        self.attributes = attributes
        self.name = name
        self.problems = problems


def read_credential(spec: CompiledSpec, raw: dict[str, Any]) -> Credential:
    """Type a credential entry: certified_on (YYYY-MM-DD) and the attributes the spec declares."""
    problems: list[str] = []
    certified_on = None
    text = raw.get("certified_on")
    if not isinstance(text, str):
        problems.append("certified_on: missing (required), the date the credential was achieved (YYYY-MM-DD)"
                        if text is None else f"certified_on: must be a date written YYYY-MM-DD, got {text!r}")
    else:
        try:
            certified_on = parse_iso_date(text.strip())
        except ValueError as exc:
            problems.append(f"certified_on: {exc}")
    declared = spec.model.credential_attributes
    attributes: dict[str, Any] = {}
    if declared:
        assert spec.coerce_credential is not None
        typed, more = spec.coerce_credential(raw)
        problems.extend(more)
        attributes = {name: value for name, value in (typed or {}).items() if name in declared}
    name = raw.get("name")
    return Credential(certified_on, attributes, str(name) if name is not None else None, problems)
