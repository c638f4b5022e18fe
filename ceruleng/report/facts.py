"""What reports for people need to know about a spec beyond one result: its body, unit plural, carry-over rule.

Input: compiled specs (`CompiledSpec`, from `ceruleng.engine.load_specs`). Output: `SpecFacts`, plain picklable
data (worker processes of a parallel batch render with it), one per spec id. This is the only report module that
reads the compiled spec, so when the spec's internals change, only this file follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from msgspec import Struct, field


class SpecFacts(Struct, frozen=True):
    """One spec's facts for sentences: who decides, what a unit is called, and what carries over."""

    id: str
    title: str
    body: str | None
    unit: str
    places: int
    carry_over: str
    """'none' (nothing carries over), 'limit' (up to `carry_max`), 'rule' (a limit computed per credential)."""
    carry_max: Decimal | None = None
    alternatives: dict[str, str] = field(default_factory=dict)
    """Titles of the requirement's alternatives, by id (what `met_by` names)."""
    content: str | None = None
    """SHA-256 of the spec file's text, when known: which revision scored the result."""


def spec_facts(specs: Mapping[str, Any]) -> dict[str, SpecFacts]:
    """Facts for every loaded spec, by id."""
    return {spec_id: facts_of(spec) for spec_id, spec in specs.items()}


def facts_of(spec: Any) -> SpecFacts:
    model = spec.model
    requirement = getattr(model, "requirement", None)
    carry_text = getattr(getattr(requirement, "carry_over", None), "text", None)
    carry_max = _literal(carry_text)
    if carry_text is None or getattr(spec, "carry_none", False) or carry_max == 0:
        kind, carry_max = "none", None
    elif carry_max is not None:
        kind = "limit"
    else:
        kind = "rule"
    alternatives = {alternative.id: alternative.title for alternative in getattr(spec, "alternatives", ())}
    return SpecFacts(model.id, model.title, getattr(model, "body", None), model.unit_name, model.places, kind,
                     carry_max, alternatives, _content_hash(model))


def _literal(text: str | None) -> Decimal | None:
    """A carry-over limit written as a plain number (`max: 6`); None when it is an expression."""
    if text is None:
        return None
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _content_hash(model: Any) -> str | None:
    import hashlib

    source = getattr(getattr(model, "document", None), "source", None)
    text = getattr(source, "text", None)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() if isinstance(text, str) else None
