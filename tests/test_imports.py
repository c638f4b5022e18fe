"""Imports run one way: load → validate → compile → evaluate → report → CLI (STYLE.md). This test keeps it so."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "ceruleng"

LAYERS = [
    {"source", "errors", "values", "units", "files", "surrogates", "patterns", "outputs"},
    {"yamlsrc", "expr", "templates", "reasoncodes"},
    {"schema", "model", "fields"},
    {"runtime"},
    {"compiled"},
    {"compiler"},
    {"backend"},
    {"scoring"},
    {"engine", "inputs"},
    {"batch", "report", "testing", "coverage", "checkcache", "lsp", "server", "fmt", "diffing", "scaffold",
     "lines", "specset", "cachefolder", "speccache"},
    {"cli", "__main__", "__init__", "dask"},
]
"""A module may import from its own layer or lower ones, never from a higher one."""


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.startswith("ceruleng.") else module
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    raise AssertionError(f"module {module} is in no layer; add it to LAYERS")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ceruleng"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("ceruleng"))
    return found


def test_imports_run_one_way() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts)
        if module in {"ceruleng.__init__", "ceruleng"}:
            continue
        own = _layer(module if "." in module else f"ceruleng.{module}")
        for imported in _imports(path):
            if imported == "ceruleng":
                continue
            if _layer(imported) > own:
                wrong.append(f"{module} imports {imported}")
    assert not wrong


def test_nothing_imports_the_dask_module() -> None:
    """ceruleng.dask is the only user of the `dask` extra: ceruleng works, and `eval --jobs` and Spark or Ray users
    score lines through `ceruleng.lines`, without it installed."""
    users = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                   if "ceruleng.dask" in _imports(path)
                   or re.search(r"^\s*(?:import|from) (?:dask|distributed)\b", path.read_text(), re.MULTILINE))
    assert users == ["dask.py"]


def test_only_the_back_end_writes_python() -> None:
    """Generated code is written in one package; everywhere else, Python text is never built or run."""
    call = re.compile(r"(?<![\w.])(?:exec|eval|compile)\(")
    writers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if call.search(p.read_text()))
    assert writers == ["backend/writer.py"]


def test_the_runtime_imports_neither_the_back_end_nor_the_scorer() -> None:
    imported = _imports(PACKAGE / "runtime.py")
    assert not [name for name in imported if name.startswith(("ceruleng.backend", "ceruleng.scoring"))]
    scorer = _imports(PACKAGE / "scoring" / "scorer.py")
    assert not [name for name in scorer if name.startswith("ceruleng.backend")]


def test_lark_stays_inside_the_parser() -> None:
    users = [p.name for p in PACKAGE.rglob("*.py") if "import lark" in p.read_text() or "from lark" in p.read_text()]
    assert users == ["parser.py"]


def test_yaml_is_loaded_in_one_module() -> None:
    users = sorted(p.name for p in PACKAGE.rglob("*.py") if "import yaml" in p.read_text())
    assert users == ["yamlsrc.py"]


def test_ruamel_stays_inside_the_formatter() -> None:
    """ruamel.yaml (the `fmt` extra) writes specs back with their comments; nothing else may need it."""
    users = sorted(p.name for p in PACKAGE.rglob("*.py") if "ruamel" in p.read_text())
    assert users == ["cli.py", "formatter.py"]  # cli.py only says what to install when it is missing


SCORING_LAYERS = [
    {"periods", "encode", "results", "credentials"},
    {"notes"},
    {"entries"},
    {"limits", "carry"},
    {"ledger"},
    {"scorer"},
]
"""Inside the scorer, imports run one way too: entries of credit, then what counts them (limits, carry-over), then
the period's accounting (ledger), then the scorer that drives it."""


def test_the_scoring_modules_import_one_way() -> None:
    def layer(name: str) -> int:
        for index, modules in enumerate(SCORING_LAYERS):
            if name in modules:
                return index
        raise AssertionError(f"ceruleng.scoring.{name} is in no layer of SCORING_LAYERS; add it")

    wrong = []
    for path in (PACKAGE / "scoring").glob("*.py"):
        if path.stem == "__init__":
            continue
        own = layer(path.stem)
        for imported in _imports(path):
            if imported.startswith("ceruleng.scoring.") and layer(imported.split(".")[2]) > own:
                wrong.append(f"scoring.{path.stem} imports {imported}")
    assert not wrong
