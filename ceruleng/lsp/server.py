"""The language server process (`ceruleng lsp`): pygls wiring over stdio, debounced diagnostics, client units.

Input: Language Server Protocol messages from an editor on stdin. Output: responses and `publishDiagnostics`
notifications on stdout. Each open spec is analysed by `ceruleng.lsp.analysis` (the same checker as `ceruleng
check`); the features are `ceruleng.lsp.features`. This module only converts: protocol types in and out, and
positions between code points and the client's units (UTF-16 unless the client chose another encoding).

Why a debounce: an editor sends a change per keystroke; checking each would queue work the next keystroke makes
stale. A change waits `DEBOUNCE_SECONDS` for the next one; the last change of a burst always gets checked, and
diagnostics are published only for the version the editor holds now (an analysis overtaken by an edit is dropped).
Checking runs on one worker thread so the server keeps answering (completion, hover) while it runs, and publishing
needs only `check`'s diagnostics; the scopes the other features read are analysed when a feature first asks for
them in a version (`SpecServer.analysis`), off the path from keystroke to diagnostics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any, TypeVar, cast

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from ceruleng import __version__
from ceruleng.errors import Severity
from ceruleng.lsp import features
from ceruleng.lsp.analysis import Problem, SpecAnalysis, analyse, diagnose
from ceruleng.lsp.positions import Lines, Position, Range, from_client, to_client

DEBOUNCE_SECONDS = 0.1
"""How long a change waits for the next keystroke before it is checked: long enough to skip the keystrokes of a
word typed in one go, short enough that the wait plus a check of a long spec stays well under 300 ms."""

logger = logging.getLogger("ceruleng.lsp")

F = TypeVar("F", bound=Callable[..., Any])

_COMPLETION_KINDS = {
    "function": types.CompletionItemKind.Function, "variable": types.CompletionItemKind.Variable,
    "field": types.CompletionItemKind.Field, "constant": types.CompletionItemKind.Constant,
    "table": types.CompletionItemKind.Struct, "keyword": types.CompletionItemKind.Keyword,
    "property": types.CompletionItemKind.Property, "value": types.CompletionItemKind.Value,
}  # fmt: skip
_SYMBOL_KINDS = {
    "section": types.SymbolKind.Namespace, "category": types.SymbolKind.Class,
    "parameter": types.SymbolKind.Constant, "table": types.SymbolKind.Struct, "attribute": types.SymbolKind.Field,
    "scale": types.SymbolKind.Enum, "let": types.SymbolKind.Variable, "check": types.SymbolKind.Function,
}  # fmt: skip


class SpecServer(LanguageServer):
    """Keeps the latest analysis of each open spec and the pending debounced checks."""

    def __init__(self) -> None:
        super().__init__("ceruleng", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, SpecAnalysis] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ceruleng-check")
        self.shut_down = False
        """Whether the editor asked for shutdown before exit (the exit code says so)."""

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def analysis(self, uri: str) -> tuple[TextDocument, SpecAnalysis]:
        """The analysis of the text the editor holds now (made on the spot when the debounced one is behind)."""
        document = self.workspace.get_text_document(uri)
        known = self.analyses.get(uri)
        if known is None or known.text != document.source:
            known = analyse(document.source, document.path or uri, known)
            self.analyses[uri] = known
        return document, known

    def schedule(self, uri: str) -> None:
        """Check `uri` once no change has come for DEBOUNCE_SECONDS."""
        loop = asyncio.get_running_loop()
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = loop.call_later(DEBOUNCE_SECONDS, lambda: loop.create_task(self.publish(uri)))

    async def publish(self, uri: str) -> None:
        """Check the current text of `uri` and publish its diagnostics, unless an edit overtook the check."""
        self.pending.pop(uri, None)
        if uri not in self.workspace.text_documents:
            return
        document = self.workspace.get_text_document(uri)
        version, text = document.version, document.source
        loop = asyncio.get_running_loop()
        try:
            lines, problems = await loop.run_in_executor(self.checker, diagnose, text, document.path or uri)
        except Exception:  # a bug in the checker must not take the editor's server down with it
            logger.exception("checking %s failed", uri)
            self.send(uri, version, [_internal_error()], Lines(text))
            return
        if uri not in self.workspace.text_documents or self.workspace.get_text_document(uri).version != version:
            return  # overtaken: the newer version's own check will publish
        self.send(uri, version, problems, lines)

    def send(self, uri: str, version: int | None, problems: list[Problem], lines: Lines) -> None:
        diagnostics = [self.diagnostic(problem, lines) for problem in problems]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    # ---- conversions -------------------------------------------------------------------------------------------

    def to_range(self, lines: Lines, span: Range) -> types.Range:
        start = to_client(lines, span.start, self.encoding)
        end = to_client(lines, span.end, self.encoding)
        return types.Range(types.Position(*start), types.Position(*end))

    def to_position(self, lines: Lines, position: types.Position) -> Position:
        return from_client(lines, position.line, position.character, self.encoding)

    def diagnostic(self, problem: Problem, lines: Lines) -> types.Diagnostic:
        message = problem.message + (f"\nhint: {problem.hint}" if problem.hint else "")
        severity = (types.DiagnosticSeverity.Error if problem.severity is Severity.ERROR
                    else types.DiagnosticSeverity.Warning)
        data = {"suggestion": problem.suggestion} if problem.suggestion else None
        return types.Diagnostic(range=self.to_range(lines, problem.range), message=message, severity=severity,
                                code=problem.code, source="ceruleng", data=data)


def _internal_error() -> Problem:
    return Problem(Range(Position(0, 0), Position(0, 0)), Severity.ERROR, "internal-error",
                   "ceruleng could not check this text (a bug: please report it, with the text)", None, None)


def _guarded(default: Callable[[], Any]) -> Callable[[F], F]:
    """A feature that fails answers `default()` (and logs why) instead of an error the editor shows as a popup."""

    def decorate(handler: F) -> F:
        @wraps(handler)
        def guarded(server: SpecServer, params: Any) -> Any:
            try:
                return handler(server, params)
            except Exception:
                logger.exception("%s failed", handler.__name__)
                return default()

        return cast(F, guarded)

    return decorate


server = SpecServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: SpecServer, params: types.DidOpenTextDocumentParams) -> None:
    await ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SpecServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: SpecServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)  # cited source texts and CSV tables may have changed on disk


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SpecServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    pending = ls.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=[".", "(", '"', "{", " "]))
@_guarded(lambda: types.CompletionList(is_incomplete=False, items=[]))
def completion(ls: SpecServer, params: types.CompletionParams) -> types.CompletionList:
    _, analysis = ls.analysis(params.text_document.uri)
    position = ls.to_position(analysis.lines, params.position)
    items = [
        types.CompletionItem(
            label=item.label, kind=_COMPLETION_KINDS.get(item.kind), detail=item.detail or None,
            documentation=types.MarkupContent(types.MarkupKind.Markdown, item.documentation)
            if item.documentation else None,
            insert_text=item.insert_text)
        for item in features.completions(analysis, position)
    ]
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_HOVER)
@_guarded(lambda: None)
def hover(ls: SpecServer, params: types.HoverParams) -> types.Hover | None:
    _, analysis = ls.analysis(params.text_document.uri)
    found = features.hover(analysis, ls.to_position(analysis.lines, params.position))
    if found is None:
        return None
    text, span = found
    return types.Hover(contents=types.MarkupContent(types.MarkupKind.Markdown, text),
                       range=ls.to_range(analysis.lines, span))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
@_guarded(lambda: None)
def definition(ls: SpecServer, params: types.DefinitionParams) -> types.Location | None:
    _, analysis = ls.analysis(params.text_document.uri)
    found = features.definition(analysis, ls.to_position(analysis.lines, params.position))
    if found is None:
        return None
    return types.Location(uri=params.text_document.uri, range=ls.to_range(analysis.lines, found))


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
@_guarded(list)
def code_action(ls: SpecServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    _, analysis = ls.analysis(uri)
    lines = analysis.lines
    within = Range(ls.to_position(lines, params.range.start), ls.to_position(lines, params.range.end))
    return [
        types.CodeAction(
            title=fix.title, kind=types.CodeActionKind.QuickFix, is_preferred=True,
            diagnostics=[ls.diagnostic(fix.problem, lines)],
            edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(ls.to_range(lines, fix.range), fix.new_text)]}))
        for fix in features.quick_fixes(analysis, within)
    ]


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@_guarded(list)
def document_symbol(ls: SpecServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    _, analysis = ls.analysis(params.text_document.uri)

    def convert(symbol: features.Symbol) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=symbol.name, detail=symbol.detail or None, kind=_SYMBOL_KINDS[symbol.kind],
            range=ls.to_range(analysis.lines, symbol.range),
            selection_range=ls.to_range(analysis.lines, symbol.selection),
            children=[convert(child) for child in symbol.children] or None)

    return [convert(symbol) for symbol in features.symbols(analysis)]


@server.feature(types.SHUTDOWN)
def shutdown(ls: SpecServer, params: Any) -> None:
    ls.shut_down = True


def run() -> int:
    """Serve one editor over stdin/stdout until it sends exit or closes the pipe. The exit code is 0 after a
    shutdown request and 1 without one, as the protocol asks.

    The protocol gets its own copy of stdout, and anything else printed goes to stderr, so a stray print can never
    corrupt a message."""
    logging.basicConfig(level=logging.WARNING, format="ceruleng lsp: %(message)s")
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    saved, sys.stdout = sys.stdout, sys.stderr
    try:
        server.start_io(sys.stdin.buffer, protocol_out)
    finally:
        sys.stdout = saved
        server.checker.shutdown(wait=False, cancel_futures=True)
    return 0 if server.shut_down else 1
