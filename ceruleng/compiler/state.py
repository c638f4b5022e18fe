"""What the compiler stages share while compiling one spec, and the compiled spec they produce.

Input: a `SpecModel`. Output: `CompileState` (diagnostics, scopes, checked expressions and templates, the module
writer) passed from stage to stage, and `CompiledSpec`, the compiler's product, which the scorer scores with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ceruleng.backend.functions import ModuleWriter, Step
from ceruleng.errors import Diagnostic, ExpressionError, Severity
from ceruleng.expr import parser
from ceruleng.expr.checker import Binding, Checked, Scope, check
from ceruleng.expr.types import Type
from ceruleng.fields import Coercer
from ceruleng.model import Attribute, Effective, ExprText, SpecModel
from ceruleng.source import Span
from ceruleng.templates import Placeholder, Template, TemplateSyntaxError, split


@dataclass
class CompiledCategory:
    id: str
    title: str
    index: int
    types: tuple[str, ...]
    when: Callable[[dict[str, Any], dict[str, Any]], bool] | None
    versions: list[tuple[Effective, Callable[..., Any], Callable[..., Any]]]
    cap: Callable[[dict[str, Any]], Decimal] | None
    span: Span
    cap_span: Span | None = None


@dataclass
class CompiledMinimum:
    id: str
    title: str
    versions: list[tuple[Effective, Callable[[dict[str, Any]], Decimal],
                         list[tuple[str, Callable[[dict[str, Any]], Decimal] | None]]]]
    span: Span


@dataclass
class CompiledAlternative:
    id: str
    title: str
    met: Callable[[dict[str, Any], list[dict[str, Any]]], bool]
    span: Span


@dataclass
class CompiledSpec:
    """Everything the scorer needs to score records against one spec; built once, reused for every record."""

    model: SpecModel
    attributes: dict[str, Attribute]
    routes: dict[str, list[CompiledCategory]] = field(default_factory=dict)
    dispatchers: dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]] = field(default_factory=dict)
    """Per activity type, the generated router (see `generate.ModuleWriter.dispatcher`)."""
    by_number: list[CompiledCategory] = field(default_factory=list)
    """Categories by the number a dispatcher returns."""
    categories: dict[str, CompiledCategory] = field(default_factory=dict)
    deadline: Callable[[dict[str, Any]], Any] | None = None
    requirement: Callable[[dict[str, Any]], Decimal] | None = None
    carry_max: Callable[[dict[str, Any]], Decimal] | None = None
    carry_none: bool = False
    """The spec says nothing carries over (carry_over.max is 0): no earlier cycle is ever scored."""
    minimums: list[CompiledMinimum] = field(default_factory=list)
    alternatives: list[CompiledAlternative] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    python_source: str = ""
    warnings: list[Diagnostic] = field(default_factory=list)
    coerce: Coercer | None = None
    """Checks and types an activity record (see `records`)."""
    coerce_credential: Coercer | None = None
    """Checks and types a credential's own attributes."""

    @property
    def id(self) -> str:
        return self.model.id


@dataclass
class CompileState:
    """What the stages share while compiling one spec: each stage reads it and adds to it."""

    model: SpecModel
    diagnostics: list[Diagnostic] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    activity_scope: Scope = field(default_factory=Scope)
    global_scope: Scope = field(default_factory=Scope)
    """The activity scope plus the spec's top-level lets."""
    cycle_scope: Scope = field(default_factory=Scope)
    lets: dict[tuple[Any, ...], Binding] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    writer: ModuleWriter = field(default_factory=ModuleWriter)
    checked: dict[tuple[Any, ...], Checked] = field(default_factory=dict)
    templates: dict[tuple[Any, ...], tuple[list[str | Placeholder], list[Checked]]] = field(default_factory=dict)
    category_ids: set[str] = field(default_factory=set)

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def expression(self, text: ExprText, scope: Scope, expect: Type | None, what: str) -> Checked | None:
        """Parse and check one expression; remember it by its document path for code generation."""
        document = self.model.document
        try:
            node = parser.parse(text.text, lambda offset: document.span_in_scalar(text.path, offset))
        except ExpressionError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return None
        checked = check(node, scope, expect, what)
        self.diagnostics.extend(checked.diagnostics)
        self.checked[text.path] = checked
        return checked

    def template(self, text: ExprText, scope: Scope) -> None:
        """Split and check a reason template; its placeholders are expressions in `scope`."""
        document = self.model.document
        try:
            parts = split(text.text)
        except TemplateSyntaxError as exc:
            self.error("template-syntax", str(exc), document.span_in_scalar(text.path, exc.offset),
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
                self.diagnostics.extend(exc.diagnostics)
                continue
            checked = check(node, scope)
            self.diagnostics.extend(checked.diagnostics)
            placeholders.append(checked)
        self.templates[text.path] = (parts, placeholders)


