"""Types of the expression language, known before any data is seen.

Input: declarations from the spec (attribute types, scales, tables). Output: type objects the checker compares and
the code generator consults (a scale comparison compares ranks; a table lookup indexes a dict). Imports nothing from
ceruleng.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Type:
    """Base of all types. `name` is what messages print."""

    @property
    def name(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Simple(Type):
    label: str

    @property
    def name(self) -> str:
        return self.label


NUMBER = Simple("number")
TEXT = Simple("text")
DATE = Simple("date")
BOOLEAN = Simple("boolean")
ANY = Simple("anything")
"""The element type of an empty list literal: fits any list."""


@dataclass(frozen=True, slots=True)
class ListType(Type):
    element: Type

    @property
    def name(self) -> str:
        return f"list of {self.element.name}"


@dataclass(frozen=True, slots=True)
class RecordType(Type):
    """A record with named fields: a segment, the cycle, a scored activity."""

    label: str
    fields: tuple[tuple[str, Type], ...]

    @property
    def name(self) -> str:
        return self.label

    def field(self, name: str) -> Type | None:
        return dict(self.fields).get(name)

    @property
    def field_names(self) -> list[str]:
        return [name for name, _ in self.fields]


@dataclass(frozen=True, slots=True)
class RowType(RecordType):
    """A row of a table with named value columns (`rates[key]`): its fields are the columns."""

    table: str


@dataclass(frozen=True, slots=True)
class ScaleType(Type):
    """A value on an ordered scale (letter grades): compared by rank, low to high."""

    scale: str
    values: tuple[str, ...] = field(compare=False)

    @property
    def name(self) -> str:
        return f"{self.scale} (scale)"

    def rank(self, value: str) -> int | None:
        try:
            return self.values.index(value)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class TableType(Type):
    """A lookup table: `table[key]` gives a value (a `RowType` when the table has named columns), `key in table`
    tests for a row. A column of a table with columns is a table of its own: `rates.rate`, named `rates.rate`."""

    table: str
    key: Type
    value: Type

    @property
    def name(self) -> str:
        return f"table {self.table}"

    def column(self, name: str) -> TableType | None:
        """The table of one column (`rates.rate`: key → that column's value), or None when there is no such column."""
        if not isinstance(self.value, RowType):
            return None
        found = self.value.field(name)
        return TableType(f"{self.table}.{name}", self.key, found) if found is not None else None


def fits(actual: Type, expected: Type) -> bool:
    """Whether a value of type `actual` may stand where `expected` is wanted."""
    if actual == expected or ANY in (actual, expected):
        return True
    if isinstance(actual, ScaleType) and expected == TEXT:
        return True
    if isinstance(actual, ListType) and isinstance(expected, ListType):
        return fits(actual.element, expected.element)
    return False


def unify(left: Type, right: Type) -> Type | None:
    """The common type of two branches or list items, or None when they differ."""
    if right in (left, ANY):
        return left
    if left == ANY:
        return right
    if isinstance(left, ListType) and isinstance(right, ListType):
        element = unify(left.element, right.element)
        return ListType(element) if element else None
    if isinstance(left, ScaleType) and right == TEXT:
        return TEXT
    if left == TEXT and isinstance(right, ScaleType):
        return TEXT
    return None


SEGMENT = RecordType("segment", (("kind", TEXT), ("minutes", NUMBER)))
CYCLE = RecordType("cycle", (("start", DATE), ("end", DATE), ("number", NUMBER)))
"""The period a rule judges: its first and last day, and its number (the first period is 1)."""
PERIOD_START = RecordType("cycle", (("start", DATE), ("number", NUMBER)))
"""The period whose end is being computed (`cycle.end: ...`): its end is not known yet."""
SCORED_ACTIVITY = RecordType(
    "scored activity",
    (("id", TEXT), ("type", TEXT), ("category", TEXT), ("status", TEXT), ("credits", NUMBER), ("date", DATE)),
)
