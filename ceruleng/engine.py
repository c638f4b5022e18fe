"""The composition root: the only module that wires load → validate → compile → evaluate together.

Input: spec paths and member documents (already parsed from their files by `ceruleng.inputs`). Output: compiled
specs or diagnostics (`check_file`, `load_spec`, `load_specs`), and `MemberResult`s (`evaluate`,
`evaluate_member`). The CLI and the Python API both go through here, so they behave the same.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from msgspec import Struct, field
from msgspec.structs import replace

from ceruleng.compiled import CompiledSpec
from ceruleng.errors import Diagnostic, InputError, SpecError, did_you_mean
from ceruleng.files import read_spec_source, read_text, spec_files
from ceruleng.inputs import MemberInput
from ceruleng.source import SourceText
from ceruleng.values import CONTEXT, ZERO
from ceruleng.yamlsrc import LoadedDocument, load_yaml

if TYPE_CHECKING:  # scoring modules are imported when scoring starts, so `check` stays quick to start; the front
    # end (schema, compiler, expression parser) when a spec is checked, so `eval` of cached specs never loads it
    from ceruleng.compiler import CompileState
    from ceruleng.expr.checker import Binding, Checked, Scope
    from ceruleng.model import SpecModel
    from ceruleng.scoring.results import CredentialResult, MemberResult
    from ceruleng.scoring.scorer import Scorer

__all__ = ["Analysis", "CheckedFile", "Evaluator", "analyze_text", "check_file", "check_text", "evaluate",
           "load_spec", "load_specs", "read_text", "spec_files"]


class CheckedFile(Struct):
    """The outcome of checking one spec file: its text (for quoting lines), diagnostics, and the spec if clean."""

    path: str
    source: SourceText | None
    diagnostics: list[Diagnostic]
    spec: CompiledSpec | None = None
    dependencies: list[str] = field(default_factory=list)
    """Other files the spec reads (CSV tables, cited source texts): a cached result is valid only while they are."""
    state: CompileState | None = None
    """What the compiler knew of the spec (scopes, checked expressions), when it got that far."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def check_text(text: str, path: str, generate: bool = True) -> CheckedFile:
    """Every stage up to compilation, collecting diagnostics; stops early only when a stage has nothing to work on.

    `generate=False` checks without generating the scoring module (what `ceruleng check` needs).
    """
    document, diagnostics = load_yaml(text, path)
    source = document.source if document else SourceText(path, text)
    if document is None:
        return CheckedFile(path, source, diagnostics)
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else "not a mapping of keys"
        diagnostics.append(Diagnostic("spec-not-mapping", f"a spec must be a YAML mapping; this file is {kind}",
                                      document.span(()),
                                      hint="a spec starts with keys such as ceruleng, id, title, sources "
                                           "(see docs/language.md)"))
        return CheckedFile(path, source, diagnostics)
    from ceruleng.compiler import check_model
    from ceruleng.compiler.examples import check_examples
    from ceruleng.model import build_model
    from ceruleng.schema import validate_document

    dependencies = _dependencies(document, path)
    schema_diagnostics, checkable = validate_document(document, "spec")
    loading_failed = any(d.is_error for d in diagnostics)
    diagnostics.extend(schema_diagnostics)
    if loading_failed or checkable is None:
        return CheckedFile(path, source, diagnostics, dependencies=dependencies)
    if checkable is not document.data:
        document = replace(document, data=checkable)  # go on checking, as if the misspelt keys were not there
    model, model_diagnostics = build_model(document)
    diagnostics.extend(model_diagnostics)
    state = check_model(model)
    spec = None
    if not state.has_errors and not any(d.is_error for d in diagnostics):
        from ceruleng.backend.records import record_checkers  # the back end, only for a spec that can run

        coerce, coerce_credential = record_checkers(state)
        check_examples(state, coerce)
        if generate and not state.has_errors:
            from ceruleng.backend.module import generate as generate_module

            spec = generate_module(state, coerce, coerce_credential)
            spec.warnings = [d for d in state.diagnostics if not d.is_error]
    diagnostics.extend(state.diagnostics)
    return CheckedFile(path, source, diagnostics, spec, dependencies, state)


