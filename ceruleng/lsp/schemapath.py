"""What the published spec schema says about one place in a spec: the editor's map of keys and value kinds.

Input: a document path (keys and list indexes, as the loader keys its spans). Output: the schema node there — which
keys a mapping may hold (with their descriptions, for key completion), the allowed values of an enum, and whether the
value is an expression or a reason template (the `$defs/expression` and `$defs/template` references), which is how
the server knows a scalar is an expression even when the spec around it is broken. Reads `schemas/spec.schema.json`
through `ceruleng.schema`, so the editor and `ceruleng check` follow one schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ceruleng.schema import load_schema

EXPRESSION = "expression"
TEMPLATE = "template"


@dataclass(frozen=True)
class SchemaNode:
    schema: dict[str, Any]
    refs: tuple[str, ...]
    """The `$defs` names passed through on the way here, innermost last."""

    @property
    def kind(self) -> str | None:
        """'expression' or 'template' when the value here is one, else None."""
        for ref in reversed(self.refs):
            if ref in (EXPRESSION, TEMPLATE):
                return ref
        return None

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))

    def keys(self) -> dict[str, str]:
        """The keys a mapping here may hold, with their descriptions (every branch of a oneOf)."""
        found: dict[str, str] = {}
        for branch in _branches(self.schema, self.refs):
            for key, value in branch.schema.get("properties", {}).items():
                found.setdefault(key, _resolve(value, ())[0].get("description", ""))
        return found

    def enum(self) -> list[str]:
        return [str(value) for branch in _branches(self.schema, self.refs) for value in branch.schema.get("enum", ())]


def _defs() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema("spec").get("$defs", {})
    return defs


def _resolve(schema: dict[str, Any], refs: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    seen = 0
    while "$ref" in schema and seen < 32:  # the published schema has no cycles of bare references; stay bounded
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        refs = (*refs, name)
        schema = {**_defs().get(name, {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema, refs


def _branches(schema: dict[str, Any], refs: tuple[str, ...]) -> list[SchemaNode]:
    node = SchemaNode(*_resolve(schema, refs))
    return [node, *(SchemaNode(*_resolve(branch, node.refs)) for branch in node.schema.get("oneOf", ()))]


def _step(node: SchemaNode, key: str | int) -> SchemaNode | None:
    for branch in _branches(node.schema, node.refs):
        if isinstance(key, int):
            items = branch.schema.get("items")
            if isinstance(items, dict):
                return SchemaNode(*_resolve(items, branch.refs))
            continue
        properties = branch.schema.get("properties", {})
        if key in properties:
            return SchemaNode(*_resolve(properties[key], branch.refs))
        extra = branch.schema.get("additionalProperties")
        if isinstance(extra, dict):
            return SchemaNode(*_resolve(extra, branch.refs))
    return None


@lru_cache(maxsize=4096)  # bounded: user-chosen names (attributes, lets) are part of paths
def _cached(path: tuple[str | int, ...]) -> SchemaNode | None:
    if not path:
        return SchemaNode(*_resolve(load_schema("spec"), ()))
    parent = _cached(path[:-1])
    return _step(parent, path[-1]) if parent is not None else None


def schema_at(path: Sequence[str | int]) -> SchemaNode | None:
    """The schema node for the value at `path`, or None where the schema allows nothing (an unknown key)."""
    normal = tuple(0 if isinstance(key, int) else str(key) for key in path)  # every list item has one schema
    return _cached(normal) if len(normal) <= 32 else None
