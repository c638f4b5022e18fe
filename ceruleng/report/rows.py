"""Results as flat rows of plain Python values, for warehouses, DataFrames and SQL: `to_rows()`.

Input: one `MemberResult` (and optionally its member document, for activity titles, and its position in the run).
Output: `Rows` — six lists of dicts, one per table, every value a `str`, `int`, `bool`, `Decimal`, `date` or None
(never a float): credits are `Decimal`s at the spec's precision, exactly the JSON's text. The columns are fixed and
documented (`COLUMNS`); `categories` are rows (spec, category, credits), not a mapping keyed by category id, so a
warehouse gets one column per fact, not one per category of every spec.

Tables, joined on (member_index, credential_index):
- `credentials`: one row per member and credential (a member that could not be read: one row naming why);
- `activities`: one row per activity and credential, every input activity included;
- `categories`: one row per category of the credential's spec, with what it earned this cycle and its cap;
- `minimums`: one row per minimum of the cycle;
- `limits`: one row per limit of the spec in force for the cycle (its amount, what it let count, what it cut);
- `entries`: one row per entry of credit behind a minimum or a limit (`rule_kind` `minimum` or `limit`, `rule` its
  id): the activity, the day it counts on, what it gave, what that limit cut from it, whether it was carried in.
The Parquet writer (`report.parquet`) writes these same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ceruleng.report.titles import activity_titles, title_at
from ceruleng.scoring.results import CredentialResult, MemberResult
from ceruleng.values import format_credits

KEYS = (("member_index", "int"), ("credential_index", "int"), ("member", "str"), ("spec", "str"),
        ("credential", "str"))
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "credentials": (*KEYS, ("input_file", "str"), ("input_line", "int"), ("member_error", "str"),
                    ("title", "str"), ("certified_on", "date"), ("unit", "str"), ("places", "int"),
                    ("cycle_start", "date"), ("cycle_end", "date"), ("deadline", "date"), ("required", "decimal"),
                    ("earned", "decimal"), ("carried_in", "decimal"), ("remaining", "decimal"), ("met", "bool"),
                    ("met_by", "str"), ("fee_amount", "decimal"), ("fee_currency", "str"), ("fee_per", "str"),
                    ("audit_rate", "decimal"), ("audit_selected", "bool"), ("error", "str"),
                    ("activity_results", "int")),
    "activities": (*KEYS, ("index", "int"), ("id", "str"), ("type", "str"), ("title", "str"), ("date", "date"),
                   ("category", "str"), ("category_title", "str"), ("status", "str"), ("credits", "decimal"),
                   ("malformed", "bool"), ("reasons", "str"), ("trace", "str"), ("reason_codes", "str")),
    "categories": (*KEYS, ("category", "str"), ("title", "str"), ("earned", "decimal"), ("cap", "decimal")),
    "minimums": (*KEYS, ("minimum", "str"), ("title", "str"), ("at_least", "decimal"), ("counted", "decimal"),
                 ("met", "bool")),
    "limits": (*KEYS, ("limit", "str"), ("title", "str"), ("at_most", "decimal"), ("counted", "decimal"),
               ("cut", "decimal"), ("window_start", "date"), ("window_end", "date")),
    "entries": (*KEYS, ("rule_kind", "str"), ("rule", "str"), ("activity", "str"), ("date", "date"),
                ("credits", "decimal"), ("cut", "decimal"), ("carried", "bool")),
}
"""Every table's columns, in order, with their kind: int, str, bool, date or decimal."""


@dataclass
class Rows:
    """One member's rows in the six tables."""

    credentials: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    minimums: list[dict[str, Any]] = field(default_factory=list)
    limits: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {"credentials": self.credentials, "activities": self.activities, "categories": self.categories,
                "minimums": self.minimums, "limits": self.limits, "entries": self.entries}


def exact(value: Decimal | None, places: int) -> Decimal | None:
    """A credit as the JSON prints it, as a Decimal: at the spec's precision, nothing lost, nothing invented."""
    return None if value is None else Decimal(format_credits(value, places))


