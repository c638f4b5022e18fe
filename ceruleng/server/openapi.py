"""The service's OpenAPI 3.1 document, whose schemas are the published JSON Schemas (schemas/*.json).

Input: the published schemas (`ceruleng.schema.load_schema`). Output: a JSON-ready dict served at `/openapi.json`.
OpenAPI 3.1 schemas are JSON Schema 2020-12, so each published schema goes in as it is, with one mechanical change
that keeps every reference resolvable inside one document: a schema's `$defs` become components of their own
(`Result.member` for `result.schema.json`'s `#/$defs/member`) and its `$ref`s point there.
"""

from __future__ import annotations

import copy
from typing import Any

from ceruleng.schema import load_schema
from ceruleng.scoring.encode import CATEGORIES, REASONS

NAMES = {"spec": "Spec", "activities": "Activities", "result": "Result"}
"""Published schema → component name."""

ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
         "properties": {"error": {"type": "string", "description": "What is wrong, as the command line says it."}}}
DIAGNOSTICS = {
    "type": "object", "required": ["files", "diagnostics", "summary"],
    "description": "What `ceruleng check --format json` prints.",
    "properties": {
        "files": {"type": "array", "items": {"type": "string"}},
        "diagnostics": {"type": "array", "items": {
            "type": "object", "required": ["path", "line", "column", "severity", "code", "message", "hint"],
            "properties": {"path": {"type": "string"}, "line": {"type": "integer"}, "column": {"type": "integer"},
                           "severity": {"enum": ["error", "warning"]}, "code": {"type": "string"},
                           "message": {"type": "string"}, "hint": {"type": ["string", "null"]}}}},
        "summary": {"type": "object", "required": ["files", "errors", "warnings"],
                    "properties": {"files": {"type": "integer"}, "errors": {"type": "integer"},
                                   "warnings": {"type": "integer"}}},
    },
}
SPECS = {
    "type": "object", "required": ["generation", "loaded_at", "specs"],
    "properties": {
        "generation": {"type": "integer", "description": "Counts loads: 1 at start-up, one more per reload."},
        "loaded_at": {"type": "string", "description": "When this generation was loaded (UTC, ISO 8601)."},
        "specs": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "version", "sha256", "language_version"],
            "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "body": {"type": ["string", "null"]},
                "unit": {"type": "string"}, "places": {"type": "integer"},
                "language_version": {"type": ["string", "null"], "description": "The spec's `ceruleng:` key."},
                "version": {"type": ["string", "null"],
                            "description": "The first 12 hex digits of sha256: changes whenever the spec's text does."},
                "sha256": {"type": ["string", "null"]}, "path": {"type": "string"}}}},
    },
}
HEALTH = {"type": "object", "required": ["status", "generation", "specs"],
          "properties": {"status": {"const": "ok"}, "generation": {"type": "integer"}, "specs": {"type": "integer"},
                         "loaded_at": {"type": "string"}, "reloads": {"type": "integer"},
                         "last_reload_error": {"type": ["string", "null"]}}}


def _hoisted(name: str) -> dict[str, Any]:
    """A published schema and its $defs as components, references rewritten to point at them."""
    schema = copy.deepcopy(load_schema(name))
    component = NAMES[name]
    definitions = schema.pop("$defs", {})
    prefix = f"#/components/schemas/{component}."

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: (prefix + value.removeprefix("#/$defs/") if key == "$ref" and isinstance(value, str)
                          and value.startswith("#/$defs/") else rewrite(value)) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    schema.pop("$schema", None)
    schema.pop("$id", None)  # an $id would make "#/components/..." resolve inside the schema, not this document
    found = {component: rewrite(schema)}
    found.update({f"{component}.{key}": rewrite(value) for key, value in definitions.items()})
    return found


def _parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def document(version: str, max_body: int) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for name in NAMES:
        schemas.update(_hoisted(name))
    schemas.update({"Error": ERROR, "CheckReport": DIAGNOSTICS, "SpecList": SPECS, "Health": HEALTH})
    too_large = {"description": f"The body is over the limit (--max-body, {max_body} bytes).",
                 "content": _json("Error")}
    bad = {"description": "A query parameter or the body cannot be used (the message says which).",
           "content": _json("Error")}
    outputs = {
        "application/json": {"schema": {"$ref": "#/components/schemas/Result"}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "One Result.member per line."}},
        "text/csv": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string", "description": "The table for people."}},
        "text/html": {"schema": {"type": "string", "description": "The member report."}},
    }
    evaluate = {
        "summary": "Score member documents: exactly what `ceruleng eval` prints for the same input on stdin.",
        "parameters": [
            _parameter("as_of", "Score the cycle containing this day (default: today).",
                       {"type": "string", "format": "date"}),
            _parameter("explain", "Include the trace of every rule applied.", {"type": "boolean", "default": False}),
            _parameter("format", "The output format.", {"enum": ["json", "jsonl", "csv", "table", "html"],
                                                         "default": "json"}),
            _parameter("input_format", "How to read the body (default: sniffed, as for stdin).",
                       {"enum": ["yaml", "json", "jsonl", "csv"]}),
            _parameter("seed", "Seed for the reproducible audit draw.", {"type": "integer", "default": 0}),
            _parameter("reasons", "json and jsonl: each activity's reasons as sentences, their codes, or none "
                       "(`eval --reasons`).", {"enum": list(REASONS), "default": "text"}),
            _parameter("categories", "json and jsonl: the categories each credential used, or all of the spec's "
                       "(`eval --categories`).", {"enum": list(CATEGORIES), "default": "used"}),
        ],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Activities"}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "One Activities document a line."}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/Activities"}},
            "text/csv": {"schema": {"type": "string"}}}},
        "responses": {
            "200": {"description": "Every record was scored (eval's exit code 0).", "content": outputs},
            "400": bad,
            "413": too_large,
            "422": {"description": "Some input was rejected as malformed (eval's exit code 1); the body is the "
                                   "full result, naming what was wrong.", "content": outputs},
        },
    }
    check = {
        "summary": "Check a spec: the diagnostics `ceruleng check --format json` prints for it.",
        "parameters": [_parameter("name", "The file name diagnostics use; the spec is checked as if it lay in the "
                                          "rules folder, beside the source texts it cites.",
                                  {"type": "string", "default": "spec.yaml"})],
        "requestBody": {"required": True, "content": {"application/yaml": {
            "schema": {"$ref": "#/components/schemas/Spec"}}}},
        "responses": {"200": {"description": "No errors (warnings allowed).", "content": _json("CheckReport")},
                      "400": bad, "413": too_large,
                      "422": {"description": "The spec has errors.", "content": _json("CheckReport")}},
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "ceruleng", "version": version,
                 "description": "Continuing-education specs, checked and scored exactly."},
        "paths": {
            "/v1/evaluate": {"post": evaluate},
            "/v1/check": {"post": check},
            "/v1/specs": {"get": {"summary": "The loaded specs, with ids, titles and versions.",
                                  "responses": {"200": {"description": "The specs.", "content": _json("SpecList")}}}},
            "/healthz": {"get": {"summary": "Liveness, and which generation of the specs is loaded.",
                                 "responses": {"200": {"description": "Serving.", "content": _json("Health")}}}},
            "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI."}}}},
        },
        "components": {"schemas": schemas},
    }
