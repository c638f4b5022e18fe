"""How soon diagnostics arrive after an edit: `ceruleng lsp` driven over stdio by the test client, on a 700+ line spec.

Standard library plus the project (and its lsp extra). Run from the repository root:

    python bench/lsp_latency.py                 # 30 single edits and 10 bursts of typing on rules/ace.yaml
    python bench/lsp_latency.py --edits 50 --spec rules/ace.yaml

It starts the real server (`python -m ceruleng lsp`), opens the spec, then (a) makes single edits, each waiting for
its diagnostics before the next — alternately misspelling a name in a credit expression and fixing it, so every edit
changes what is reported — and (b) types bursts of keystrokes as fast as the pipe takes them, measuring from the last
keystroke. Each latency is from the moment the change is written to the pipe to the moment the client has read the
`publishDiagnostics` for that version, so it includes the server's debounce (`DEBOUNCE_SECONDS`), the check and the
JSON-RPC round trip: what a person at the editor waits. Beside it, the same texts checked in-process
(`ceruleng.lsp.analysis.diagnose`, what the server runs before publishing) show how much of the wait is the check
itself, and `analyse` what the scopes for completion and hover cost on top. Target: p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from lsp_client import LspClient  # noqa: E402 - tests/ is on the path above

from ceruleng.lsp.analysis import analyse, diagnose  # noqa: E402
from ceruleng.lsp.server import DEBOUNCE_SECONDS  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def describe(name: str, values: list[float]) -> str:
    return (f"{name:<34} n={len(values):<3} median {1000 * statistics.median(values):6.1f} ms   "
            f"p95 {1000 * percentile(values, 0.95):6.1f} ms   max {1000 * max(values):6.1f} ms")


class Session:
    """The server with the spec open, and the one place the benchmark edits."""

    def __init__(self, spec: Path) -> None:
        self.spec = spec
        self.uri = spec.as_uri()
        self.lines = spec.read_text(encoding="utf-8").split("\n")
        # the first `credit: name...` line: its name is misspelt (an unknown name) and corrected, in turn
        self.line = next(n for n, text in enumerate(self.lines) if re.match(r"\s+credit: [A-Za-z_]", text))
        self.column = self.lines[self.line].index("credit: ") + len("credit: ")
        name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", self.lines[self.line][self.column:])
        assert name is not None
        self.original = name[0]
        self.misspelt = self.original + "z"
        self.client = LspClient()
        self.version = 1
        self.client.initialize(ROOT)
        self.client.open(self.uri, "\n".join(self.lines))
        self.client.diagnostics(self.uri, 1)

    def replace(self, old: str, new: str, offset: int = 0) -> float:
        """Replace `old` at the edit place (plus offset) with `new`; when the change was written."""
        self.version += 1
        start = time.perf_counter()
        self.client.change(self.uri, self.version, (self.line, self.column + offset),
                           (self.line, self.column + offset + len(old)), new)
        text = self.lines[self.line]
        self.lines[self.line] = text[: self.column + offset] + new + text[self.column + offset + len(old):]
        return start

    def single_edits(self, count: int) -> tuple[list[float], list[str]]:
        """Each edit waits for its diagnostics; the texts edited, for the in-process comparison."""
        latencies, texts = [], []
        for index in range(count):
            wrong = index % 2 == 0
            start = self.replace(*((self.original, self.misspelt) if wrong else (self.misspelt, self.original)))
            arrived, published = self.client.diagnostics(self.uri, self.version)
            latencies.append(arrived - start)
            assert any(d["code"] == "expr-unknown-name" for d in published["diagnostics"]) == wrong
            texts.append("\n".join(self.lines))
        return latencies, texts

    def bursts(self, count: int) -> list[float]:
        """Delete the name, type it misspelt one keystroke at a time, measure from the last keystroke."""
        latencies = []
        for _ in range(count):
            self.replace(self.original, "")
            start = 0.0
            for offset, char in enumerate(self.misspelt):
                start = self.replace("", char, offset)
            arrived, _ = self.client.diagnostics(self.uri, self.version)
            latencies.append(arrived - start)
            self.replace(self.misspelt, self.original)
            self.client.diagnostics(self.uri, self.version)
        return latencies


def in_process(spec: Path, texts: list[str]) -> tuple[list[float], list[float]]:
    """The same texts in this process: `check`'s diagnostics alone (what the server publishes), and the full
    analysis the other features read (made when a feature asks)."""
    checks, analyses, previous = [], [], None
    for text in texts:
        start = time.perf_counter()
        diagnose(text, str(spec))
        middle = time.perf_counter()
        previous = analyse(text, str(spec), previous)
        checks.append(middle - start)
        analyses.append(time.perf_counter() - middle)
    return checks, analyses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--spec", default=str(ROOT / "rules" / "ace.yaml"))
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--bursts", type=int, default=10)
    options = parser.parse_args()
    session = Session(Path(options.spec).resolve())
    print(f"spec {options.spec}: {len(session.lines)} lines; edit at line {session.line + 1} "
          f"({session.original!r}); debounce {1000 * DEBOUNCE_SECONDS:.0f} ms; Python {sys.version.split()[0]}")
    try:
        single, texts = session.single_edits(options.edits)
        burst = session.bursts(options.bursts)
        assert session.client.shutdown() == 0
    finally:
        session.client.kill()
    checks, analyses = in_process(session.spec, texts)
    print(describe("single edit → diagnostics", single))
    print(describe("burst: last keystroke → diagnostics", burst))
    print(describe("in-process: the check alone", checks))
    print(describe("in-process: the features' analysis", analyses))
    print(f"server latency / in-process check: {statistics.median(single) / statistics.median(checks):.1f}× "
          f"(the debounce alone is {1000 * DEBOUNCE_SECONDS:.0f} ms)")
    worst = max(percentile(single, 0.95), percentile(burst, 0.95))
    print(f"target p95 < 300 ms: {'met' if worst < 0.3 else 'NOT met'} ({1000 * worst:.1f} ms)")


if __name__ == "__main__":
    main()
