"""Compiler stage: parse and type-check every expression and reason template in the scope where it is written.

Input: the model and the scopes from `declarations`. Output: a `Checked` expression per document path (kept in
the state for code generation), the bindings of lets, and every expression diagnostic (`expr-*`, `template-syntax`,
`unknown-scale-value`, `unknown-rounding-mode`, `regex-*`), plus `category-missing-credit`,
`category-outcome-credit`, `requirement-without-cycle`.

Scopes, from the inside out: a category's lets, then the spec's top-level lets, then activity attributes,
credential attributes, parameters, tables, `certified_on`, `cycle` and `unit`. Cycle rules (requirement, caps,
minimums, alternatives, deadline) see no activity attributes; alternatives also see `activities`.
"""

from __future__ import annotations

from ceruleng.compiler.modes import check_mode, check_rounding_modes
from ceruleng.compiler.state import CompileState
from ceruleng.errors import did_you_mean
from ceruleng.expr import ast
from ceruleng.expr.checker import Binding, Scope, always_read, element_scope
from ceruleng.expr.types import ANY, BOOLEAN, DATE, NUMBER, SCORED_ACTIVITY, TEXT, ListType
from ceruleng.model import Category, Check, Cycle, ExprText, Limit, Requirement, Window

CREDITS = Binding("credits", NUMBER, "credits", description="the credit this activity earns")


def _lets(state: CompileState, lets: tuple[tuple[str, ExprText], ...], scope: Scope) -> Scope:
    """Check lets in order, each seeing those before it; returns the scope with all of them."""
    for name, text in lets:
        existing = scope.lookup(name)
        if existing is not None and existing.kind != "let":
            state.error_about(text, "name-conflict", f"let '{name}' hides a declared name of the same name", text.span,
                              "choose another name")
        checked = state.expression(text, scope, None, f"let '{name}'")
        # a copy inherited by a later version is that version's own let (it may read another of its lets)
        owner = text.path if text.copy is None else (*text.copy, "let", name)
        binding = Binding(name, checked.type if checked else ANY, "let", owner, description=f"the value '{name}'")
        state.lets[text.key] = binding
        scope = scope.with_bindings([binding])
    return scope


def _check_rule(state: CompileState, rule: Check, scope: Scope) -> None:
    state.expression(rule.require, scope, BOOLEAN, "the condition under 'require'")
    state.template(rule.reason, scope)


def _category(state: CompileState, category: Category, scope: Scope, cycle_scope: Scope) -> None:
    if category.when is not None:
        state.expression(category.when, scope, BOOLEAN, "the condition under 'when'")
    for rule in category.checks:
        _check_rule(state, rule, scope)
    inner = _lets(state, category.lets, scope)
    if category.outcome is not None:
        if category.credit is not None:
            state.error_about(category.credit, "category-outcome-credit",
                              f"category '{category.id}' has both an outcome and a credit", category.credit.span,
                              "an outcome category earns nothing by rule; remove one of them")
        if category.reason is None:
            state.error("category-missing-reason", f"category '{category.id}' has an outcome but no reason",
                        category.span, "say why, in a sentence a member understands")
        else:
            state.template(category.reason, inner)
        return
    if category.credit is None:
        state.error("category-missing-credit", f"category '{category.id}' has no credit (and no outcome)",
                    category.span, "add credit: an expression, or outcome: rejected|pending with a reason")
        return
    state.expression(category.credit, inner, NUMBER, "the credit")
    if category.rounding is not None:
        state.expression(category.rounding.increment, inner, NUMBER, "the rounding increment")
        check_mode(state, category.rounding.mode, inner)
    with_credits = inner.with_bindings([CREDITS])
    for bound in (category.minimum, category.maximum):
        if bound is not None:
            state.expression(bound.credits, inner, NUMBER, "the bound")
            state.template(bound.reason, with_credits)
    if category.explain is not None:
        state.template(category.explain, with_credits)
    if category.cap is not None:
        state.expression(category.cap, state.limit_scope, NUMBER, "the cap")
    _tags(state, category.tags, with_credits)
    _cross_activity(state, category, inner, with_credits)


