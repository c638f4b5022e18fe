"""Compiler stage: declare every name a spec gives (attributes, parameters, tables, the cycle) with its type.

Input: the model. Output: the activity and cycle scopes expressions are checked in, the typed values of parameters
(every dated version) and tables, and `attribute-redeclared`, `name-conflict`, `unknown-scale`, `parameter-*`,
`table-*` diagnostics. Bindings say what a name means (kind, owner); how generated code reads it is the back end's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ceruleng.compiler.references import check_always_in_force, check_versions
from ceruleng.compiler.state import CompileState, ParameterValues
from ceruleng.errors import did_you_mean
from ceruleng.expr.checker import Binding, Scope
from ceruleng.expr.types import (
    BOOLEAN,
    CYCLE,
    DATE,
    NUMBER,
    PERIOD_START,
    SEGMENT,
    TEXT,
    ListType,
    RecordType,
    RowType,
    ScaleType,
    TableType,
    Type,
)
from ceruleng.fields import STANDARD_ATTRIBUTES
from ceruleng.files import FileProblem, read_spec_file
from ceruleng.model import Attribute, Parameter, Table
from ceruleng.source import Span
from ceruleng.values import spec_number
from ceruleng.yamlsrc import Path

_ATTRIBUTE_TYPES: dict[str, Type] = {
    "number": NUMBER, "integer": NUMBER, "text": TEXT, "date": DATE, "boolean": BOOLEAN,
    "text-list": ListType(TEXT), "segments": ListType(SEGMENT),
}  # fmt: skip


def declare_names(state: CompileState) -> None:
    """Give every declared name a type: attributes, credential attributes, parameters, tables, the cycle."""
    model = state.model
    for name, attribute in model.attributes.items():
        if name in STANDARD_ATTRIBUTES:
            state.error("attribute-redeclared", f"'{name}' is a standard attribute and cannot be redeclared",
                        attribute.span or model.document.span(("attributes",)))
    state.attributes = {**STANDARD_ATTRIBUTES,
                        **{k: v for k, v in model.attributes.items() if k not in STANDARD_ATTRIBUTES}}
    bindings: dict[str, tuple[Binding, Span]] = {}

    def bind(binding: Binding, span: Span) -> None:
        if binding.name in bindings:
            state.error("name-conflict", f"'{binding.name}' is declared twice (also at line "
                        f"{bindings[binding.name][1].line})", span, "attributes, parameters and tables share names")
            return
        bindings[binding.name] = (binding, span)

    spec_span = model.document.span(())
    for name, attribute in state.attributes.items():
        bind(Binding(name, _attribute_type(state, attribute, "attributes"), "attribute",
                     optional=not attribute.required and attribute.type != "segments",
                     description=attribute.description), attribute.span or spec_span)
    for name, attribute in model.credential_attributes.items():
        bind(Binding(name, _attribute_type(state, attribute, "credential_attributes"), "credential",
                     optional=not attribute.required, description=attribute.description),
             attribute.span or spec_span)
    for parameter in model.parameters.values():
        parameter_type = _parameter(state, parameter)
        if parameter_type is not None:
            bind(Binding(parameter.name, parameter_type, "parameter", description=parameter.description),
                 parameter.span)
    for table in model.tables.values():
        table_type = _table(state, table)
        if table_type is not None:
            bind(Binding(table.name, table_type, "table", description=table.description), table.span)
    shared = [Binding("certified_on", DATE, "credential", description="the date the credential was achieved"),
              Binding("as_of", DATE, "credential", description="the day the results are scored for (--as-of)"),
              Binding("unit", TEXT, "unit", description="the unit of credit")]
    if model.contact_hours is not None:
        shared.append(Binding("hours_per_unit", NUMBER, "unit", description=f"contact hours per {model.unit_name}"))
    if model.cycle is not None:
        shared.append(Binding("cycle", CYCLE, "cycle", description="the current cycle"))
    for binding in shared:
        bind(binding, spec_span)
    state.activity_scope = Scope(_judged(binding, "activity") for binding, _ in bindings.values())
    state.cycle_scope = Scope(_judged(binding, "cycle") for binding, _ in bindings.values()
                              if binding.kind != "attribute")
    state.layout_scope = Scope(_judged(binding, "credential") for binding, _ in bindings.values()
                               if binding.kind not in ("attribute", "cycle"))
    if model.cycle is not None:
        state.period_scope = state.layout_scope.with_bindings([
            Binding("cycle", PERIOD_START, "cycle", description="the period whose end is being computed")])
    _ledger_scopes(state)


ENTRY_FIELDS: tuple[tuple[str, Type, str], ...] = (
    ("category", TEXT, "the category the credit was awarded in"),
    ("type", TEXT, "the activity's type"),
    ("date", DATE, "the activity's date"),
    ("credits", NUMBER, "the credit this entry counts"),
    ("carried", BOOLEAN, "whether the credit was carried in from the previous period"),
)
"""What every entry of credit says about itself (tags the spec declares come after)."""


TAG_TYPES: dict[str, Type] = {"text": TEXT, "boolean": BOOLEAN, "number": NUMBER, "text-list": ListType(TEXT)}


def _ledger_scopes(state: CompileState) -> None:
    """Scopes of the rules that read credit already awarded: a condition on one entry (`select`), a limit's amount
    (which may read the requirement), and the period's totals (minimums, carry-over, alternatives). An entry's
    fields are its category, type, date, credits and whether it was carried in, then the spec's tags (a tag a
    category does not give, and that has no default, reads as missing: `has(subject)`)."""
    model = state.model
    fields = [(name, field_type) for name, field_type, _ in ENTRY_FIELDS]
    bindings = [Binding(name, field_type, "entry", description=description)
                for name, field_type, description in ENTRY_FIELDS]
    for tag in model.tags.values():
        if tag.name in dict(fields):
            state.error("name-conflict", f"tag '{tag.name}' has the name of a field every entry of credit has",
                        tag.span, "choose another name: " + ", ".join(name for name, _ in fields) + " are taken")
            continue
        tag_type = TAG_TYPES.get(tag.type, TEXT)
        state.tag_types[tag.name] = tag_type
        fields.append((tag.name, tag_type))
        bindings.append(Binding(tag.name, tag_type, "entry", optional=True, description=tag.description))
    state.entry_type = RecordType("entry", tuple(fields))
    state.entry_scope = state.cycle_scope.with_bindings(bindings)
    requirement = Binding("requirement", NUMBER, "total", description="the credits this period requires")
    state.limit_scope = state.cycle_scope.with_bindings([requirement])
    state.totals_scope = state.cycle_scope.with_bindings([
        requirement,
        Binding("earned", NUMBER, "total", description="the credit this period counts (after every cap)"),
        Binding("carried_in", NUMBER, "total", description="the credit carried into this period"),
        Binding("entries", ListType(state.entry_type), "total",
                description="this period's entries of credit, each with its category, type, date, credits and tags"),
    ])


def _judged(binding: Binding, day: str) -> Binding:
    """Parameters read their value as of a day: the activity's date ("activity"), or for cycle rules the cycle's
    end ("cycle")."""
    return replace(binding, owner=day) if binding.kind == "parameter" else binding


def _attribute_type(state: CompileState, attribute: Attribute, section: str) -> Type:
    if attribute.scale is not None:
        scale = state.model.scales.get(attribute.scale)
        document = state.model.document
        if scale is None:
            state.error("unknown-scale", f"unknown scale '{attribute.scale}'",
                        document.span((section, attribute.name, "scale")),
                        did_you_mean(attribute.scale, state.model.scales))
            return TEXT
        if attribute.type != "text":
            state.error("scale-needs-text", "only text attributes can be on a scale",
                        document.span((section, attribute.name, "type")), f"write type: text for '{attribute.name}'")
        return ScaleType(scale.name, scale.values)
    return _ATTRIBUTE_TYPES[attribute.type]


def _value_type(value: Any) -> Type | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | Decimal):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    if isinstance(value, list) and value:
        first = _value_type(value[0])
        if first in (NUMBER, TEXT) and all(_value_type(item) == first for item in value):
            return ListType(first)
    return None


def _runtime_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, list):
        return tuple(_runtime_value(item) for item in value)
    return value


def _parameter(state: CompileState, parameter: Parameter) -> Type | None:
    types = []
    for version in parameter.versions:
        value_type = _value_type(version.value)
        if value_type is None:
            state.error("parameter-value", f"parameter '{parameter.name}' needs a number, text, true/false, or a "
                        "non-empty list of numbers or of text", version.span)
            return None
        types.append(value_type)
    if any(t != types[0] for t in types):
        state.error("parameter-type-mismatch", f"versions of parameter '{parameter.name}' have different types",
                    parameter.span)
        return None
    versions = [(v.effective, v.span) for v in parameter.versions]
    check_versions(state, f"parameter '{parameter.name}'", versions)
    check_always_in_force(state, f"parameter '{parameter.name}'", versions,
                          "an activity or period on such a day that reads it cannot be scored")
    state.parameters[parameter.name] = ParameterValues(
        parameter.name, tuple((v.effective, _runtime_value(v.value), v.span) for v in parameter.versions))
    return types[0]


def _table(state: CompileState, table: Table) -> TableType | None:
    key_type = NUMBER if table.key_type == "number" else TEXT
    value_type = NUMBER if table.value_type == "number" else TEXT
    if (table.rows is None) == (table.file is None):
        state.error("table-rows", f"table '{table.name}' needs either rows or file (not both)", table.span)
        return None
    if table.columns is not None:
        return _column_table(state, table, key_type)
    rows = table.rows if table.rows is not None else _read_table_file(state, table)
    if rows is None:
        return None
    converted: dict[Any, Any] = {}
    for key, value in rows.items():
        try:  # spec_number: plain digits within the range every number obeys (no 1e999999, 1_000 or Infinity)
            if isinstance(value, dict):
                raise ValueError("a mapping of columns (the table declares no columns)")
            typed_key = spec_number(key) if key_type == NUMBER else str(key)
            typed_value = spec_number(value) if value_type == NUMBER else str(value)
        except ValueError:
            at = (*table.path, "rows", key)
            span = state.model.document.span(at) if table.rows is not None else table.span  # the row, inline
            shown = "a mapping of columns" if isinstance(value, dict) else f"'{str(value)[:40]}'"
            state.error("table-value", f"table '{table.name}': row '{str(key)[:40]}' must map a {key_type.name} "
                        f"to a {value_type.name}, got {shown}", span,
                        "declare the columns (columns: {name: number}) to give each row several values"
                        if isinstance(value, dict) else None)
            continue
        converted[typed_key] = typed_value
    state.tables[table.name] = converted
    return TableType(table.name, key_type, value_type)


def _column_table(state: CompileState, table: Table, key_type: Type) -> TableType | None:
    """A table whose rows each give several named values: `rates[key].rate`, or a column alone, `rates.rate`."""
    assert table.columns is not None
    document = state.model.document
    if "value" in (document.data_at(table.path) or {}):
        state.error("table-columns", f"table '{table.name}' has one value per row (value) or named columns "
                    "(columns), not both", document.key_span((*table.path, "value")),
                    "remove value: each column says its own type")
        return None
    if "key" in dict(table.columns):
        state.error("table-columns", f"table '{table.name}': a column cannot be named 'key' (it names the rows)",
                    document.key_span((*table.path, "columns", "key")), "choose another name")
        return None
    columns: dict[str, Type] = {name: NUMBER if kind == "number" else TEXT for name, kind in table.columns}
    rows = table.rows if table.rows is not None else _read_table_file(state, table, tuple(columns))
    if rows is None:
        return None
    converted: dict[Any, Any] = {}
    for key, row in rows.items():
        at = (*table.path, "rows", key)
        try:
            typed_key = spec_number(key) if key_type == NUMBER else str(key)
        except ValueError:
            state.error("table-value", f"table '{table.name}': row '{str(key)[:40]}' must have a "
                        f"{key_type.name} as its key", document.key_span(at) if table.rows is not None
                        else document.span((*table.path, "file")))
            continue
        typed = _column_row(state, table, str(key), row, columns, at if table.rows is not None else None)
        if typed is not None:
            converted[typed_key] = typed
    state.tables[table.name] = converted
    state.columns[table.name] = tuple(columns)
    return TableType(table.name, key_type, RowType(f"row of table {table.name}", tuple(columns.items()), table.name))


def _column_row(state: CompileState, table: Table, key: str, row: Any, columns: dict[str, Type],
                at: Path | None) -> dict[str, Any] | None:
    """One row of a column table, every column given and typed; None (after an error) when it is not. `at` is
    where an inline row is written (a CSV row's problems are reported at the table's file)."""
    document = state.model.document
    shown = f"table '{table.name}': row '{key[:40]}'"

    def span(column: str | None = None, key_of: bool = False) -> Span:
        if at is None:
            return document.span((*table.path, "file"))
        place = at if column is None else (*at, column)
        return document.key_span(place) if key_of else document.span(place)

    if not isinstance(row, dict):
        state.error("table-value", f"{shown} must give its columns ({', '.join(columns)}), got "
                    f"'{str(row)[:40]}'", span(), "write the row as a mapping: {" + ", ".join(
                        f"{name}: ..." for name in columns) + "}")
        return None
    unknown = [str(name) for name in row if name not in columns]
    if unknown:
        state.error("table-value", f"{shown} has no column '{unknown[0][:40]}'", span(unknown[0], key_of=True),
                    did_you_mean(unknown[0], columns) or "columns: " + ", ".join(columns))
        return None
    missing = [name for name in columns if name not in row]
    if missing:
        state.error("table-value", f"{shown} does not give column '{missing[0]}'", span(),
                    "every row gives every column: " + ", ".join(columns))
        return None
    typed: dict[str, Any] = {}
    for name, column_type in columns.items():
        value = row[name]
        try:
            typed[name] = spec_number(value) if column_type == NUMBER else _cell_text(value)
        except ValueError:
            state.error("table-value", f"{shown}: column '{name}' must be {_article(column_type)}, got "
                        f"'{str(value)[:40]}'", span(name))
            return None
    return typed


def _article(kind: Type) -> str:
    return "a number" if kind == NUMBER else "text"


def _cell_text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("not text")
    return str(value)


def _read_table_file(state: CompileState, table: Table, columns: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A CSV table's rows: key → value (header `key,value`), or with `columns`, key → {column: cell} (header
    `key` and every column; other columns are ignored)."""
    assert table.file is not None
    span = state.model.document.span((*table.path, "file"))
    data = read_spec_file(state.model.path, table.file)  # the one rule for files a spec names (ceruleng.files)
    if isinstance(data, FileProblem):
        if data.missing:
            state.error("table-file", f"cannot read table file '{table.file}': {data.message}", span)
        else:
            state.error("file-not-allowed", f"table file {data.message}", span)
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        state.error("table-file", f"cannot read table file '{table.file}': not UTF-8 (byte {exc.start})", span)
        return None
    rows: dict[str, Any] = {}
    reader = csv.DictReader(io.StringIO(text))
    wanted = ("key", *(columns or ("value",)))
    try:
        if reader.fieldnames is None or not set(wanted) <= set(reader.fieldnames):
            state.error("table-file", f"table file '{table.file}' needs a header row with columns "
                        f"{','.join(wanted)}", span)
            return None
        for line_number, row in enumerate(reader, start=2):
            key = (row.get("key") or "").strip()
            if key in rows:
                state.error("table-duplicate-key", f"table file '{table.file}' line {line_number}: key "
                            f"'{key[:40]}' repeats", span)
            cells = {column: (row.get(column) or "").strip() for column in columns}
            rows[key] = cells if columns else (row.get("value") or "").strip()
    except csv.Error as exc:  # a cell past the csv module's field limit, a NUL
        state.error("table-file", f"table file '{table.file}' line {reader.line_num}: {exc}", span)
        return None
    return rows
