"""What the compiler stages share while checking one spec — and hand to the back end when the spec is clean.

Input: a `SpecModel`. Output: `CompileState`, passed from stage to stage: diagnostics, the scopes expressions are
checked in, every checked expression and reason template by its key (its document path, and which later version of
a category inherits it: `ExprText.key`), the bindings of lets, and the typed values of parameters and tables. It
holds no Python text: what a name means is a `Binding`; how generated code reads it is decided by the back end
(`ceruleng.backend`), which turns a clean state into a `CompiledSpec`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ceruleng.errors import Diagnostic, ExpressionError, Severity
from ceruleng.expr import parser
from ceruleng.expr.checker import Binding, Checked, Scope, check
from ceruleng.expr.types import RecordType, Type
from ceruleng.model import Attribute, Effective, ExprText, SpecModel
from ceruleng.source import Span
from ceruleng.templates import Placeholder, TemplateSyntaxError, split
from ceruleng.yamlsrc import Path

TextKey = tuple[Path, Path | None]
"""An expression's key (`ExprText.key`): its document path, and the later version that inherits it (or None)."""


@dataclass(frozen=True)
class ParameterValues:
    """A parameter's typed value in each of its versions (one undated version: a constant)."""

    name: str
    versions: tuple[tuple[Effective, Any, Span], ...]

    @property
    def constant(self) -> bool:
        return len(self.versions) == 1 and not self.versions[0][0].dated


@dataclass(frozen=True)
class CheckedTemplate:
    """A reason template: its literal parts and placeholders, and each placeholder's checked expression."""

    parts: tuple[str | Placeholder, ...]
    placeholders: tuple[Checked, ...]


@dataclass
class CompileState:
    """What the stages share while checking one spec: each stage reads it and adds to it."""

    model: SpecModel
    diagnostics: list[Diagnostic] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    """Every attribute an activity may carry for this spec: the standard ones and the spec's own."""
    activity_scope: Scope = field(default_factory=Scope)
    global_scope: Scope = field(default_factory=Scope)
    """The activity scope plus the spec's top-level lets."""
    cycle_scope: Scope = field(default_factory=Scope)
    """What cycle rules see: credential data, the period (`cycle`), constants; no activity attributes."""
    layout_scope: Scope = field(default_factory=Scope)
    """What the rule laying out the first period's start sees: credential data and constants, no period yet."""
    period_scope: Scope = field(default_factory=Scope)
    """What a period's end is computed from: the layout scope plus the period's start and number."""
    entry_scope: Scope = field(default_factory=Scope)
    """What a condition on one entry of credit sees (`select`): the entry's fields and tags, and the cycle scope."""
    limit_scope: Scope = field(default_factory=Scope)
    """What a cap's amount sees: the cycle scope and the period's requirement (not its totals, which caps decide)."""
    totals_scope: Scope = field(default_factory=Scope)
    """What minimums, carry-over and alternatives see: the cycle scope, the requirement and the period's totals."""
    entry_type: RecordType = field(default_factory=lambda: RecordType("entry", ()))
    tag_types: dict[str, Type] = field(default_factory=dict)
    """Each declared tag's type (text unless the spec says otherwise)."""
    lets: dict[TextKey, Binding] = field(default_factory=dict)
    """Each let's binding, by the key of its expression (`ExprText.key`)."""
    checked: dict[TextKey, Checked] = field(default_factory=dict)
    templates: dict[TextKey, CheckedTemplate] = field(default_factory=dict)
    reported: dict[Path, set[tuple[str, Span, str]]] = field(default_factory=dict)
    """The diagnostics said about each written expression, so a copy inherited by a later version repeats none."""
    category_ids: set[str] = field(default_factory=set)
    parameters: dict[str, ParameterValues] = field(default_factory=dict)
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    """Each table's rows, keys and values typed (Decimal or text; with columns, a mapping of each column)."""
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The value columns of each table that has them."""

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def about(self, text: ExprText, diagnostics: Iterable[Diagnostic]) -> None:
        """Add diagnostics found in one expression. In a copy a later version inherits, only what the version it
        was written in did not already say, and saying which version found it: the position is the written text's,
        where a person can see it, but the problem comes from the scope it is inherited into."""
        said = self.reported.setdefault(text.path, set())
        for found in diagnostics:
            seen = (found.code, found.span, found.message)
            if seen not in said:
                said.add(seen)
                self.diagnostics.append(found if text.copy is None else self._inherited(text, text.copy, found))

    def _inherited(self, text: ExprText, copy: Path, found: Diagnostic) -> Diagnostic:
        line = self.model.document.key_span((*copy, "id")).line
        key = f"'{text.path[-1]}'" if isinstance(text.path[-1], str) else "it"
        return replace(found, message=f"{found.message} (in the version of {self.model.describe(copy)} at line "
                       f"{line}, which inherits this)",
                       hint=found.hint or f"that version inherits {key} from line {text.span.line}: give it its "
                       "own, or change what it gives instead")

    def error_about(self, text: ExprText, code: str, message: str, span: Span, hint: str | None = None) -> None:
        """An error found in one expression (said once however many versions inherit it: see `about`)."""
        self.about(text, [Diagnostic(code, message, span, hint=hint)])

    def written(self) -> tuple[dict[Path, Binding], dict[Path, Checked], dict[Path, list[Checked]]]:
        """Lets, expressions and templates' placeholders as they are written (copies left out), by document path:
        what an editor shows at a place in the text."""
        return ({key[0]: binding for key, binding in self.lets.items() if key[1] is None},
                {key[0]: checked for key, checked in self.checked.items() if key[1] is None},
                {key[0]: list(template.placeholders) for key, template in self.templates.items() if key[1] is None})

    def expression(self, text: ExprText, scope: Scope, expect: Type | None, what: str) -> Checked | None:
        """Parse and check one expression; remember it by its document path for the back end."""
        document = self.model.document
        try:
            node = parser.parse(text.text, lambda offset: document.span_in_scalar(text.path, offset))
        except ExpressionError as exc:
            self.about(text, exc.diagnostics)
            return None
        checked = check(node, scope, expect, what)
        self.about(text, checked.diagnostics)
        self.checked[text.key] = checked
        return checked

    def template(self, text: ExprText, scope: Scope) -> None:
        """Split and check a reason template; its placeholders are expressions in `scope`."""
        document = self.model.document
        try:
            parts = split(text.text)
        except TemplateSyntaxError as exc:
            self.error_about(text, "template-syntax", str(exc), document.span_in_scalar(text.path, exc.offset),
                             "placeholders are written {name} or {expression}")
            return
        placeholders: list[Checked] = []
        for part in parts:
            if isinstance(part, str):
                continue
            base = part.offset

            def locate(offset: int, base: int = base) -> Span:
                return document.span_in_scalar(text.path, base + offset)

            try:
                node = parser.parse(part.text, locate)
            except ExpressionError as exc:
                self.about(text, exc.diagnostics)
                continue
            checked = check(node, scope)
            self.about(text, checked.diagnostics)
            placeholders.append(checked)
        self.templates[text.key] = CheckedTemplate(tuple(parts), tuple(placeholders))
