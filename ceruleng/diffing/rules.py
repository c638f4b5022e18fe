"""A spec as a table of rules, each a set of named fields in canonical text: what `diff` compares.

Input: a `SpecModel`. Output: `Rule`s keyed by (kind, name) — every category, check, minimum, alternative,
parameter, table, scale, attribute, activity type and let, and the unit, dates, cycle, requirement, fee, audit and
sources — with their fields as text in which two spellings of one meaning are equal (expressions printed from their
tree with numbers normalised, `0.50` as `0.5`), the span that defines the rule and the sentence it cites, and the
names its expressions read (so `diff` can say which changed rules an activity's score depends on).

Dated versions of one rule are separate rules, named by their start (`education (from 2025-01-01)`), so a new
version shows as added and the old one as changed (it now ends).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ceruleng.errors import ExpressionError
from ceruleng.expr import ast, parser
from ceruleng.fmt.printer import print_normalised
from ceruleng.model import Category, Check, Citation, Effective, ExprText, Minimum, SpecModel
from ceruleng.source import Span
from ceruleng.values import ROUNDING_MODES, format_number

RuleKey = tuple[str, str]
"""(kind, name): `("category", "education")`, `("parameter", "hourly_rate")`, `("unit", "")`."""


@dataclass
class Rule:
    kind: str
    name: str
    span: Span
    citation: str | None
    fields: dict[str, str] = field(default_factory=dict)
    reads: set[str] = field(default_factory=set)
    """Names its expressions read (attributes, lets, parameters, tables, ...), for dependencies."""

    @property
    def key(self) -> RuleKey:
        return (self.kind, self.name)

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'" if self.name else self.kind


def rule_table(model: SpecModel) -> dict[RuleKey, Rule]:
    """Every rule of a spec, in the order the spec writes them."""
    return _Table(model).build()


def expression_text(expression: ExprText | None) -> tuple[str | None, set[str]]:
    """An expression's canonical text and the names it reads; its text as written when it does not parse."""
    if expression is None:
        return None, set()
    try:
        node = parser.parse(expression.text, lambda offset: Span("<diff>", 1, offset + 1))
    except ExpressionError:
        return expression.text, set()
    return print_normalised(node), {name.name for name in ast.names_used(node)}


def value_text(value: Any) -> str:
    """A YAML value as text in which equal values are equal (`0.30` is `0.3`; lists in order)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return format_number(Decimal(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {value_text(item)}" for key, item in value.items()) + "}"
    return "null" if value is None else str(value)


def _citation(sources: Iterable[Citation]) -> str | None:
    first = next(iter(sources), None)
    return f"{first.doc}: {first.quote}" if first else None


def _dated(name: str, effective: Effective, versions: int) -> str:
    """A rule's name, with its start when the rule has several dated versions."""
    if versions < 2:
        return name
    return f"{name} (from {effective.start.isoformat() if effective.start else 'the beginning'})"


def _effective(effective: Effective) -> str | None:
    return effective.describe() if effective.dated else None