def to_rows(result: MemberResult, document: Any = None, member_index: int = 0) -> Rows:
    """The flat rows of one member's result; `member_index` numbers the member within a run (the join key)."""
    rows = Rows()
    titles = activity_titles(document)
    if not result.credentials:
        rows.credentials.append(_credential_row(result, None, member_index, 0))
        return rows
    for number, credential in enumerate(result.credentials):
        keys = {"member_index": member_index, "credential_index": number, "member": result.member,
                "spec": credential.spec, "credential": credential.name}
        rows.credentials.append(_credential_row(result, credential, member_index, number))
        rows.activities.extend(_activity_rows(credential, keys, titles))
        places = credential.places
        rows.categories.extend({**keys, "category": key, "title": total.title, "earned": exact(total.earned, places),
                                "cap": exact(total.cap, places)} for key, total in credential.categories.items())
        rows.minimums.extend({**keys, "minimum": m.id, "title": m.title, "at_least": exact(m.at_least, places),
                              "counted": exact(m.counted, places), "met": m.met} for m in credential.minimums)
        for limit in credential.limits:
            start, end = limit.window if limit.window else (None, None)
            rows.limits.append({**keys, "limit": limit.id, "title": limit.title,
                                "at_most": exact(limit.at_most, places), "counted": exact(limit.counted, places),
                                "cut": exact(limit.cut, places), "window_start": start, "window_end": end})
        behind = [("minimum", m.id, m.entries) for m in credential.minimums]
        behind += [("limit", limit.id, limit.entries) for limit in credential.limits]
        rows.entries.extend({**keys, "rule_kind": kind, "rule": rule, "activity": entry.activity, "date": entry.date,
                             "credits": exact(entry.credits, places), "cut": exact(entry.cut, places),
                             "carried": entry.carried}
                            for kind, rule, entries in behind for entry in entries)
    return rows


def _credential_row(result: MemberResult, credential: CredentialResult | None, member_index: int,
                    number: int) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name, _ in COLUMNS["credentials"]}
    row.update(member_index=member_index, credential_index=number, member=result.member, input_file=result.file,
               input_line=result.line, member_error=result.error)
    if credential is None:
        row["activity_results"] = 0
        return row
    places = credential.places
    start, end = credential.cycle if credential.cycle else (None, None)
    row.update(spec=credential.spec, credential=credential.name, title=credential.title or None,
               certified_on=credential.certified_on, unit=credential.unit or None, places=places,
               cycle_start=start, cycle_end=end, deadline=credential.deadline,
               required=exact(credential.required, places), earned=exact(credential.earned, places),
               carried_in=exact(credential.carried_in, places), remaining=exact(credential.remaining, places),
               met=credential.met, met_by=credential.met_by, error=credential.error,
               activity_results=len(credential.activities))
    if credential.fee:
        row.update(fee_amount=exact(credential.fee[0], 2), fee_currency=credential.fee[1],
                   fee_per=credential.fee[2])
    if credential.audit:
        row.update(audit_rate=credential.audit[0], audit_selected=credential.audit[1])
    return row


def _activity_rows(credential: CredentialResult, keys: dict[str, Any],
                   titles: Sequence[str | None]) -> list[dict[str, Any]]:
    places = credential.places
    category_titles = credential.category_titles
    rows = []
    for activity in credential.activities:
        category = activity.category
        trace = None
        if activity.trace is not None:
            trace = "\n".join(f"{line.rule}: {line.value}" + (f" ({line.span})" if line.span else "")
                              for line in activity.trace)
        rows.append({**keys, "index": activity.index, "id": activity.id, "type": activity.type,
                     "title": title_at(titles, activity.index), "date": activity.date, "category": category,
                     "category_title": category_titles.get(category) if category else None,
                     "status": activity.status, "credits": exact(activity.credits, places),
                     "malformed": activity.malformed, "reasons": " ".join(activity.reasons), "trace": trace,
                     "reason_codes": " ".join(activity.reason_codes)})
    return rows