class Analysis(Struct):
    """What an editor needs of one spec text (`ceruleng lsp`): `check`'s diagnostics, plus the compiler's view of the
    names — the loaded document, the model and the scopes expressions are checked in. Parts a broken text does not
    reach are None or empty."""

    checked: CheckedFile
    """Exactly what `ceruleng check` reports for this text."""
    document: LoadedDocument | None
    model: SpecModel | None
    activity_scope: Scope | None = None
    global_scope: Scope | None = None
    """The activity scope plus the spec's top-level lets."""
    cycle_scope: Scope | None = None
    lets: dict[tuple[Any, ...], Binding] = field(default_factory=dict)
    """Every let's binding, by its document path (top-level and category lets)."""
    expressions: dict[tuple[Any, ...], Checked] = field(default_factory=dict)
    """Every expression that parsed, checked, by its document path."""
    placeholders: dict[tuple[Any, ...], list[Checked]] = field(default_factory=dict)
    """The checked placeholders of every reason template, by the template's document path."""


def analyze_text(text: str, path: str, scopes: bool = True) -> Analysis:
    """`check_text`'s diagnostics and the compiler's own view of the names it checked, so an editor can complete,
    hover and jump with the compiler's scopes and positions (one run of the front end serves both).

    `scopes=False` returns the diagnostics alone: what an editor needs soonest after a keystroke."""
    checked = check_text(text, path, generate=False)
    state = checked.state
    if not scopes or state is None:
        document, _ = load_yaml(text, path) if scopes else (None, [])
        return Analysis(checked, document, None)
    return Analysis(checked, state.model.document, state.model, state.activity_scope, state.global_scope,
                    state.cycle_scope, *state.written())


def _dependencies(document: LoadedDocument, path: str) -> list[str]:
    """Files named under sources.*.file and tables.*.file, as written (relative to the spec's folder); the check
    cache reads them only through the same rule (`files.read_spec_file`) as the compiler."""
    data = document.data
    found = []
    for section in ("sources", "tables"):
        entries = data.get(section) if isinstance(data, dict) else None
        for entry in entries.values() if isinstance(entries, dict) else ():
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                found.append(entry["file"])
    return found


def check_file(path: str, generate: bool = True) -> CheckedFile:
    """Check one spec file; an unreadable file is an `io-error` diagnostic rather than an exception."""
    found = read_spec_source(path)
    if isinstance(found, Diagnostic):
        return CheckedFile(path, None, [found])
    return check_text(found[1], path, generate)


def load_spec(path: str | Path) -> CompiledSpec:
    """Load, validate and compile one spec. Raises SpecError (with every diagnostic) or InputError."""
    checked = check_text(read_text(str(path)), str(path))
    if checked.spec is None:
        raise SpecError(checked.diagnostics, {checked.path: checked.source} if checked.source else None)
    return checked.spec


def load_specs(paths: Iterable[str]) -> dict[str, CompiledSpec]:
    """Every spec under `paths`, by id. Raises SpecError with the diagnostics of every file that has errors,
    InputError when a path is missing or names no spec file, or when two specs share an id."""
    checked = [check_file(path) for path in named_spec_files(paths)]
    refuse_broken(checked)
    return one_per_id((item.path, item.spec.id, item.spec) for item in checked if item.spec is not None)


def named_spec_files(paths: Iterable[str]) -> list[str]:
    """The spec files under `paths` (files or folders); InputError when a path is missing or names none."""
    paths = list(paths)
    files = spec_files(paths)
    if not files:
        raise InputError(f"no spec files (.yaml, .yml) found in {', '.join(paths)}")
    return files


def refuse_broken(checked: Iterable[CheckedFile]) -> None:
    """SpecError with the diagnostics of every file that did not compile, if any did not."""
    broken = [item for item in checked if item.spec is None]
    if broken:
        raise SpecError([d for item in broken for d in item.diagnostics],
                        {item.path: item.source for item in broken if item.source is not None})


SpecT = TypeVar("SpecT")


def one_per_id(specs: Iterable[tuple[str, str, SpecT]]) -> dict[str, SpecT]:
    """(path, id, spec) → specs by id, in order; InputError when two files share an id (`ceruleng.speccache` passes
    specs it loads only when first used)."""
    found: dict[str, SpecT] = {}
    paths: dict[str, str] = {}
    for path, spec_id, spec in specs:
        if spec_id in found:
            raise InputError(f"{path}: spec id '{spec_id}' is also used by {paths[spec_id]}")
        found[spec_id], paths[spec_id] = spec, path
    return found


