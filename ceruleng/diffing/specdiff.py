"""The semantic diff of two versions of a spec: rules added, removed, changed or moved — not a text diff.

Input: two `SpecModel`s (the old and the new version of one spec, or of a folder of them matched by id). Output:
`SpecChange`s in the order the new spec writes its rules (removed ones where the old spec had them), each with the
rule, where it stands in each file, the sentence it cites, and the fields that changed (before → after). Comments,
layout, quoting and the spacing of expressions never show: rules are compared as `diffing.rules` prints them.
Category order is compared too, since an activity goes to the first category that takes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ceruleng.diffing.rules import Rule, RuleKey, rule_table
from ceruleng.model import SpecModel
from ceruleng.source import Span


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class SpecChange:
    spec: str
    change: str
    """added | removed | changed | moved"""
    kind: str
    name: str
    old: Span | None
    new: Span | None
    citation: str | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def key(self) -> RuleKey:
        return (self.kind, self.name)

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'" if self.name else self.kind

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "change": self.change, "kind": self.kind, "name": self.name,
                "old": str(self.old) if self.old else None, "new": str(self.new) if self.new else None,
                "citation": self.citation, "fields": [f.to_json() for f in self.fields]}


@dataclass
class SpecDiff:
    """Every change between the old and the new specs, and the rule tables both were compared as."""

    changes: list[SpecChange] = field(default_factory=list)
    old_rules: dict[str, dict[RuleKey, Rule]] = field(default_factory=dict)
    new_rules: dict[str, dict[RuleKey, Rule]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changes)


def diff_specs(old: Mapping[str, SpecModel], new: Mapping[str, SpecModel]) -> SpecDiff:
    """Specs matched by id; a spec only one side has is added or removed whole."""
    result = SpecDiff()
    for spec_id in [*old, *(key for key in new if key not in old)]:
        before = rule_table(old[spec_id]) if spec_id in old else {}
        after = rule_table(new[spec_id]) if spec_id in new else {}
        result.old_rules[spec_id], result.new_rules[spec_id] = before, after
        if spec_id not in new or spec_id not in old:
            model = old.get(spec_id) or new[spec_id]
            span = model.document.key_span(("id",))
            result.changes.append(SpecChange(spec_id, "removed" if spec_id not in new else "added", "spec", "",
                                             span if spec_id not in new else None,
                                             span if spec_id not in old else None, None))
            continue
        result.changes.extend(_rule_changes(spec_id, before, after))
        result.changes.extend(_moves(spec_id, before, after))
    return result


def _rule_changes(spec: str, before: dict[RuleKey, Rule], after: dict[RuleKey, Rule]) -> Iterator[SpecChange]:
    for key in _merged_order(list(before), list(after)):
        old, new = before.get(key), after.get(key)
        if old is None and new is not None:
            yield SpecChange(spec, "added", new.kind, new.name, None, new.span, new.citation,
                             tuple(FieldChange(name, None, value) for name, value in new.fields.items()))
        elif new is None and old is not None:
            yield SpecChange(spec, "removed", old.kind, old.name, old.span, None, old.citation,
                             tuple(FieldChange(name, value, None) for name, value in old.fields.items()))
        elif old is not None and new is not None and old.fields != new.fields:
            names = [*new.fields, *(name for name in old.fields if name not in new.fields)]
            fields = tuple(FieldChange(name, old.fields.get(name), new.fields.get(name)) for name in names
                           if old.fields.get(name) != new.fields.get(name))
            yield SpecChange(spec, "changed", new.kind, new.name, old.span, new.span, new.citation or old.citation,
                             fields)


def _merged_order(before: list[RuleKey], after: list[RuleKey]) -> list[RuleKey]:
    """The new order, with each removed key placed after the key that preceded it in the old order."""
    merged = list(after)
    present = set(after)
    for index, key in enumerate(before):
        if key in present:
            continue
        anchor = next((before[i] for i in range(index - 1, -1, -1) if before[i] in present), None)
        position = merged.index(anchor) + 1 if anchor is not None else 0
        merged.insert(position, key)
        present.add(key)
    return merged


def _moves(spec: str, before: dict[RuleKey, Rule], after: dict[RuleKey, Rule]) -> Iterable[SpecChange]:
    """Categories both versions have, in a different order: routing takes the first category that matches."""
    old_order = [key for key in before if key[0] == "category" and key in after]
    new_order = [key for key in after if key[0] == "category" and key in before]
    if old_order == new_order:
        return []
    moved = []
    for key in new_order:
        old_position, new_position = old_order.index(key), new_order.index(key)
        if old_position != new_position:
            old, new = before[key], after[key]
            moved.append(SpecChange(spec, "moved", "category", key[1], old.span, new.span, new.citation,
                                    (FieldChange("position", str(old_position + 1), str(new_position + 1)),)))
    return moved