class _Table:
    def __init__(self, model: SpecModel) -> None:
        self.model = model
        self.rules: dict[RuleKey, Rule] = {}

    def add(self, rule: Rule, **fields: Any) -> Rule:
        for name, value in fields.items():
            self.put(rule, name, value)
        self.rules[rule.key] = rule
        return rule

    def put(self, rule: Rule, name: str, value: Any) -> None:
        """One field; expressions as canonical text (recording the names they read), other values as text."""
        if isinstance(value, ExprText):
            text, reads = expression_text(value)
            rule.reads |= reads
            value = text
        elif value is not None and not isinstance(value, str):
            value = value_text(value)
        if value is not None:
            rule.fields[name.replace("_", " ").strip()] = value

    def span(self, path: tuple[str | int, ...]) -> Span:
        return self.model.document.key_span(path)

    def build(self) -> dict[RuleKey, Rule]:
        model = self.model
        self.add(Rule("spec", "", self.span(("id",)), None), id=model.id, title=model.title, body=model.body,
                 credential=model.credential)
        self.sources()
        self.add(Rule("unit", "", self.span(("unit",)), _citation(c for c in model.citations if c.path[:1] ==
                                                                   ("unit",))),
                 name=model.unit_name, places=model.places, contact_hours=model.contact_hours)
        self.add(Rule("dates", "", self.span(("dates",)), None), formats=", ".join(model.date_formats))
        self.cycle_and_requirement()
        self.declarations()
        for name, expression in model.lets:
            self.add(Rule("let", name, self.span(("let", name)), None), value=expression)
        for name, expression in model.cycle_lets:
            self.add(Rule("cycle_let", name, self.span(("cycle_let", name)), None), value=expression)
        for check in self.checks(model.checks):
            self.rules[check.key] = check
        self.categories()
        for example in model.examples:
            self.add(Rule("example", example.name, example.span, None),
                     content=value_text(model.document.data_at(example.path)))
        return self.rules

    def sources(self) -> None:
        for source in self.model.sources.values():
            self.add(Rule("source", source.id, source.span, None), title=source.title, file=source.file,
                     url=source.url)

    def cycle_and_requirement(self) -> None:
        model = self.model
        if model.cycle is not None:
            cycle = model.cycle
            first = cycle.first
            self.add(Rule("cycle", "", cycle.span, _citation(cycle.sources)), start=cycle.start,
                     length=cycle.length.describe() if cycle.length else None, end=cycle.end,
                     first_start=first.start if first else None,
                     first_length=first.length.describe() if first and first.length else None,
                     first_end=first.end if first else None,
                     look_back=first.look_back.describe() if first and first.look_back else None,
                     grace=f"{cycle.grace.length.describe()}, {cycle.grace.counts}" if cycle.grace else None,
                     deadline=cycle.deadline)
        requirement = model.requirement
        if requirement is not None:
            self.add(Rule("requirement", "", self.span(("requirement",)), _citation(requirement.sources)),
                     credits=requirement.credits, carry_over_max=requirement.carry_over)
            self.minimums(requirement.minimums)
            for alternative in requirement.alternatives:
                self.add(Rule("alternative", alternative.id, alternative.span, _citation(alternative.sources)),
                         title=alternative.title, met_when=alternative.met_when)
        if model.fee is not None:
            fee = model.fee
            self.add(Rule("fee", "", self.span(("fee",)), None), amount=fee.amount, currency=fee.currency,
                     per=fee.per)
        if model.audit_rate is not None:
            self.add(Rule("audit", "", self.span(("audit",)), None), rate=model.audit_rate)

    def minimums(self, minimums: Iterable[Minimum]) -> None:
        items = list(minimums)
        for minimum in items:
            versions = sum(1 for other in items if other.id == minimum.id)
            rule = self.add(Rule("minimum", _dated(minimum.id, minimum.effective, versions), minimum.span,
                                 _citation(minimum.sources)),
                            title=minimum.title, at_least=minimum.at_least, effective=_effective(minimum.effective))
            for counted in minimum.counts:
                what = counted.category or expression_text(counted.select)[0]
                self.put(rule, f"counts {what}", counted.up_to or "all of it")

    def declarations(self) -> None:
        model = self.model
        for parameter in model.parameters.values():
            rule = self.add(Rule("parameter", parameter.name, parameter.span, _citation(parameter.sources)),
                            description=parameter.description)
            for version in parameter.versions:
                label = f"value ({version.effective.describe()})" if version.effective.dated else "value"
                self.put(rule, label, version.value)
        for scale in model.scales.values():
            self.add(Rule("scale", scale.name, scale.span, None), values=list(scale.values))
        for table in model.tables.values():
            rule = self.add(Rule("table", table.name, table.span, _citation(table.sources)),
                            description=table.description, key=table.key_type, value=table.value_type,
                            file=table.file)
            columns = tuple(name for name, _ in table.columns or ())
            for key, value in (table.rows if table.rows is not None else self.table_file(table.file, columns)).items():
                self.put(rule, f"row {key}", value)
        for kind, attributes in (("attribute", model.attributes), ("credential attribute",
                                                                    model.credential_attributes)):
            for attribute in attributes.values():
                self.add(Rule(kind, attribute.name, attribute.span or self.span((kind,)), None),
                         type=attribute.type, description=attribute.description, required=attribute.required,
                         scale=attribute.scale, one_of=list(attribute.one_of) if attribute.one_of else None,
                         min=attribute.minimum, max=attribute.maximum,
                         formats=", ".join(attribute.formats) if attribute.formats else None)
        for name, description in model.activity_types.items():
            self.add(Rule("activity type", name, self.span(("activity_types", name)), None), description=description)

    def table_file(self, file: str | None, columns: tuple[str, ...] = ()) -> dict[str, Any]:
        """A CSV table's rows (the compiler has read and checked the same file): key → value, or with columns,
        key → {column: cell}."""
        if file is None:
            return {}
        try:
            text = (Path(self.model.path).parent / file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return {}
        return {(row.get("key") or "").strip(): {column: (row.get(column) or "").strip() for column in columns}
                if columns else (row.get("value") or "").strip() for row in csv.DictReader(io.StringIO(text))}

    def checks(self, checks: Iterable[Check]) -> list[Rule]:
        """Rules for checks (each dated version its own), not yet in the table."""
        items = list(checks)
        found = []
        for check in items:
            versions = sum(1 for other in items if other.id == check.id)
            rule = Rule("check", _dated(check.id, check.effective, versions), check.span, _citation(check.sources))
            for name, value in (("title", check.title), ("require", check.require), ("otherwise", check.otherwise),
                                ("reason", check.reason.text),
                                ("applies to", ", ".join(check.applies_to) if check.applies_to else None),
                                ("except", ", ".join(check.excluded) or None),
                                ("effective", _effective(check.effective))):
                self.put(rule, name, value)
            found.append(rule)
        return found

    def categories(self) -> None:
        items = self.model.categories
        for category in items:
            versions = sum(1 for other in items if other.id == category.id)
            self.category(category, _dated(category.id, category.effective, versions))

    def category(self, category: Category, name: str) -> None:
        rule = self.add(Rule("category", name, category.span, _citation(category.sources)),
                        title=category.title, types=", ".join(category.types), when=category.when,
                        outcome=category.outcome, reason=category.reason.text if category.reason else None,
                        credit=category.credit, cap=category.cap,
                        explain=category.explain.text if category.explain else None,
                        effective=_effective(category.effective))
        for let_name, expression in category.lets:
            self.put(rule, f"let {let_name}", expression)
        if category.rounding is not None:
            self.put(rule, "round increment", category.rounding.increment)
            mode = category.rounding.mode  # a mode's word as written; a parameter or expression as one
            self.put(rule, "round mode", mode.text if mode.text.strip() in ROUNDING_MODES else mode)
        for bound_name, bound in (("minimum", category.minimum), ("maximum", category.maximum)):
            if bound is not None:
                self.put(rule, bound_name, bound.credits)
                self.put(rule, f"{bound_name} reason", bound.reason.text)
        for check in self.checks(category.checks):  # a category's own checks are part of the category
            rule.reads |= check.reads
            rule.fields.update({f"check {check.name}: {key}": value for key, value in check.fields.items()})
