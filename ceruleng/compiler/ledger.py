"""Compiler stage: lints of windows and of the ledger — rules that cannot do what they say.

Input: the model and the checked expressions. Output: warnings a policy writer wants before a member meets them:
- `window-parts-uneven`: parts (`every`) that do not tile the period (the last part is shorter);
- `grace-overlaps-next`: a grace as long as a period (one period's credit could come from the whole next one);
- `window-before-history`: a rolling window longer than the first period (members in their first periods cannot
  have that much history: say how the policy reads that, e.g. by pro-rating);
- `window-inverted` (an error): a window whose end comes before its start on every period, when both are written
  from the same day of the period (`start: add_months(cycle.end, 1)` with the period's own end);
- `tag-unused`: a declared tag no rule reads;
- `limit-never-binds` and `minimum-unreachable`: a `select` no entry can satisfy, because it asks for a category the
  spec does not have or a tag value no category gives;
- `tag-maybe-missing`: a condition on entries that reads, on every entry, a tag some category does not give (and
  that has no default): an entry of that category would leave the credential unscorable.

Lengths are compared only when both are whole months (or both days); expressions are read for the literal values
they can give, and anything else is taken to be able to give anything, so a warning here is never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ceruleng.compiler.state import CompileState
from ceruleng.expr import ast
from ceruleng.expr.checker import Checked, always_read
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
    carry = state.model.requirement.carry if state.model.requirement else None
    if carry is not None and carry.window is not None:
        _inverted(state, carry.window)
    for window in _windows(state):
        _inverted(state, window)
        if window.length is not None and _longer(window.length, first):
            state.warn("window-before-history", f"a window of {window.length.describe()} is longer than the first "
                       f"period ({first.describe()}): members in their first periods cannot have that much history",
                       window.length.span, "say how the policy judges them (a note), e.g. by pro-rating the "
                       "requirement")


_UNITS = {"add_days": (0, 1), "add_months": (1, 0), "add_years": (12, 0)}
"""Each date-moving built-in as (months, days) per unit."""


def _relative(text: ExprText | None, state: CompileState, default: str) -> tuple[str, int, int] | None:
    """A window's end written as a day of the period moved by whole months and days (`add_months(cycle.end, -4)`):
    (`start` or `end`, months, days); None for anything else. A missing end is the period's own."""
    if text is None:
        return default, 0, 0
    checked = state.checked.get(text.key)
    node = checked.node if checked is not None else None
    months = days = 0
    while isinstance(node, ast.Call) and node.function in _UNITS and len(node.args) == 2:
        amount = node.args[1]
        negative = isinstance(amount, ast.Neg)
        number = amount.operand if isinstance(amount, ast.Neg) else amount
        if not isinstance(number, ast.Number) or number.value != int(number.value):
            return None
        per_months, per_days = _UNITS[node.function]
        step = -int(number.value) if negative else int(number.value)
        months, days = months + per_months * step, days + per_days * step
        node = node.args[0]
    if isinstance(node, ast.Field) and isinstance(node.target, ast.Name) and node.target.name == "cycle" \
            and node.name in ("start", "end"):
        return node.name, months, days
    return None


def _inverted(state: CompileState, window: Window) -> None:
    """`window-inverted`: see the module's docstring. Months are taken as 28 to 31 days, so only an end that comes
    first whatever the months' lengths is reported."""
    if window.length is not None:
        return
    start, end = _relative(window.start, state, "start"), _relative(window.end, state, "end")
    if start is None or end is None or start[0] != end[0]:
        return
    earliest_start = start[2] + min(28 * start[1], 31 * start[1])
    latest_end = end[2] + max(28 * end[1], 31 * end[1])
    if latest_end < earliest_start:
        span = window.end.span if window.end is not None else window.span
        state.error("window-inverted", "this window ends before it starts, on every period", span,
                    "a window runs from its start to its end: swap them, or move the start earlier")


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
    _unguarded_tags(state)
    read = set(_entry_names(state.checked.values()))
    for template in state.templates.values():
        read |= set(_entry_names(template.placeholders))
    for name, tag in model.tags.items():
        if name not in read:
            state.warn("tag-unused", f"tag '{name}' is given but no rule reads it", tag.span,
                       "select credit by it in a minimum, a limit or the carry-over, or remove it")


def _entry_conditions(state: CompileState) -> Iterator[tuple[str, ExprText]]:
    """Every condition on one entry of credit the spec writes, with a few words naming it."""
    model = state.model
    for limit in model.limits:
        if limit.select is not None:
            yield f"limit '{limit.id}'", limit.select
    requirement = model.requirement
    if requirement is None:
        return
    for minimum in requirement.minimums:
        if minimum.select is not None:
            yield f"minimum '{minimum.id}'", minimum.select
        for counted in minimum.counts:
            if counted.select is not None:
                yield f"minimum '{minimum.id}'", counted.select
    carry = requirement.carry
    if carry is not None:
        if carry.select is not None:
            yield "the carry-over", carry.select
        if carry.prefer is not None:
            yield "the carry-over's prefer", carry.prefer
        for limit in carry.limits:
            if limit.select is not None:
                yield f"carry-over limit '{limit.id}'", limit.select


def _unguarded_tags(state: CompileState) -> None:
    """`tag-maybe-missing`: see the module's docstring. A read guarded by `has()`, `default()`, or the right side of
    `and`/`or` is not read on every entry, and is left alone."""
    model = state.model
    lacking: dict[str, list[str]] = {}
    for name, tag in model.tags.items():
        if tag.default is None:
            titles = [category.title for category in model.categories
                      if name not in dict(category.tags)]
            if titles:
                lacking[name] = list(dict.fromkeys(titles))
    if not lacking:
        return
    for what, text in _entry_conditions(state):
        checked = state.checked.get(text.key)
        if checked is None:
            continue
        guarded = _guarded_names(checked.node)
        for binding in always_read(checked):
            if binding.kind == "entry" and binding.name in lacking and binding.name not in guarded:
                titles = lacking[binding.name]
                shown = ", ".join(titles[:3]) + (f" and {len(titles) - 3} more" if len(titles) > 3 else "")
                state.warn("tag-maybe-missing", f"{what} reads tag '{binding.name}' on every entry, but no value "
                           f"of it comes with credit of {shown}: a credential with such credit cannot be scored",
                           text.span,
                           f"test has({binding.name}) first, use default({binding.name}, ...), or give the tag a "
                           "default")


def _guarded_names(node: ast.Expr) -> set[str]:
    """Names an expression tests with `has(...)` or reads through `default(...)`, which a missing value cannot fail."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if (isinstance(current, ast.Call) and current.function in ("has", "default") and current.args
                and isinstance(current.args[0], ast.Name)):
            found.add(current.args[0].name)
        stack.extend(ast.children(current))
    return found


def _entry_names(checked: Iterable[Checked]) -> Iterator[str]:
    """Names of entry fields and tags an expression reads (directly, or as fields of `entries`)."""
    for item in checked:
        for binding in item.names():
            if binding.kind in ("entry", "field"):
                yield binding.name