@dataclass
class Evaluator:
    """Scores member documents against a set of specs, reusing one Scorer per spec. A dataclass, not a Struct like
    this module's records: its decimal context is its own working state, neither an argument nor part of what it
    equals."""

    specs: Mapping[str, CompiledSpec]
    as_of: date
    explain: bool = False
    seed: int = 0
    scorers: dict[str, Scorer] = dataclass_field(default_factory=dict)
    contain: bool = True
    """Report an error ceruleng did not foresee (a bug) in the result of the member it hit and go on; False lets it
    propagate (`ceruleng --debug`, to see the traceback)."""
    period: str | date = "due"
    """Which period each result is about: "due" (the one due as of `as_of`), "previous", "current", "next", or the
    one containing a date."""

    decimals: decimal.Context = dataclass_field(default_factory=CONTEXT.copy, init=False, repr=False,
                                                compare=False)
    """The decimal context members are scored in (`values.CONTEXT`'s settings): this evaluator's own, made once and
    made current for each member (`decimal.localcontext` would copy it for every one). Only its flags change, and
    nothing reads them."""

    def scorer(self, spec: CompiledSpec) -> Scorer:
        scorer = self.scorers.get(spec.id)
        if scorer is None:
            from ceruleng.scoring.scorer import Scorer  # here, not per call: an import statement costs a member

            scorer = self.scorers[spec.id] = Scorer(spec, self.explain)
        return scorer

    def member(self, document: Any, file: str | None = None, line: int | None = None,
               problem: str | None = None) -> MemberResult:
        """Score one member document against every credential it lists; never raises for bad input.

        `problem` is why the reader could not fully read the document; what was recovered of it is reported with
        every activity rejected, and nothing is scored. A `MemberInput` (what `read_members` yields) is accepted as
        it is: its document, file, line and problem are used.
        """
        if isinstance(document, MemberInput):
            return self.member(document.document, document.file, document.line, document.problem)
        caller = decimal.getcontext()
        decimal.setcontext(self.decimals)
        try:
            if problem is not None:
                return _unreadable(document, file, line, problem)
            try:
                return self._member(document, file, line)
            except Exception as exc:  # the containment boundary: a bug costs this member alone its result
                if not self.contain:
                    raise
                result = _unreadable(document, file, line, f"internal error in ceruleng: {_where(exc, None)}")
                result.internal = True
                return result
        finally:
            decimal.setcontext(caller)

    def _member(self, document: Any, file: str | None, line: int | None) -> MemberResult:
        MemberResult = _member_result()  # the class, imported when scoring starts
        if not isinstance(document, dict):
            return MemberResult(None, file, line, error="a member document must be a mapping with member, "
                                "credentials and activities")
        member = document.get("member")
        member_id = None if member is None else str(member)
        activities = document.get("activities")
        result = MemberResult(member_id, file, line)
        if not isinstance(activities, list):
            result.error = ("activities: missing (required), a list of activities" if activities is None
                            else "activities: must be a list of activities")
            return result
        result.activity_count = len(activities)
        credentials = document.get("credentials")
        valid = (credentials.__class__ is list and credentials and (member is None or member.__class__ is str)
                 and all(entry.__class__ is dict for entry in credentials))
        problems = [] if valid else _member_problems(document)
        if problems or not isinstance(credentials, list):
            result.error = "; ".join(problems)
            result.credentials.append(_unscored(member_id, activities, f"The member document is malformed: "
                                                f"{result.error}."))
            return result
        for entry in credentials:
            result.credentials.append(self.credential(member_id, entry, activities))
        return result

    def credential(self, member: str | None, entry: Any, activities: list[Any]) -> CredentialResult:
        spec_id = entry.get("spec") if isinstance(entry, dict) else None
        spec = self.specs.get(spec_id) if isinstance(spec_id, str) else None
        if spec is None:
            known = ", ".join(sorted(self.specs)) or "none"
            hint = did_you_mean(str(spec_id), self.specs) if spec_id else None
            problem = (f"credentials: no spec '{spec_id}' is loaded (loaded: {known})" + (f"; {hint}" if hint else "")
                       if spec_id else "credentials: each entry needs spec and certified_on")
            result = _unscored(member, activities, f"Not scored: {problem}.")
            result.spec = spec_id if isinstance(spec_id, str) else None
            result.error = problem
            return result
        scorer = self.scorer(spec)
        credential = scorer.read_credential(entry)
        try:
            return scorer.credential_result(member, credential, activities, self.as_of, self.seed, self.period)
        except Exception as exc:  # the containment boundary: a bug costs this credential alone its result
            if not self.contain:
                raise
            failed = _unscored(member, activities, "Not scored: an internal error in ceruleng stopped scoring this "
                               "credential (please report it).")
            failed.spec, failed.title, failed.unit, failed.places = spec.id, spec.model.title, spec.model.unit_name, \
                spec.model.places
            failed.name, failed.certified_on = credential.name, credential.certified_on
            failed.error = f"internal error in ceruleng: {_where(exc, spec)}"
            failed.internal = True
            return failed

    def members(self, inputs: Iterable[Any]) -> Iterator[MemberResult]:
        """Results for `MemberInput`s, in order."""
        for item in inputs:
            yield self.member(item.document, item.file, item.line, item.problem)


