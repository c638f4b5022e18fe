"""Compiler stage: policy-level checks that need the whole spec — caps against requirements, reachability, quotes.

Input: the model and the checked expressions. Output: `cap-exceeds-requirement`, `minimum-exceeds-requirement`,
`file-not-allowed` (errors), and the warnings `category-unreachable`, `activity-type-unused`, `let-unused`,
`source-file-missing`, `source-quote-not-found`.

Caps and minimums are compared with the requirement only when both are constants (a number, or a parameter with
one value): a formula's value is not known until a member is scored.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import cache
from pathlib import Path

from ceruleng.compiler.state import CompileState
from ceruleng.expr import ast
from ceruleng.files import FileProblem, read_regular_file, spec_relative_file
from ceruleng.model import ExprText
from ceruleng.values import format_number
from ceruleng.yamlsrc import Path as DocumentPath


def _constant(state: CompileState, text: ExprText | None) -> Decimal | None:
    """The value of an expression that is a plain number, or a parameter with a single, undated value."""
    if text is None:
        return None
    checked = state.checked.get(text.key)
    if checked is None:
        return None
    node = checked.node
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Name):
        parameter = state.model.parameters.get(node.name)
        if parameter and len(parameter.versions) == 1 and not parameter.versions[0].effective.dated:
            value = parameter.versions[0].value
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                return Decimal(value)
    return None


def compare_with_requirement(state: CompileState) -> None:
    model = state.model
    if model.requirement is None:
        return
    required = _constant(state, model.requirement.credits)
    if required is None:
        return
    for category in model.categories:
        cap = _constant(state, category.cap)
        if cap is not None and cap > required and category.cap is not None and category.cap.copy is None:
            state.error("cap-exceeds-requirement",
                        f"the cap on '{category.id}' ({format_number(cap)}) is larger than the requirement it "
                        f"serves ({format_number(required)})", category.cap.span if category.cap else category.span,
                        "a cap above the requirement never limits anything; check the number")
    for minimum in model.requirement.minimums:
        at_least = _constant(state, minimum.at_least)
        if at_least is not None and at_least > required:
            state.error("minimum-exceeds-requirement",
                        f"minimum '{minimum.id}' ({format_number(at_least)}) is larger than the requirement "
                        f"({format_number(required)})", minimum.at_least.span)


def check_reachability(state: CompileState) -> None:
    """Warn about categories no activity can reach and activity types no category takes."""
    model = state.model
    claimed: set[str] = set()
    seen: set[str] = set()
    for category in model.categories:
        if category.id in seen:
            continue
        seen.add(category.id)
        if category.types and all(t in claimed for t in category.types):
            state.warn("category-unreachable",
                       f"no activity can reach category '{category.id}': earlier categories without 'when' "
                       f"take all of its types ({', '.join(category.types)})", category.span,
                       "move it above them, or give the earlier ones a 'when'")
        if category.when is None:
            claimed.update(category.types)
    taken = {t for category in model.categories for t in category.types}
    for type_name in model.activity_types:
        if type_name not in taken:
            state.warn("activity-type-unused", f"activity type '{type_name}' is not taken by any category",
                       model.document.key_span(("activity_types", type_name)),
                       "activities of this type will be rejected; add it to a category's types")


def check_unused_lets(state: CompileState) -> None:
    used = {binding for checked in state.checked.values() for binding in checked.names()}
    used |= {binding for template in state.templates.values()
             for checked in template.placeholders for binding in checked.names()}
    refused = {binding.name for binding in used if binding.kind == "refused"}  # a cycle_let read where it cannot be
    unused: dict[DocumentPath, str] = {}
    read: set[DocumentPath] = set()
    for (path, _copy), binding in state.lets.items():  # a let later versions inherit is used when any copy is read
        if binding in used or (path[:1] == ("cycle_let",) and binding.name in refused):
            read.add(path)
        else:
            unused.setdefault(path, binding.name)
    for path, name in unused.items():
        if path not in read:
            state.warn("let-unused", f"'{name}' is computed but never used", state.model.document.span(path))


def check_quotes(state: CompileState) -> None:
    """Each citation's quote must appear in the cited text, when the spec points at a copy of it."""
    model = state.model
    missing: set[str] = set()
    for citation in model.citations:
        document = model.sources.get(citation.doc)
        if document is None or document.file is None or citation.doc in missing:
            continue
        text = _source_text(spec_relative_file(model.path, document.file))  # the one rule for files a spec names
        if isinstance(text, FileProblem):
            missing.add(citation.doc)  # said once per source, not once per citation
            span = model.document.span(("sources", citation.doc, "file"))
            if text.missing:
                state.warn("source-file-missing", f"cannot read source text '{document.file}'", span)
            else:
                state.error("file-not-allowed", f"source text {text.message}", span)
            continue
        if _normalise(citation.quote) not in text:
            state.warn("source-quote-not-found", f"the quote is not in '{document.file}'",
                       model.document.span((*citation.path, "quote")),
                       "copy the sentence exactly (spacing, quotes and case are forgiven)")


def _source_text(found: Path | FileProblem) -> str | FileProblem:
    if isinstance(found, FileProblem):
        return found
    try:
        info = found.stat()
    except OSError:
        return FileProblem("vanished", missing=True)
    return _normalised_file(str(found), info.st_mtime_ns, info.st_size)


@cache
def _normalised_file(path: str, _mtime: int, _size: int) -> str | FileProblem:
    """A source text, normalised for quote matching; remembered per version of the file (mtime and size)."""
    data = read_regular_file(Path(path), Path(path).name)
    return data if isinstance(data, FileProblem) else _normalise(data.decode("utf-8", errors="replace"))


_SPACES = re.compile(r"\s+")
_BLOCKQUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
"""Markdown's `> ` at the start of each line of a quoted passage: a sentence that wraps is still one sentence."""
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def _normalise(text: str) -> str:
    text = _BLOCKQUOTE.sub("", unicodedata.normalize("NFKC", text).translate(_QUOTES))
    return _SPACES.sub(" ", text).strip().lower()
