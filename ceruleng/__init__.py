"""ceruleng: continuing-education policies as checked YAML specs, and exact, explainable scoring against them.

The Python API (imported lazily, so `import ceruleng` stays cheap):

    from ceruleng import load_spec, evaluate
    spec = load_spec("rules/<body>.yaml")
    result = evaluate(spec, member_document, as_of=date(2025, 6, 1))
    result.to_json()
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "load_spec": "ceruleng.engine",
    "load_specs": "ceruleng.engine",
    "evaluate": "ceruleng.engine",
    "Evaluator": "ceruleng.engine",
    "check_file": "ceruleng.engine",
    "read_members": "ceruleng.inputs",
    "to_rows": "ceruleng.report.rows",
    "SpecError": "ceruleng.errors",
    "InputError": "ceruleng.errors",
    "CerulengError": "ceruleng.errors",
}

__all__ = [  # noqa: RUF022 - the version first, then the API in the order of _API
    "__version__", "load_spec", "load_specs", "evaluate", "Evaluator", "check_file", "read_members", "to_rows",
    "SpecError", "InputError", "CerulengError",
]


def __getattr__(name: str) -> Any:
    module_name = _API.get(name)
    if module_name is None:
        raise AttributeError(f"module 'ceruleng' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module_name), name)