@cache
def _member_result() -> type[MemberResult]:
    """`MemberResult`, imported when scoring starts (so `check` stays quick to start) and then remembered: an
    import statement inside a function is paid on every call, once per member here."""
    from ceruleng.scoring.results import MemberResult

    return MemberResult


def _unreadable(document: Any, file: str | None, line: int | None, problem: str) -> MemberResult:
    from ceruleng.scoring.results import MemberResult

    member = document.get("member") if isinstance(document, dict) else None
    result = MemberResult(None if member is None else str(member), file, line, error=problem)
    activities = document.get("activities") if isinstance(document, dict) else None
    if isinstance(activities, list):
        result.activity_count = len(activities)
        result.credentials.append(_unscored(result.member, activities, f"Not scored: {problem}."))
    return result


def _where(exc: Exception, spec: CompiledSpec | None) -> str:
    """What failed and where, for a person reading the result: the spec rule being applied (from the generated
    program's line map) or the place in ceruleng, then the error itself."""
    origins = spec.origins_of(exc) if spec is not None else []
    if origins:
        place = f"while applying {origins[-1].what} at {origins[-1].span}"
    else:
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        frame = frames[-1] if frames else None
        place = f"at {Path(frame.filename).name}:{frame.lineno} ({frame.name})" if frame else "in ceruleng"
    return f"{type(exc).__name__} {place}: {exc}"


def _member_problems(document: dict[str, Any]) -> list[str]:
    problems = []
    member = document.get("member")
    if member is not None and not isinstance(member, str | int):
        problems.append("member: must be text (the member's id)")
    credentials = document.get("credentials")
    if credentials is None:
        problems.append("credentials: missing (required), the credentials the member holds")
    elif not isinstance(credentials, list) or not credentials:
        problems.append("credentials: must be a non-empty list of {spec, certified_on}")
    elif not all(isinstance(entry, dict) for entry in credentials):
        problems.append("credentials: each entry must be a mapping with spec and certified_on")
    return problems


def _unscored(member: str | None, activities: list[Any], reason: str) -> CredentialResult:
    """A result that lists every activity as rejected, so nothing is dropped when scoring cannot start."""
    from ceruleng.scoring.results import ActivityResult, CredentialResult

    result = CredentialResult(None, "", "", 2, member, None, None, error=reason)
    for index, record in enumerate(activities):
        identifier = record.get("id") if isinstance(record, dict) else None
        kind = record.get("type") if isinstance(record, dict) else None
        result.activities.append(ActivityResult(index, None if identifier is None else str(identifier),
                                                kind if isinstance(kind, str) else None, None, None, "rejected",
                                                ZERO, [reason], (), 2, malformed=True))
    return result


def evaluate(spec: CompiledSpec, member: Any, as_of: date | None = None, explain: bool = False,
             seed: int = 0) -> MemberResult:
    """Score one member document against one spec: the credentials it holds under that spec.

    Credentials under other specs are left out (score them with `Evaluator` and all the specs). A member holding
    no credential of this spec gets one result saying so, listing every activity as not scored.
    """
    file = line = problem = None
    if isinstance(member, MemberInput):  # what read_members() yields
        member, file, line, problem = member.document, member.file, member.line, member.problem
    document = member
    if isinstance(member, dict) and isinstance(member.get("credentials"), list):
        own = [c for c in member["credentials"] if isinstance(c, dict) and c.get("spec") == spec.id]
        if not own:
            own = [{"spec": spec.id, "certified_on": None}]
        document = {**member, "credentials": own}
    return Evaluator({spec.id: spec}, as_of or date.today(), explain, seed).member(document, file, line, problem)
