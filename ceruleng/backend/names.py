"""Back end: the one owner of generated names — a semantic binding or a generated part → a Python identifier.

Input: `Binding`s as the checker resolved them (kind, owner, name: what a name means, never how it is read) and the
parts the back end generates (functions per category, per activity type, per cycle rule; constants). Output: the
Python identifier or reading expression for each. Nothing else in ceruleng makes a generated identifier, so a
name in generated code is always traceable to the one rule here that made it.

Why prefixes: spec names are `[a-z][a-z0-9_]*` (the schema says so), so a kind prefix (`v_` attribute, `g_` global
let, `l_` category let, `p_` parameter, `t_` table) can never collide with another kind, a Python keyword or a
runtime helper (those start with `_`); `tc` (a table's column) is followed by a digit, which no spec name
starts with.
"""

from __future__ import annotations

from ceruleng.expr.checker import Binding

ACTIVITY = "a"
"""The typed activity record, a parameter of every activity-level function."""
CONTEXT = "x"
"""The credential context (certified_on, credential attributes, the cycle), a parameter of every generated function."""
TRACE = "t"
"""The trace list of a traced function: (step number, value) pairs."""
CREDITS = "c"
"""The credit being computed, inside a category function."""
BOUND = "limit"
"""A per-activity bound's value, inside a category function."""
ACTIVITIES = "acts"
"""This cycle's scored activities, a parameter of alternatives."""
ENTRY = "e"
"""An entry of credit (category, type, date, credits, tags), a parameter of the functions that select entries."""
LIVE = "live"
"""Which of a period's caps and limits to ask about an entry (bits), a parameter of `cycle_limits_under`."""
MATCHED = "m"
"""Whether a category's `when` holds, inside a scoring function."""
OUTCOME = "_Outcome"
"""The runtime's outcome type, as generated code names it."""

CYCLE_FIELDS = {"start": "cycle_start", "end": "cycle_end", "number": "cycle_number"}
"""The cycle record's fields, as keys of the credential context."""


def _checked(name: str) -> str:
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"not a name the back end can use: {name!r}")
    return name


def attribute(name: str) -> str:
    """The local holding an activity attribute (loaded from the record once, at the top of a function)."""
    return f"v_{_checked(name)}"


def let(binding: Binding) -> str:
    """The local holding a let's value: `g_` for the spec's own lets, `l_` for a category's (a let's owner is its
    document path: ("let", name) at the top of the spec, ("categories", i, "let", name) in a category; a value of
    the period, `cycle_let`, is owned by ("cycle_let", name), and ("cycle_let", name, "layout") as the rules that lay
    periods out read it)."""
    owner = binding.owner if isinstance(binding.owner, tuple) else ()
    if owner[:1] == ("cycle_let",):  # a value of the period: `c_` as cycle rules read it, `cs_` as layout rules do
        return f"{'cs' if len(owner) > 2 else 'c'}_{_checked(binding.name)}"
    return f"{'g' if owner[:1] == ('let',) else 'l'}_{_checked(binding.name)}"


def element(depth: int) -> str:
    """The loop variable of a scoped aggregate (sum, count, any, all, longest_run) nested `depth` deep."""
    return f"e{depth}"


def parameter_constant(name: str) -> str:
    return f"p_{_checked(name)}"


def parameter_lookup(name: str) -> str:
    """The generated function that reads a dated parameter's value on a day."""
    return f"pv_{_checked(name)}"


def table(name: str) -> str:
    return f"t_{_checked(name)}"


def table_column(name: str, column: str) -> str:
    """One column of a table with columns, as a table of its own (`rates.rate`). The table name's length comes
    first, so table `a_b`'s column `c` and table `a`'s column `b_c` never share a name."""
    return f"tc{len(name)}_{_checked(name)}_{_checked(column)}"


def category_function(index: int, traced: bool) -> str:
    return f"category{index}{'_traced' if traced else ''}"


def scoring_function(type_index: int, traced: bool) -> str:
    """The function that routes and scores one activity type."""
    return f"score{type_index}{'_traced' if traced else ''}"


def lazy_let(binding: Binding, serial: int, traced: bool) -> str:
    """The function computing a let that is only needed on some paths (so it is computed only there)."""
    return f"let{serial}_{_checked(binding.name)}{'_traced' if traced else ''}"


def template_values(index: int) -> str:
    """The function turning a template's captured locals into its placeholder values, run when it is rendered."""
    return f"template{index}"


def cycle_function(label: str) -> str:
    """A cycle-level rule (requirement, deadline, caps, minimums, alternatives)."""
    return f"cycle_{_checked(label)}"


def read(binding: Binding) -> str:
    """Python source that reads a binding where it is in scope (lets and attributes are locals by then)."""
    kind = binding.kind
    if kind == "attribute":
        return attribute(binding.name)
    if kind == "let":
        return let(binding)
    if kind == "credential":
        return f"{CONTEXT}.get({binding.name!r})" if binding.optional else f"{CONTEXT}[{binding.name!r}]"
    if kind == "credits":
        return CREDITS
    if kind == "activities":
        return ACTIVITIES
    if kind == "element":
        assert isinstance(binding.owner, int)
        return element(binding.owner)
    if kind == "field":
        assert isinstance(binding.owner, int)
        return f"{element(binding.owner)}[{binding.name!r}]"
    if kind == "cycle":
        return CONTEXT
    if kind == "table":
        return table(binding.name)
    if kind == "total":
        return f"{CONTEXT}[{binding.name!r}]"
    if kind == "entry":
        return f"{ENTRY}.get({binding.name!r})" if binding.optional else f"{ENTRY}[{binding.name!r}]"
    raise AssertionError(f"a {kind} binding is read through the constant pool or a lookup function")


def cycle_field(field: str) -> str:
    """Reading a field of the cycle record (`cycle.start`)."""
    return f"{CONTEXT}[{CYCLE_FIELDS[field]!r}]"


def judged_day(binding: Binding) -> str:
    """The day a dated rule read by `binding` is judged on: the activity's date, the cycle's end, or (for the rules
    that lay periods out, before any period is known) the day the credential was achieved."""
    if binding.owner == "activity":
        return attribute("date")
    if binding.owner == "credential":
        return f"{CONTEXT}['certified_on']"
    return cycle_field("end")
