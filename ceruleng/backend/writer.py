"""Back end: the code writer — generated Python lines, each remembering the spec position it came from.

Input: lines of Python from the back end's clients (expression emitter, function assembler, record checker), each
written while an `Origin` (the spec rule being translated) is current. Output: a `Program`: the module source, a line
map from every generated line back to its origin, the source registered with `linecache` (so a traceback through
generated code shows the generated line), and the compiled namespace. (`Origin` and `Program` are defined with the
compiled spec, which carries them.)

Like Jinja's CodeGenerator: `line()` writes at the current indentation, `block()` opens an indented block after a
header and closes it on exit (no string slicing of indentation), `origin()` sets what the following lines translate
(Jinja's `debug_info`). `Program.origin_of(exc)` walks an exception's traceback to the innermost generated frame and
returns the rule it was running: that is how a failure names its spec file:line:column.
"""

from __future__ import annotations

import linecache
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ceruleng.compiled import Origin, Program

INDENT = "    "


@dataclass
class CodeWriter:
    """Accumulates one generated module's lines and their origins."""

    filename: str
    lines: list[str] = field(default_factory=list)
    origins: list[Origin | None] = field(default_factory=list)
    _depth: int = 0
    _origins: list[Origin | None] = field(default_factory=lambda: [None])

    def line(self, text: str) -> None:
        """One line at the current indentation, attributed to the current origin."""
        self.lines.append(INDENT * self._depth + text)
        self.origins.append(self._origins[-1])

    def blank(self) -> None:
        self.lines.append("")
        self.origins.append(None)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """`header` (ending with ':'), then everything written inside the `with` indented one level."""
        self.line(header)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    @contextmanager
    def origin(self, origin: Origin | None) -> Iterator[None]:
        """Lines written inside translate `origin` (None: no rule of the spec, e.g. a function's preamble)."""
        self._origins.append(origin)
        try:
            yield
        finally:
            self._origins.pop()

    @property
    def current(self) -> Origin | None:
        return self._origins[-1]

    def fragment(self) -> CodeWriter:
        """A writer for a part whose first lines depend on what comes after (a function body, written before the
        preamble that loads what the body reads); `splice` it back in."""
        return CodeWriter(self.filename, _origins=[self.current])

    def splice(self, fragment: CodeWriter) -> None:
        """The fragment's lines, at the current indentation, with their origins."""
        for text, origin in zip(fragment.lines, fragment.origins, strict=True):
            self.lines.append(INDENT * self._depth + text if text else "")
            self.origins.append(origin)

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"

    def compile(self, namespace: dict[str, Any]) -> Program:
        """Compile the module into `namespace` (the caller's restricted globals and constants) and register its
        source so tracebacks and `--show-python` can show it."""
        source = self.source()
        code = compile(source, self.filename, "exec")
        linecache.cache[self.filename] = (len(source), None, source.splitlines(keepends=True), self.filename)
        exec(code, namespace)
        return Program(self.filename, source, list(self.origins), namespace)
