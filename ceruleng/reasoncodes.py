"""Reason codes: a stable name for every reason sentence an activity can get, so a batch can store codes.

Stage: shared by compile (the back end gives each spec template its code) and evaluate (the scorer and the ledger
give the sentences they write theirs). Input: where a sentence comes from — the ids of the spec rule that writes
it, or which of the engine's own sentences it is. Output: its code (`eval --reasons codes`, the `reason_codes`
columns), documented in docs/language.md ("Reason codes").

Two kinds, which never meet: an engine code is one kebab-case word (`ENGINE`, fixed across versions of ceruleng);
a spec code is the ids of the rule that writes the sentence, then what kind of sentence it is, joined by dots
(`<category>.explain`, `<check>.check`, `<category>.<check>.check`, …). Spec ids hold no dot (the schema's
identifier pattern), so a spec code always has one and an engine code never does; and since a code's last part
says its kind and its length says its owner, two places in one spec never share a code. A sentence the dated
versions of one rule write shares the rule's code: codes stay put when a rule's words or amounts change.
"""

from __future__ import annotations

ENGINE: dict[str, str] = {
    "unknown-type": "the activity's type is not one the spec recognises",
    "unrouted": "no category takes the activity (none of their conditions holds for its type)",
    "missing-attribute": "the activity lacks an attribute the rules of its category need",
    "no-table-entry": "a table the rules read has no row for the activity's value",
    "not-in-force": "no version of a rule, a category or a parameter is in force on the activity's date",
    "category-undecided": "a category's condition (`when`) could not be computed for the activity",
    "rule-failed": "a rule could not be computed for the activity (a division by zero, …)",
    "negative-credit": "the credit formula gave a negative amount",
    "malformed": "the record does not fit the spec (a field of the wrong type, a bad date, …)",
    "duplicate-id": "an earlier activity of the same member has the same id",
    "credential-malformed": "the credential the activity is scored for is malformed",
    "not-scored": "the credential's periods or totals could not be computed, so no activity is scored",
    "outside-period": "the activity is dated outside the period reported",
    "carried-over": "it counted toward an earlier period, whose surplus carries over",
    "grace-earlier": "it counted toward the period before, in that period's grace",
    "grace": "completed in the period's grace, it counts toward the period",
    "look-back": "completed in the first period's look-back, it counts toward the first period",
    "earlier-period": "completed in an earlier period, it counts toward this period's requirement window",
    "repeat-share": "a repeat of an activity claimed before earns a share of its credit (`repeats`)",
    "tier": "its credit counts by the category's tiers",
    "cap-cut": "the category's cap cut its credit",
    "cap-reached": "the category's cap was already reached: it adds nothing",
    "limit-cut": "a limit cut its credit",
    "limit-reached": "a limit was already reached: it adds nothing",
}
"""Every code the engine gives its own sentences, with what it means (the table in docs/language.md)."""

SPEC_KINDS: dict[str, str] = {
    "explain": "`<category>.explain`: the sentence of an awarded activity (the category's `explain`, or its default)",
    "reason": "`<category>.reason`: the category's `reason` (its `outcome: rejected | pending`)",
    "minimum": "`<category>.minimum`: the category's `minimum` reason (an activity earning less is rejected)",
    "maximum": "`<category>.maximum`: the category's `maximum` reason (an activity earning more is cut)",
    "check": "`<check>.check` (a top-level check) or `<category>.<check>.check` (a category's own check): the "
             "check's `reason`",
}
"""The last part of a spec code: what kind of sentence it is."""

UNCODED = "uncoded"
"""The code of a sentence given as plain text by a Python caller (ceruleng itself gives every sentence a code)."""


def category_code(category: str, kind: str) -> str:
    """The code of a category's sentence of `kind` (explain, reason, minimum, maximum)."""
    assert kind in SPEC_KINDS and kind != "check", kind
    return f"{category}.{kind}"


def check_code(check: str, category: str | None = None) -> str:
    """The code of a check's reason: a top-level check's, or (with `category`) a category's own check's."""
    return f"{check}.check" if category is None else f"{category}.{check}.check"
