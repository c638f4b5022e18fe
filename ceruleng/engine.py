"""The composition root: the only module that wires load → validate → compile → evaluate together.

Input: spec paths and member documents (already parsed from their files by `ceruleng.inputs`). Output: compiled
specs or diagnostics (`check_file`, `load_spec`, `load_specs`), and `MemberResult`s (`evaluate`,
`evaluate_member`). The CLI and the Python API both go through here, so they behave the same.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceruleng.compiler import CompiledSpec, compile_model
from ceruleng.errors import Diagnostic, InputError, SpecError, did_you_mean
from ceruleng.files import read_spec_source, read_text, spec_files
from ceruleng.inputs import MemberInput
from ceruleng.model import build_model
from ceruleng.schema import validate_document
from ceruleng.source import SourceText
from ceruleng.values import CONTEXT, ZERO
from ceruleng.yamlsrc import LoadedDocument, load_yaml

if TYPE_CHECKING:  # scoring modules are imported when scoring starts, so `check` stays quick to start
    from ceruleng.scoring.results import CredentialResult, MemberResult
    from ceruleng.scoring.scorer import Scorer

__all__ = ["CheckedFile", "Evaluator", "check_file", "check_text", "evaluate", "load_spec", "load_specs",
           "read_text", "spec_files"]


@dataclass
class CheckedFile:
    """The outcome of checking one spec file: its text (for quoting lines), diagnostics, and the spec if clean."""

    path: str
    source: SourceText | None
    diagnostics: list[Diagnostic]
    spec: CompiledSpec | None = None
    dependencies: list[str] = field(default_factory=list)
    """Other files the spec reads (CSV tables, cited source texts): a cached result is valid only while they are."""

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
    spec, compile_diagnostics = compile_model(model, generate)
    diagnostics.extend(compile_diagnostics)
    clean = not any(d.is_error for d in diagnostics)
    return CheckedFile(path, source, diagnostics, spec if clean else None, dependencies)


def _dependencies(document: LoadedDocument, path: str) -> list[str]:
    """Files named under sources.*.file and tables.*.file, resolved beside the spec."""
    data = document.data
    found = []
    for section in ("sources", "tables"):
        entries = data.get(section) if isinstance(data, dict) else None
        for entry in entries.values() if isinstance(entries, dict) else ():
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                found.append(str(Path(path).parent / entry["file"]))
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
        raise SpecError(checked.diagnostics)
    return checked.spec


def load_specs(paths: Iterable[str]) -> dict[str, CompiledSpec]:
    """Every spec under `paths`, by id. Raises SpecError for the first file with errors, InputError for I/O."""
    specs: dict[str, CompiledSpec] = {}
    for path in spec_files(paths):
        spec = load_spec(path)
        if spec.id in specs:
            raise InputError(f"{path}: spec id '{spec.id}' is also used by {specs[spec.id].model.path}")
        specs[spec.id] = spec
    return specs


@dataclass
class Evaluator:
    """Scores member documents against a set of specs, reusing one Scorer per spec."""

    specs: Mapping[str, CompiledSpec]
    as_of: date
    explain: bool = False
    seed: int = 0
    scorers: dict[str, Scorer] = field(default_factory=dict)

    def scorer(self, spec: CompiledSpec) -> Scorer:
        from ceruleng.scoring.scorer import Scorer

        scorer = self.scorers.get(spec.id)
        if scorer is None:
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
        with decimal.localcontext(CONTEXT):
            if problem is not None:
                return _unreadable(document, file, line, problem)
            return self._member(document, file, line)

    def _member(self, document: Any, file: str | None, line: int | None) -> MemberResult:
        from ceruleng.scoring.results import MemberResult

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
        from ceruleng.scoring.scorer import read_credential

        credential = read_credential(spec, entry)
        return self.scorer(spec).credential_result(member, credential, activities, self.as_of, self.seed)

    def members(self, inputs: Iterable[Any]) -> Iterator[MemberResult]:
        """Results for `MemberInput`s, in order."""
        for item in inputs:
            yield self.member(item.document, item.file, item.line, item.problem)


def _unreadable(document: Any, file: str | None, line: int | None, problem: str) -> MemberResult:
    from ceruleng.scoring.results import MemberResult

    member = document.get("member") if isinstance(document, dict) else None
    result = MemberResult(None if member is None else str(member), file, line, error=problem)
    activities = document.get("activities") if isinstance(document, dict) else None
    if isinstance(activities, list):
        result.activity_count = len(activities)
        result.credentials.append(_unscored(result.member, activities, f"Not scored: {problem}."))
    return result


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
