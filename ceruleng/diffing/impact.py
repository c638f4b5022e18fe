"""What a spec change does to members: one member scored under the old and the new specs, compared.

Input: a member's `MemberResult` under the old specs and under the new ones (the same document scored twice), and
an `Attribution` built once from the spec diff. Output: a `MemberChange` — per credential, what changed (required,
earned, carried in, remaining, met, deadline, cycle) and each activity whose category, status or credits changed,
with the changed rules it depends on — or None when nothing did; and `ImpactSummary` counts that add up across
members and processes (members who gain or lose `met`, the distribution of changes in `earned`, the rules
responsible), in bounded memory however large the membership.

"The rules responsible" are the changed rules (from the spec diff) that the activity's category reads: the category
itself with its own checks and lets, the top-level checks that apply to it, the lets, parameters, tables and
activity types its expressions reach, and what every activity depends on (unit, dates, cycle, attribute
declarations). An activity that moved to another category is put down to the rules that route activities.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ceruleng.diffing.rules import Rule, RuleKey
from ceruleng.diffing.specdiff import FieldChange, SpecChange, SpecDiff
from ceruleng.scoring.results import ActivityResult, CredentialResult, MemberResult
from ceruleng.values import ZERO, format_credits

GLOBAL_KINDS = ("unit", "dates", "cycle", "attribute", "credential attribute")
"""Rules every activity of a spec depends on (how records are read, which cycle counts)."""
CYCLE_KINDS = ("requirement", "minimum", "alternative", "cycle", "fee", "audit")
"""Rules a credential's totals depend on beyond its activities."""
ROUTING_FIELDS = ("types", "when", "effective", "position")
MAX_DISTINCT_CHANGES = 200
"""Distinct changes in `earned` counted one by one; the rest are counted together (memory stays bounded)."""


@dataclass(frozen=True)
class ActivityChange:
    index: int
    id: str | None
    before: tuple[str | None, str, str]
    """(category, status, credits) under the old specs."""
    after: tuple[str | None, str, str]
    rules: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        def side(value: tuple[str | None, str, str]) -> dict[str, Any]:
            return {"category": value[0], "status": value[1], "credits": value[2]}

        return {"id": self.id, "index": self.index, "before": side(self.before), "after": side(self.after),
                "rules": list(self.rules)}


@dataclass(frozen=True)
class CredentialChange:
    spec: str | None
    credential: str | None
    fields: tuple[FieldChange, ...]
    activities: tuple[ActivityChange, ...]
    rules: tuple[str, ...]
    earned_change: str | None
    """new earned − old earned at the spec's precision, signed (`+0.25`), when both were scored."""

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "credential": self.credential, "changes": [f.to_json() for f in self.fields],
                "earned_change": self.earned_change, "activities": [a.to_json() for a in self.activities],
                "rules": list(self.rules)}


@dataclass(frozen=True)
class MemberChange:
    member: str | None
    file: str | None
    line: int | None
    credentials: tuple[CredentialChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "input": {"file": self.file, "line": self.line},
                "credentials": [c.to_json() for c in self.credentials]}


