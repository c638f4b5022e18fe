"""Stage 3, compile: a `SpecModel` → a `CompiledSpec` whose rules are Python functions, plus diagnostics.

Input: the typed model of a schema-valid spec. Output: every diagnostic the spec deserves and, when there are no
errors, the compiled spec the scorer scores with. The work is the ordered list of named stages below; each
reads the model and what earlier stages built, and adds diagnostics. Why this order: names get their types before
any expression is checked; references are resolved before policy checks compare caps with requirements; code is
generated only from a spec without errors, and examples are checked against the generated record checker.
"""

from __future__ import annotations

from collections.abc import Callable

from ceruleng.backend.assemble import build_record_checkers, generate_code
from ceruleng.compiler.declarations import declare_names
from ceruleng.compiler.examples import check_examples
from ceruleng.compiler.expressions import check_expressions
from ceruleng.compiler.policy import check_quotes, check_reachability, check_unused_lets, compare_with_requirement
from ceruleng.compiler.references import group_versions, resolve_references
from ceruleng.compiler.state import CompiledCategory, CompiledSpec, CompileState
from ceruleng.errors import Diagnostic
from ceruleng.model import SpecModel

Stage = Callable[[CompileState], None]

STAGES: list[tuple[str, Stage, bool]] = [
    ("declare names", declare_names, False),
    ("group versions", group_versions, False),
    ("resolve references", resolve_references, False),
    ("check expressions", check_expressions, False),
    ("compare with requirement", compare_with_requirement, False),
    ("check reachability", check_reachability, False),
    ("check unused lets", check_unused_lets, False),
    ("check quotes", check_quotes, False),
    ("build record checkers", build_record_checkers, True),
    ("check examples", check_examples, True),
    ("generate code", generate_code, True),
]
"""(name, stage, needs an error-free spec). Stages that need one are skipped once an error is found. Code is
generated last: `check` stops before it (nothing it reports depends on the generated module)."""


def compile_model(model: SpecModel, generate: bool = True) -> tuple[CompiledSpec | None, list[Diagnostic]]:
    """Run every stage; the compiled spec when there are no errors, and all diagnostics either way.

    `generate=False` (for `check`) skips generating the scoring module; the result then cannot score.
    """
    state = CompileState(model)
    compiled = CompiledSpec(model=model, attributes={})
    state.constants["compiled"] = compiled
    for name, stage, needs_clean in STAGES:
        if (needs_clean and state.has_errors) or (name == "generate code" and not generate):
            continue
        stage(state)
    if state.has_errors:
        return None, state.diagnostics
    compiled.attributes = state.attributes
    compiled.warnings = [d for d in state.diagnostics if not d.is_error]
    return compiled, state.diagnostics


__all__ = ["STAGES", "CompiledCategory", "CompiledSpec", "compile_model"]
