"""A problem in a category's rule that later versions inherit is reported once, at the text (the versions
capability specs themselves run in tests/test_capability_specs.py)."""

from __future__ import annotations

from ceruleng.engine import check_text

BROKEN = """\
ceruleng: 1
id: broken
title: Problems in a version three later versions inherit
sources:
  doc: {title: Policy}
unit: {name: CEU, places: 1, source: {doc: doc, quote: One hour is one CEU.}}
activity_types:
  course: A course
tags:
  subject: {description: what it is about, values: [ethics, general]}
categories:
  - id: course
    title: Courses
    types: [course, seminar]
    effective_to: 2021-12-31
    checks: [{id: c, applies_to: [course], require: "minuts > 0", reason: "{", source: {doc: doc, quote: A check.}}]
    tags: {subjekt: "'ethics'", subject: "'law'"}
    let: {rate: flor(minutes / 60)}
    credit: rate * 0.1 +
    cap: {at_most: 2, source: {doc: doc, quote: At most two.}}
    explain: "{credits CEU"
    source: {doc: doc, quote: A course earns one CEU.}
  - {id: course, effective_from: 2022-01-01, effective_to: 2022-12-31}
  - {id: course, effective_from: 2023-01-01, effective_to: 2023-12-31}
  - {id: course, effective_from: 2024-01-01}
"""


def test_a_problem_in_a_rule_later_versions_inherit_is_said_once() -> None:
    """Each version checks what it inherits again (it may read that version's own lets), but a problem the
    written text has is the text's: one diagnostic, at the text, however many versions inherit it."""
    found = [(d.code, d.span.line, d.span.column) for d in check_text(BROKEN, "broken.yaml").diagnostics]
    assert sorted(set(found)) == sorted(found), found
    assert {code for code, _, _ in found} >= {"check-scope", "unknown-activity-type", "unknown-tag",
                                             "unknown-tag-value", "expr-unknown-name", "template-syntax",
                                             "expr-syntax", "cap-without-cycle"}, found
    assert all(line <= 22 for _, line, _ in found), "every problem is at the first version's text"