def _tags(state: CompileState, tags: tuple[tuple[str, ExprText], ...], scope: Scope) -> None:
    """A category's (or a split part's) tags: declared names, each an expression of the tag's type."""
    for name, text in tags:
        declared = state.model.tags.get(name)
        if declared is None:
            state.error_about(text, "unknown-tag", f"unknown tag '{name}'", state.model.document.key_span(text.path),
                              did_you_mean(name, state.model.tags) or "declare it under tags")
            continue
        checked = state.expression(text, scope, state.tag_types.get(name), f"the tag '{name}'")
        if checked is not None and declared.values is not None:
            for literal in _literals(checked.node):
                if literal not in declared.values:
                    state.error_about(text, "unknown-tag-value", f"'{literal}' is not a value of tag '{name}'",
                                      text.span, did_you_mean(literal, declared.values)
                                      or "values: " + ", ".join(declared.values))


def _literals(node: ast.Expr) -> list[str]:
    """The text literals an expression can give as its value (through `if`), for checking a tag's values."""
    if isinstance(node, ast.String):
        return [node.value]
    if isinstance(node, ast.Conditional):
        return [*_literals(node.then), *_literals(node.otherwise)]
    return []


def _cross_activity(state: CompileState, category: Category, inner: Scope, with_credits: Scope) -> None:
    """Repeats, tiers and a split of the category's credit."""
    if category.repeats is not None:
        state.expression(category.repeats.key, inner, TEXT, "the key of repeats")
    for tier in category.tiers:
        if tier.up_to is not None:
            state.expression(tier.up_to, state.limit_scope, NUMBER, "the tier's up_to")
        state.expression(tier.factor, state.limit_scope, NUMBER, "the tier's factor")
    split = category.split
    if split is not None:
        listed = state.expression(split.over, with_credits, None, "the list to split over")
        if listed is not None and not isinstance(listed.type, ListType | type(ANY)):
            state.error_about(split.over, "expr-type",
                              f"split needs a list to split the credit over, got {listed.type.name}", split.over.span)
        parts = element_scope(with_credits, listed.type if listed is not None else ANY)
        state.expression(split.credits, parts, NUMBER, "a part's credits")
        _tags(state, split.tags, parts)


def check_expressions(state: CompileState) -> None:
    model = state.model
    scope = _lets(state, model.lets, state.activity_scope)
    state.global_scope = scope
    for tag in model.tags.values():
        if tag.default is not None:
            state.expression(tag.default, scope, state.tag_types.get(tag.name), f"the default of tag '{tag.name}'")
    for rule in model.checks:
        _check_rule(state, rule, scope)
    for category in model.categories:
        _category(state, category, scope, state.cycle_scope)
    _cycle_rules(state)
    check_rounding_modes(state)


def _layout(state: CompileState, cycle: Cycle) -> None:
    """The rules that lay periods out: the first start from credential data, each end from its period's start."""
    for text, scope, what in ((cycle.start, state.layout_scope, "the first period's start"),
                              (cycle.end, state.period_scope, "a period's end"),
                              (cycle.deadline, state.cycle_scope, "the deadline")):
        if text is not None:
            state.expression(text, scope, DATE, what)
    first = cycle.first
    if first is not None:
        if first.start is not None:
            state.expression(first.start, state.layout_scope, DATE, "the first period's start")
        if first.end is not None:
            state.expression(first.end, state.period_scope, DATE, "the first period's end")
        if first.end is not None and first.length is not None:
            state.error("window-conflict", "the first period has an end or a length, not both",
                        state.model.document.key_span((*first.path, "length")))


def _limit(state: CompileState, limit: Limit, amounts: Scope) -> None:
    if limit.select is not None:
        state.expression(limit.select, state.entry_scope, BOOLEAN, "the condition under 'select'")
    state.expression(limit.at_most, amounts, NUMBER, "the limit")
    _window(state, limit.window)


def _window(state: CompileState, window: Window | None) -> None:
    if window is None:
        return
    for text, what in ((window.start, "the window's start"), (window.end, "the window's end")):
        if text is not None:
            state.expression(text, state.cycle_scope, DATE, what)


