"""Stage 3, compile (the front half): a `SpecModel` → a checked `CompileState`, plus diagnostics.

Input: the typed model of a schema-valid spec. Output: every diagnostic the spec deserves, and the compile state the
back end (`ceruleng.backend`) turns into generated Python when there are no errors. The work is the ordered list of
named stages below; each reads the model and what earlier stages built, and adds diagnostics. Why this order: names
get their types before any expression is checked; references are resolved before policy checks compare caps with
requirements; lets are measured once their expressions are checked.

Embedded examples are checked after the back end has built the record checker (they must fit it): see
`ceruleng.engine.check_text`, the one place that runs compile, back end and example checks in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ceruleng.compiler.conditions import check_conditions
from ceruleng.compiler.cyclelets import check_cycle_let_reads, check_cycle_lets
from ceruleng.compiler.declarations import declare_names
from ceruleng.compiler.expressions import check_expressions, check_let_depth
from ceruleng.compiler.ledger import check_ledger, check_windows
from ceruleng.compiler.policy import check_quotes, check_reachability, check_unused_lets, compare_with_requirement
from ceruleng.compiler.references import group_versions, resolve_references
from ceruleng.compiler.state import CompileState
from ceruleng.model import SpecModel


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[CompileState], None]


STAGES: tuple[Stage, ...] = (
    Stage("declare names", declare_names),
    Stage("bind the period's values", check_cycle_lets),
    Stage("group versions", group_versions),
    Stage("resolve references", resolve_references),
    Stage("check expressions", check_expressions),
    Stage("check reads of the period's values", check_cycle_let_reads),
    Stage("check conditions", check_conditions),
    Stage("measure lets", check_let_depth),
    Stage("compare with requirement", compare_with_requirement),
    Stage("check reachability", check_reachability),
    Stage("check unused lets", check_unused_lets),
    Stage("check quotes", check_quotes),
    Stage("check windows", check_windows),
    Stage("check the ledger", check_ledger),
)


def check_model(model: SpecModel) -> CompileState:
    """Run every stage; the state holds all diagnostics (see `CompileState.has_errors`)."""
    state = CompileState(model)
    for stage in STAGES:
        stage.run(state)
    return state


__all__ = ["STAGES", "CompileState", "Stage", "check_model"]
