"""Compiler stage: lints of windows and of the ledger — rules that cannot do what they say.

Input: the model and the checked expressions. Output: warnings a policy writer wants before a member meets them:
- `window-parts-uneven`: parts (`every`) that do not tile the period (the last part is shorter);
- `grace-overlaps-next`: a grace as long as a period (one period's credit could come from the whole next one);
- `window-before-history`: a rolling window longer than the first period (members in their first periods cannot
  have that much history: say how the policy reads that, e.g. by pro-rating);
- `tag-unused`: a declared tag no rule reads;
- `limit-never-binds` and `minimum-unreachable`: a `select` no entry can satisfy, because it asks for a category the
  spec does not have or a tag value no category gives.

Lengths are compared only when both are whole months (or both days); expressions are read for the literal values
they can give, and anything else is taken to be able to give anything, so a warning here is never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ceruleng.compiler.state import CompileState
from ceruleng.expr import ast
from ceruleng.expr.checker import Checked
from ceruleng.model import Duration, ExprText, Window
from ceruleng.source import Span


def _tiles(every: Duration, period: Duration) -> bool | None:
    """Whether parts of `every` tile a period of `period` exactly (None: lengths in months and days can't tell)."""
    if every.months is not None and period.months is not None:
        return period.months % every.months == 0
    if every.unit == period.unit == "days":
        return period.amount % every.amount == 0
    return None


def check_windows(state: CompileState) -> None:
    cycle = state.model.cycle
    if cycle is None or cycle.length is None or cycle.end is not None:
        return
    period = cycle.length
    for what, every, span in _parts(state):
        if _tiles(every, period) is False:
            state.warn("window-parts-uneven", f"{what} in parts of {every.describe()} do not tile a period of "
                       f"{period.describe()}: its last part is shorter", span,
                       "choose a length the period divides into, or say in a note how the last part is judged")
    grace = cycle.grace
    if grace is not None and _at_least(grace.length, period):
        state.warn("grace-overlaps-next", f"a grace of {grace.length.describe()} is as long as a period "
                   f"({period.describe()}): a period could take credit from the whole of the next one",
                   grace.length.span, "a grace is usually days or a few months")
    first = cycle.first.length if cycle.first is not None and cycle.first.length is not None else period
    for window in _windows(state):
        if window.length is not None and _longer(window.length, first):
            state.warn("window-before-history", f"a window of {window.length.describe()} is longer than the first "
                       f"period ({first.describe()}): members in their first periods cannot have that much history",
                       window.length.span, "say how the policy judges them (a note), e.g. by pro-rating the "
                       "requirement")


def _parts(state: CompileState) -> Iterator[tuple[str, Duration, Span]]:
    model = state.model
    for category in model.categories:
        if category.cap_every is not None:
            yield f"the cap of '{category.id}'", category.cap_every, category.cap_every.span
    for limit in model.limits:
        if limit.window is not None and limit.window.every is not None:
            yield f"limit '{limit.id}'", limit.window.every, limit.window.every.span
    requirement = model.requirement
    for minimum in requirement.minimums if requirement else ():
        if minimum.window is not None and minimum.window.every is not None:
            yield f"minimum '{minimum.id}'", minimum.window.every, minimum.window.every.span


def _windows(state: CompileState) -> Iterator[Window]:
    model = state.model
    requirement = model.requirement
    if requirement is not None:
        if requirement.window is not None:
            yield requirement.window
        yield from (m.window for m in requirement.minimums if m.window is not None)
    yield from (limit.window for limit in model.limits if limit.window is not None)


def _at_least(length: Duration, period: Duration) -> bool:
    if length.months is not None and period.months is not None:
        return length.months >= period.months
    if length.unit == "days" and period.months is not None:
        return length.amount >= 28 * period.months
    return length.unit == period.unit == "days" and length.amount >= period.amount


def _longer(length: Duration, period: Duration) -> bool:
    if length.months is not None and period.months is not None:
        return length.months > period.months
    return length.unit == period.unit == "days" and length.amount > period.amount


# ---- the ledger ------------------------------------------------------------------------------------------------

ANYTHING = None
"""What the values of a tag are when an expression could give any."""


def _possible_values(state: CompileState) -> dict[str, set[str] | None]:
    """Per tag, the text values some category (or the default) can give it, or None when any value is possible."""
    model = state.model
    found: dict[str, set[str] | None] = {name: set() for name in model.tags}
    texts: list[tuple[str, ExprText]] = []
    for category in model.categories:
        texts.extend(category.tags)
        if category.split is not None:
            texts.extend(category.split.tags)
    texts.extend((name, tag.default) for name, tag in model.tags.items() if tag.default is not None)
    for name, text in texts:
        if name not in found:
            continue
        checked = state.checked.get(text.key)
        literals = _values(checked.node) if checked is not None else None
        known = found[name]
        if literals is None or known is None:
            found[name] = None
        else:
            known.update(literals)
    return found


def _values(node: ast.Expr) -> set[str] | None:
    """The text values an expression can have, when they are all written out (through `if`); else None."""
    if isinstance(node, ast.String):
        return {node.value}
    if isinstance(node, ast.Conditional):
        then, otherwise = _values(node.then), _values(node.otherwise)
        return None if then is None or otherwise is None else then | otherwise
    return None


def _can_hold(node: ast.Expr, checked: Checked, values: dict[str, set[str] | None], categories: set[str]) -> bool:
    """False only when no entry can make the condition true (a category or tag value nothing gives)."""
    if isinstance(node, ast.And):
        return _can_hold(node.left, checked, values, categories) and _can_hold(node.right, checked, values,
                                                                                categories)
    if isinstance(node, ast.Or):
        return _can_hold(node.left, checked, values, categories) or _can_hold(node.right, checked, values,
                                                                               categories)
    if isinstance(node, ast.Eq | ast.In) and isinstance(node.left, ast.Name):
        binding = checked.bindings.get(id(node.left))
        if binding is None or binding.kind != "entry":
            return True
        allowed = categories if binding.name == "category" else values.get(binding.name, ANYTHING)
        asked = _asked(node)
        return allowed is None or asked is None or bool(asked & allowed)
    return True


def _asked(node: ast.Eq | ast.In) -> set[str] | None:
    right = node.right
    if isinstance(node, ast.Eq) and isinstance(right, ast.String):
        return {right.value}
    if isinstance(node, ast.In) and isinstance(right, ast.ListOf) and all(isinstance(i, ast.String)
                                                                         for i in right.items):
        return {item.value for item in right.items if isinstance(item, ast.String)}
    return None


def check_ledger(state: CompileState) -> None:
    model = state.model
    values = _possible_values(state)
    categories = {category.id for category in model.categories}
    selects: list[tuple[str, str, ExprText]] = [("limit-never-binds", f"limit '{limit.id}'", limit.select)
                                                for limit in model.limits if limit.select is not None]
    requirement = model.requirement
    if requirement is not None:
        selects += [("minimum-unreachable", f"minimum '{m.id}'", m.select)
                    for m in requirement.minimums if m.select is not None]
    for code, what, text in selects:
        checked = state.checked.get(text.key)
        if checked is not None and not _can_hold(checked.node, checked, values, categories):
            ending = "never binds" if code == "limit-never-binds" else "can never be reached"
            state.warn(code, f"{what} {ending}: no entry of credit can satisfy its select", text.span,
                       "it asks for a category the spec does not have or a tag value no category gives")
    read = set(_entry_names(state.checked.values()))
    for template in state.templates.values():
        read |= set(_entry_names(template.placeholders))
    for name, tag in model.tags.items():
        if name not in read:
            state.warn("tag-unused", f"tag '{name}' is given but no rule reads it", tag.span,
                       "select credit by it in a minimum, a limit or the carry-over, or remove it")


def _entry_names(checked: Iterable[Checked]) -> Iterator[str]:
    """Names of entry fields and tags an expression reads (directly, or as fields of `entries`)."""
    for item in checked:
        for binding in item.names():
            if binding.kind in ("entry", "field"):
                yield binding.name