def _cycle_rules(state: CompileState) -> None:
    model = state.model
    if model.cycle is not None:
        _layout(state, model.cycle)
    for category in model.categories:
        if category.cap is not None and model.cycle is None:
            state.error_about(category.cap, "cap-without-cycle", "a per-cycle cap needs a cycle", category.cap.span)
    for limit in model.limits:
        _limit(state, limit, state.limit_scope)
        if model.cycle is None:
            state.error("cap-without-cycle", "a limit needs a cycle to count credit in", limit.span)
    requirement = model.requirement
    if requirement is None:
        return
    if model.cycle is None:
        state.error("requirement-without-cycle", "a requirement needs a cycle to count credits in",
                    model.document.key_span(("requirement",)), "add cycle: {length: {years: 2}, source: ...}")
        return
    _requirement(state, requirement)


def _requirement(state: CompileState, requirement: Requirement) -> None:
    """The requirement and what it holds: carry-over, minimums, alternatives."""
    cycle_scope = state.cycle_scope
    state.expression(requirement.credits, cycle_scope, NUMBER, "the requirement")
    _window(state, requirement.window)
    if requirement.carry_over is not None:
        state.expression(requirement.carry_over, state.totals_scope, NUMBER, "the carry-over limit")
    carry = requirement.carry
    if carry is not None:
        if carry.select is not None:
            state.expression(carry.select, state.entry_scope, BOOLEAN, "the condition under 'select'")
        if carry.prefer is not None:
            state.expression(carry.prefer, state.entry_scope, BOOLEAN, "the condition under 'prefer'")
        _window(state, carry.window)
        for limit in carry.limits:
            _limit(state, limit, state.totals_scope)
    for minimum in requirement.minimums:
        state.expression(minimum.at_least, state.totals_scope, NUMBER, "the minimum")
        if minimum.select is not None:
            state.expression(minimum.select, state.entry_scope, BOOLEAN, "the condition under 'select'")
        _window(state, minimum.window)
        for counted in minimum.counts:
            if counted.up_to is not None:
                state.expression(counted.up_to, cycle_scope, NUMBER, "the limit under 'up_to'")
            if counted.select is not None:
                state.expression(counted.select, state.entry_scope, BOOLEAN, "the condition under 'select'")
    scored = state.totals_scope.with_bindings([
        Binding("activities", ListType(SCORED_ACTIVITY), "activities", description="this cycle's scored activities"),
    ])
    for alternative in requirement.alternatives:
        state.expression(alternative.met_when, scored, BOOLEAN, "the condition under 'met_when'")
    for condition in requirement.conditions:
        state.expression(condition.met_when, scored, BOOLEAN, "the condition under 'met_when'")
        _window(state, condition.window)


MAX_CONDITIONAL_LETS = 32
"""Longest chain of lets each needed only under a condition of the next. Such a let is computed by its own function,
called only on the path that needs it, so a chain nests calls at run time; real rules need two or three."""


def check_let_depth(state: CompileState) -> None:
    """Refuse a chain of conditionally needed lets deeper than MAX_CONDITIONAL_LETS (`let-too-deep`).

    Lets only read lets written before them, so one pass in order measures every chain; a chain of any length whose
    lets are needed unconditionally is fine (each is one statement, computed in order)."""
    depth: dict[Binding, int] = {}
    for key, binding in state.lets.items():
        checked = state.checked.get(key)
        if checked is None:
            continue
        always = set(always_read(checked))
        deepest = 0
        for read in checked.names():
            if read.kind == "let" and read in depth:
                deepest = max(deepest, depth[read] + (0 if read in always else 1))
        depth[binding] = deepest
        if deepest > MAX_CONDITIONAL_LETS:
            state.error("let-too-deep", f"let '{binding.name}' ends a chain of {deepest} lets each needed only "
                        f"under a condition of the next (limit {MAX_CONDITIONAL_LETS})",
                        state.model.document.span(key[0]), "compute the values without the conditions, then choose")
            return