@dataclass
class ImpactSummary:
    """Counts over a membership; `merge` adds the counts of another part (a worker's block)."""

    members: int = 0
    members_changed: int = 0
    credentials: int = 0
    credentials_changed: int = 0
    activities_changed: int = 0
    gain_met: int = 0
    lose_met: int = 0
    earned_changes: Counter[str] = field(default_factory=Counter)
    earned_other: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    def add(self, before: MemberResult, change: MemberChange | None) -> None:
        self.members += 1
        self.credentials += len(before.credentials)
        if change is None:
            return
        self.members_changed += 1
        for credential in change.credentials:
            self.credentials_changed += 1
            self.activities_changed += len(credential.activities)
            met = next((f for f in credential.fields if f.field == "met"), None)
            if met is not None:
                self.gain_met += met.after == "true"
                self.lose_met += met.before == "true"
            if credential.earned_change is not None:
                self.count_change(credential.earned_change, 1)
            rules = self.rules
            for activity in credential.activities:
                for rule in activity.rules:
                    rules[rule] += 1
            for rule in credential.rules:
                rules[rule] += 1

    def count_change(self, change: str, count: int) -> None:
        if change in self.earned_changes or len(self.earned_changes) < MAX_DISTINCT_CHANGES:
            self.earned_changes[change] += count
        else:
            self.earned_other += count

    def merge(self, other: ImpactSummary) -> None:
        for name in ("members", "members_changed", "credentials", "credentials_changed", "activities_changed",
                     "gain_met", "lose_met", "earned_other"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for change, count in other.earned_changes.items():
            self.count_change(change, count)
        self.rules.update(other.rules)

    def distribution(self) -> list[tuple[str, int]]:
        """Changes in `earned`, smallest (most negative) first, with how many credentials had each."""
        return sorted(self.earned_changes.items(), key=lambda item: Decimal(item[0]))

    def to_json(self) -> dict[str, Any]:
        return {"members": self.members, "members_changed": self.members_changed, "credentials": self.credentials,
                "credentials_changed": self.credentials_changed, "activities_changed": self.activities_changed,
                "gain_met": self.gain_met, "lose_met": self.lose_met,
                "earned_changes": [{"change": change, "credentials": count}
                                   for change, count in self.distribution()],
                "earned_changes_not_listed": self.earned_other,
                "rules": [{"rule": rule, "changes": count} for rule, count in self.rules.most_common()]}


class Attribution:
    """Which changed rules an activity's score or a credential's totals depend on, per spec (built once)."""

    def __init__(self, spec_diff: SpecDiff) -> None:
        self.labels: dict[tuple[str, RuleKey], str] = {}
        self.changed: dict[str, set[RuleKey]] = {}
        self.routing: dict[str, tuple[str, ...]] = {}
        self.tables = (spec_diff.old_rules, spec_diff.new_rules)
        for change in spec_diff.changes:
            self.changed.setdefault(change.spec, set()).add(change.key)
            self.labels[(change.spec, change.key)] = _label(change)
        for spec, keys in self.changed.items():
            routing = [key for key in keys if key[0] == "category" and self._routes(spec_diff, spec, key)]
            self.routing[spec] = tuple(sorted(self.labels[(spec, key)] for key in routing))
        self._cache: dict[tuple[str, str | None], tuple[str, ...]] = {}
        self._activity_cache: dict[tuple[str | None, str | None, str | None], tuple[str, ...]] = {}

    @staticmethod
    def _routes(spec_diff: SpecDiff, spec: str, key: RuleKey) -> bool:
        for change in spec_diff.changes:
            if change.spec == spec and change.key == key:
                return change.change in ("added", "removed", "moved") or any(
                    f.field in ROUTING_FIELDS for f in change.fields)
        return False

    def for_category(self, spec: str | None, category: str | None) -> tuple[str, ...]:
        """The changed rules an activity scored in `category` depends on."""
        if spec is None:
            return ()
        key = (spec, category)
        found = self._cache.get(key)
        if found is None:
            changed = self.changed.get(spec, set())
            depends: set[RuleKey] = set()
            for table in self.tables:
                depends |= _dependencies(table.get(spec, {}), category)
            found = self._cache[key] = tuple(sorted(self.labels[(spec, rule)] for rule in depends & changed))
        return found

    def for_activity(self, spec: str | None, before: str | None, after: str | None) -> tuple[str, ...]:
        key = (spec, before, after)
        found = self._activity_cache.get(key)
        if found is None:
            rules = set(self.for_category(spec, before)) | set(self.for_category(spec, after))
            if before != after and spec is not None:
                rules |= set(self.routing.get(spec, ()))
            found = self._activity_cache[key] = tuple(sorted(rules)) or ("other rules (see the spec changes)",)
        return found

    def for_credential(self, spec: str | None) -> tuple[str, ...]:
        if spec is None:
            return ()
        return tuple(sorted(label for (owner, key), label in self.labels.items()
                            if owner == spec and (key[0] in CYCLE_KINDS or key[0] == "spec")))


def _label(change: SpecChange) -> str:
    """`my-spec: category 'courses' (round mode)`: the rule, and which of its fields changed."""
    label = f"{change.spec}: {change.label}"
    if change.change == "changed":
        names = [f.field for f in change.fields]
        label += f" ({', '.join(names[:3])}{', …' if len(names) > 3 else ''})"
    elif change.change != "moved":
        label += f" ({change.change})"
    return label


def _dependencies(rules: dict[RuleKey, Rule], category: str | None) -> set[RuleKey]:
    """Rule keys an activity in `category` depends on: the category (every dated version), the top-level checks
    that apply to it, what their expressions read (through lets), and the rules every activity depends on."""
    found = {key for key in rules if key[0] in GLOBAL_KINDS}
    if category is None:
        return found
    own = [rule for key, rule in rules.items() if key[0] == "category" and _base(key[1]) == category]
    reads: set[str] = set()
    for rule in own:
        found.add(rule.key)
        reads |= rule.reads
        found |= {("activity type", kind.strip()) for kind in rule.fields.get("types", "").split(",")}
    for key, rule in rules.items():
        if key[0] == "check" and _applies(rule, category):
            found.add(key)
            reads |= rule.reads
    pending = list(reads)
    while pending:
        name = pending.pop()
        for kind in ("let", "parameter", "table", "scale"):
            named = rules.get((kind, name))
            if named is not None and named.key not in found:
                found.add(named.key)
                pending.extend(named.reads)
        attribute = rules.get(("attribute", name))
        if attribute is not None and "scale" in attribute.fields:
            found.add(("scale", attribute.fields["scale"]))
    return found


def _base(name: str) -> str:
    """A rule's id without the start of its dated version."""
    return name.split(" (from ", 1)[0]


def _applies(check: Rule, category: str) -> bool:
    applies = check.fields.get("applies to")
    excluded = check.fields.get("except")
    if applies is not None and category not in [item.strip() for item in applies.split(",")]:
        return False
    return not (excluded is not None and category in [item.strip() for item in excluded.split(",")])


# ---- comparing one member ------------------------------------------------------------------------------------------


def compare_member(before: MemberResult, after: MemberResult, attribution: Attribution) -> MemberChange | None:
    """What changed for one member, or None when every credential scored the same."""
    changes = []
    for index, old in enumerate(before.credentials):
        new = after.credentials[index] if index < len(after.credentials) else None
        change = _compare_credential(old, new, attribution)
        if change is not None:
            changes.append(change)
    if not changes:
        return None
    return MemberChange(before.member, before.file, before.line, tuple(changes))


def _flag(value: bool | None) -> str:
    return "null" if value is None else ("true" if value else "false")


def _amount(value: Decimal | None, places: int) -> str | None:
    return None if value is None else format_credits(value, places)


def _compare_credential(old: CredentialResult, new: CredentialResult | None,
                        attribution: Attribution) -> CredentialChange | None:
    if new is None:
        return CredentialChange(old.spec, old.name, (FieldChange("scored", "true", "false"),), (), (), None)
    fields = []
    for name in ("required", "earned", "carried_in", "remaining"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            fields.append(FieldChange(name, _amount(before, old.places), _amount(after, new.places)))
    for name, before_text, after_text in (
            ("met", _flag(old.met), _flag(new.met)),
            ("met_by", old.met_by, new.met_by),
            ("deadline", old.deadline.isoformat() if old.deadline else None,
             new.deadline.isoformat() if new.deadline else None),
            ("cycle", _cycle(old), _cycle(new)),
            ("error", old.error, new.error)):
        if before_text != after_text:
            fields.append(FieldChange(name, before_text, after_text))
    activities = tuple(_activity_changes(old, new, attribution))
    if not fields and not activities:
        return None
    scored = old.error is None and new.error is None
    earned_change = _signed(new.earned - old.earned, new.places) if scored and old.earned != new.earned else None
    rules = attribution.for_credential(new.spec or old.spec) if fields else ()
    return CredentialChange(new.spec or old.spec, new.name, tuple(fields), activities, rules, earned_change)


def _cycle(result: CredentialResult) -> str | None:
    return f"{result.cycle[0].isoformat()} to {result.cycle[1].isoformat()}" if result.cycle else None


def _signed(value: Decimal, places: int) -> str:
    text = format_credits(value, places)
    return text if value < ZERO else f"+{text}"


def _activity_changes(old: CredentialResult, new: CredentialResult, attribution: Attribution) -> list[ActivityChange]:
    found = []
    places_old, places_new = old.places, new.places
    spec = new.spec or old.spec
    for before, after in zip(old.activities, new.activities, strict=False):
        if before.credits == after.credits and before.status == after.status and before.category == after.category:
            continue
        found.append(ActivityChange(before.index, before.id, _side(before, places_old), _side(after, places_new),
                                    attribution.for_activity(spec, before.category, after.category)))
    return found


def _side(activity: ActivityResult, places: int) -> tuple[str | None, str, str]:
    return (activity.category, activity.status, format_credits(activity.credits, places))
