"""`ceruleng lsp` driven as an editor drives it: a real server process over stdio, a real JSON-RPC client
(tests/lsp_client.py), the bundled PACE spec opened at its own path and edited in memory.

What a user would notice if it broke: a misspelt function that gets no squiggle, or one at the wrong column after an
emoji; a quick fix that edits the wrong characters; completion offering names the checker would reject there; hover
without the signature or the cited sentence; go-to-definition landing on the wrong line; a server that dies, hangs or
shows stale diagnostics after a burst of typing; diagnostics that differ from `ceruleng check`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ceruleng.expr.builtins import FUNCTIONS

sys.path.insert(0, str(Path(__file__).parent))
from lsp_client import LspClient, utf16_column

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "rules" / "asap-pace.yaml"
URI = SPEC.as_uri()
TEXT = SPEC.read_text(encoding="utf-8")
LINES = TEXT.split("\n")
CASES = Path(__file__).parent / "check_cases"


def locate(fragment: str, offset: int = 0) -> tuple[int, int]:
    """(line, code-point column) of `fragment` (plus `offset`) in the bundled spec; the fragment must be unique."""
    found = [(number, line.index(fragment)) for number, line in enumerate(LINES) if fragment in line]
    assert len(found) == 1, fragment
    return found[0][0], found[0][1] + offset


def position(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


def at(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": position(line, character)}


@pytest.fixture
def client() -> Iterator[LspClient]:
    started = LspClient()
    started.initialize(ROOT)
    try:
        yield started
    finally:
        started.kill()


@pytest.fixture
def opened(client: LspClient) -> LspClient:
    """The server with the bundled spec open, its first (clean) diagnostics received."""
    client.open(URI, TEXT)
    _, published = client.diagnostics(URI, 1)
    assert published["diagnostics"] == []
    return client


def misspell_floor(client: LspClient, version: int = 2) -> tuple[int, int]:
    """Edit `full_hours: floor(...)` into `rond(...)`, as typing over it would; where the name starts."""
    line, column = locate("floor(learning_minutes / 60)")
    client.change(URI, version, (line, column), (line, column + len("floor")), "rond")
    return line, column


def labels(result: dict[str, Any]) -> dict[str, int]:
    return {item["label"]: item.get("kind", 0) for item in result["items"]}


def test_a_misspelt_function_gets_checks_diagnostic_and_a_quick_fix(opened: LspClient, tmp_path: Path) -> None:
    line, column = misspell_floor(opened)
    _, published = opened.diagnostics(URI, 2)
    [diagnostic] = published["diagnostics"]
    assert diagnostic["code"] == "expr-unknown-function"
    assert diagnostic["severity"] == 1
    assert diagnostic["range"] == {"start": position(line, column), "end": position(line, column + 4)}
    assert diagnostic["message"] == "unknown function 'rond'\nhint: did you mean 'round'?"

    # the same text, checked by the command line, reports the same problem at the same place
    shutil.copytree(SPEC.parent / "sources", tmp_path / "sources")  # a symlink out of the folder is refused
    edited = tmp_path / "asap-pace.yaml"
    edited.write_text(TEXT.replace("floor(learning_minutes / 60)", "rond(learning_minutes / 60)"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "ceruleng", "check", "--format", "json", str(edited)],
                         capture_output=True, text=True, check=False)
    [reported] = json.loads(run.stdout)["diagnostics"]
    assert (reported["code"], reported["line"] - 1, reported["column"] - 1) == ("expr-unknown-function", line, column)

    [action] = opened.request("textDocument/codeAction", {
        "textDocument": {"uri": URI}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
    assert action["title"] == "Change to 'round'"
    assert action["kind"] == "quickfix"
    [edit] = action["edit"]["changes"][URI]
    assert edit == {"range": diagnostic["range"], "newText": "round"}
    opened.change(URI, 3, (line, column), (line, column + 4), edit["newText"])
    _, fixed = opened.diagnostics(URI, 3)
    # the fix made it `round(learning_minutes / 60)`: a known function now, which takes three arguments
    assert [(d["code"], d["range"]["start"]) for d in fixed["diagnostics"]] == [("expr-arity", position(line, column))]


def test_completion_offers_the_names_in_scope_there(opened: LspClient) -> None:
    line, column = misspell_floor(opened)
    opened.diagnostics(URI, 2)
    inside = labels(opened.request("textDocument/completion", at(URI, line, column + len("rond("))))
    for name in ("learning_minutes", "minutes", "topic", "pace_modules", "workshop_credits", "certified_on",
                 "hours_per_unit", "grade"):
        assert name in inside, name
    assert inside["round"] == 3 and inside["floor"] == 3  # functions
    assert inside["workshop_credits"] == 22  # a table
    assert inside["if"] == 14  # a keyword

    # a cycle rule (the requirement) sees no activity attributes and no activity lets
    cycle_line, cycle_column = locate("credits: 2.4", len("credits: "))
    cycle = labels(opened.request("textDocument/completion", at(URI, cycle_line, cycle_column)))
    assert {"certified_on", "hours_per_unit", "cycle", "pace_modules"} <= set(cycle)
    assert not {"minutes", "topic", "learning_minutes", "grade"} & set(cycle)

    # inside sum(segments, ...), the segment's fields
    sum_line, sum_column = locate("sum(segments, minutes", len("sum(segments, "))
    element = labels(opened.request("textDocument/completion", at(URI, sum_line, sum_column)))
    assert {"kind", "minutes", "it"} <= set(element)

    # inside quotes compared with a graded attribute: the values of its scale
    grade_line, grade_column = locate('require: grade >= "C+"', len('require: grade >= "'))
    grades = labels(opened.request("textDocument/completion", at(URI, grade_line, grade_column)))
    assert list(grades)[:3] == ["F", "D-", "D"] and "A+" in grades


def test_completion_offers_the_keys_the_schema_allows(opened: LspClient) -> None:
    line, _ = locate("credit: selected_credits")
    opened.change(URI, 2, (line, 0), (line, 0), "    \n")
    keys = labels(opened.request("textDocument/completion", at(URI, line, 4)))
    assert {"when", "let", "round", "cap", "minimum"} <= set(keys)
    assert "credit" not in keys and "id" not in keys  # already there
    assert "require" not in keys  # a check's key, not a category's


def test_hover_shows_signatures_declarations_and_cited_sentences(opened: LspClient) -> None:
    line, column = locate("floor(learning_minutes / 60)")
    function = opened.request("textDocument/hover", at(URI, line, column + 2))["contents"]["value"]
    assert FUNCTIONS["floor"].signature in function and FUNCTIONS["floor"].example in function

    line, column = locate("require: continuous_minutes >= minimum", len("require: continuous_minutes >= m"))
    parameter = opened.request("textDocument/hover", at(URI, line, column))
    assert "The least continuous education an activity must offer, in minutes." in parameter["contents"]["value"]
    assert "must offer a minimum of 60 continuous minutes of education" in parameter["contents"]["value"]
    assert parameter["range"]["start"] == position(line, column - 1)

    line, column = locate("applies_to: [asap-webinar", len("applies_to: [asap"))
    category = opened.request("textDocument/hover", at(URI, line, column))["contents"]["value"]
    assert "ASAP live and on-demand webinars" in category
    assert "ASAP live AND on-demand webinars earn .1 credits for each webinar" in category

    line, column = locate("  pace_modules:", len("  pace"))
    declared = opened.request("textDocument/hover", at(URI, line, column))["contents"]["value"]
    assert declared.startswith("**pace_modules** — parameter")
    assert "The four PACE proficiency modules; a training topic must be one of them." in declared
    assert "content must be related to the four PACE proficiency modules" in declared

    line, column = locate("floor(learning_minutes / 60)", len("floor(lea"))
    let = opened.request("textDocument/hover", at(URI, line, column))["contents"]["value"]
    assert let.startswith("**learning_minutes** — let, number")


def test_definition_jumps_to_declarations(opened: LspClient) -> None:
    def target(fragment: str, offset: int) -> tuple[int, int]:
        line, column = locate(fragment, offset)
        found = opened.request("textDocument/definition", at(URI, line, column))
        assert found["uri"] == URI
        return found["range"]["start"]["line"], found["range"]["start"]["character"]

    def key(line: str) -> tuple[int, int]:
        return LINES.index(line), 2

    assert target("floor(learning_minutes / 60)", len("floor(le")) == locate("  learning_minutes: ", 2)
    assert target("require: topic in pace_modules", len("require: topic in pa")) == key("  pace_modules:")
    assert target("credit: workshop_credits[length]", len("credit: wo")) == key("  workshop_credits:")
    assert target("credit: workshop_credits[length]", len("credit: workshop_credits[le")) == key("  length:")
    assert target("applies_to: [asap-webinar", len("applies_to: [as")) == locate("- id: asap-webinar", 6)


def test_document_symbols_outline_categories_parameters_and_tables(opened: LspClient) -> None:
    outline = {symbol["name"]: symbol for symbol in opened.request("textDocument/documentSymbol",
                                                                    {"textDocument": {"uri": URI}})}
    categories = [child["name"] for child in outline["categories"]["children"]]
    assert categories[:3] == ["apc", "apc-workshop", "asap-webinar"] and len(categories) == 10
    assert [c["name"] for c in outline["parameters"]["children"]] == ["minimum_continuous_minutes", "pace_modules",
                                                                     "not_education"]
    assert [c["name"] for c in outline["tables"]["children"]] == ["workshop_credits", "certification_credits"]
    apc = outline["categories"]["children"][0]
    assert apc["detail"] == "APC and Executive Assistants' Summit"
    assert apc["selectionRange"]["start"] == position(LINES.index("  - id: apc"), 8)


def test_positions_after_an_emoji_are_utf16(opened: LspClient) -> None:
    line, column = locate('when: provider == "ASAP"', len("when: provider == "))
    replacement = '"😀🎓" and ceil(1) > 0 and flor(1) > 0'
    opened.change(URI, 2, (line, column), (line, column + len('"ASAP"')), replacement)
    edited = LINES[line][:column] + replacement
    _, published = opened.diagnostics(URI, 2)
    [diagnostic] = published["diagnostics"]
    start = utf16_column(edited, edited.index("flor"))
    assert start == edited.index("flor") + 2  # two characters outside the BMP before it
    assert diagnostic["range"] == {"start": position(line, start), "end": position(line, start + 4)}
    [action] = opened.request("textDocument/codeAction", {
        "textDocument": {"uri": URI}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
    assert action["edit"]["changes"][URI][0]["range"] == diagnostic["range"]
    assert action["edit"]["changes"][URI][0]["newText"] == "floor"
    hover = opened.request("textDocument/hover", at(URI, line, utf16_column(edited, edited.index("ceil") + 1)))
    assert FUNCTIONS["ceil"].signature in hover["contents"]["value"]
    assert hover["range"]["start"] == position(line, utf16_column(edited, edited.index("ceil")))


def test_a_burst_of_edits_publishes_the_last_version(opened: LspClient) -> None:
    line, column = locate("floor(learning_minutes / 60)")
    start = len(opened.notifications)
    typed = "rond(learning_minutes / 60) + "
    for index, char in enumerate(typed):  # one change per keystroke, as fast as the pipe takes them
        opened.change(URI, 2 + index, (line, column + index), (line, column + index), char)
    last = 1 + len(typed)
    _, published = opened.diagnostics(URI, last, after=start)
    assert [d["code"] for d in published["diagnostics"]] == ["expr-unknown-function"]
    opened.request("textDocument/documentSymbol", {"textDocument": {"uri": URI}})  # the server is still there
    versions = [m["params"]["version"] for _, m in opened.notifications[start:]
                if m.get("method") == "textDocument/publishDiagnostics"]
    assert versions == sorted(versions) and versions[-1] == last


def test_broken_yaml_and_schema_errors_still_get_diagnostics_and_completion(opened: LspClient) -> None:
    line, _ = locate("credit: selected_credits")
    opened.change(URI, 2, (line, 0), (line, 0), "    credt: 1.0\n")
    _, published = opened.diagnostics(URI, 2)
    [unknown] = published["diagnostics"]
    assert unknown["code"] == "schema-unknown-key" and unknown["range"]["start"] == position(line, 4)
    [action] = opened.request("textDocument/codeAction", {
        "textDocument": {"uri": URI}, "range": unknown["range"], "context": {"diagnostics": [unknown]}})
    assert action["edit"]["changes"][URI][0] == {"range": unknown["range"], "newText": "credit"}

    opened.change(URI, 3, (0, 0), (0, 0), "bad: [\n")  # the whole file stops being YAML
    _, broken = opened.diagnostics(URI, 3)
    assert [d["code"] for d in broken["diagnostics"]] == ["yaml-syntax"]
    where, column = locate("floor(learning_minutes / 60)", len("floor("))
    names = labels(opened.request("textDocument/completion", at(URI, where + 1, column)))
    assert {"learning_minutes", "pace_modules", "floor"} <= set(names)  # names from the last version that compiled
    assert opened.request("textDocument/hover", at(URI, where + 1, column - 3)) is not None


def test_a_spec_that_never_compiled_completes_its_declared_names(client: LspClient) -> None:
    uri = (ROOT / "rules" / "unsaved.yaml").as_uri()
    client.open(uri, TEXT.replace("  places: 1\n", "  places: one\n"))
    _, published = client.diagnostics(uri, 1)
    assert [d["code"] for d in published["diagnostics"]] == ["schema-type"]
    line, column = locate("floor(learning_minutes / 60)", len("floor("))
    names = labels(client.request("textDocument/completion", at(uri, line, column)))
    assert {"learning_minutes", "pace_modules", "grade", "minutes", "workshop_credits", "round"} <= set(names)


def _check_cases() -> list[Path]:
    cases = []
    for path in sorted(CASES.glob("*.yaml")):
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # an editor cannot send bytes that are not text; the loader's own tests cover them
        cases.append(path)
    return cases


def test_diagnostics_are_exactly_what_check_reports_for_every_check_case(client: LspClient) -> None:
    cases = _check_cases()
    run = subprocess.run([sys.executable, "-m", "ceruleng", "check", "--format", "json", "--no-cache",
                          "--max-errors", "1000", *map(str, cases)], capture_output=True, text=True, check=False)
    expected: dict[str, set[tuple[str, int, int, int]]] = {str(case): set() for case in cases}
    for found in json.loads(run.stdout)["diagnostics"]:
        line = Path(found["path"]).read_text(encoding="utf-8").split("\n")[found["line"] - 1:][:1] or [""]
        severity = 1 if found["severity"] == "error" else 2
        expected[found["path"]].add((found["code"], severity, found["line"] - 1,
                                     utf16_column(line[0], found["column"] - 1)))
    assert sum(map(len, expected.values())) >= len(cases) - 1
    for case in cases:
        client.open(case.as_uri(), case.read_text(encoding="utf-8"))
        _, published = client.diagnostics(case.as_uri(), 1)
        got = {(d["code"], d["severity"], d["range"]["start"]["line"], d["range"]["start"]["character"])
               for d in published["diagnostics"]}
        assert got == expected[str(case)], case.name


_NOISE = ["(", ")", "[", "]", "{", "}", ":", " ", "\n", "  ", "- ", '"', "'", "#", "\t", "😀", "é", "rond(", ".",
          "\r\n", "*", "&a", "!!python/object", "<<: ", "if ", "sum(", "- id: x\n", "\\", ">=", "0.1",
          "\u2028", "\x85", "\ufeff", "\x00", "{{", "*" * 300]


def test_the_server_survives_random_edits(client: LspClient) -> None:
    """A few hundred random edits of the bundled spec, with feature requests at random places: every request is
    answered, no handler fails (nothing logged), and the last version's diagnostics arrive. Half the rounds start
    again from the spec as shipped, so most texts are a valid spec with one fresh mistake (the deep paths: schema,
    model, scopes, expressions), not only text that stopped being YAML long ago."""
    rng = random.Random(15)
    client.open(URI, TEXT)
    text = TEXT
    problems_seen: set[str] = set()
    for version in range(2, 302):
        if rng.random() < 0.5:
            client.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                                                     "contentChanges": [{"text": TEXT}]})
            text = TEXT
        lines = text.split("\n")
        line = rng.randrange(len(lines))
        column = rng.randrange(len(lines[line]) + 1)
        end_line = min(len(lines) - 1, line + rng.choice([0, 0, 0, 1, 3]))
        end_column = rng.randrange(len(lines[end_line]) + 1) if end_line > line else \
            min(len(lines[line]), column + rng.randrange(6))
        inserted = rng.choice(_NOISE) if rng.random() < 0.8 else ""
        client.change(URI, version, (line, utf16_column(lines[line], column)),
                      (end_line, utf16_column(lines[end_line], end_column)), inserted)
        start_index = sum(len(item) + 1 for item in lines[:line]) + column
        end_index = sum(len(item) + 1 for item in lines[:end_line]) + end_column
        text = text[:start_index] + inserted + text[end_index:]
        if version % 3 == 0:
            probe = at(URI, rng.randrange(len(lines) + 2), rng.randrange(120))
            result = client.request("textDocument/completion", probe)
            assert isinstance(result["items"], list)
            client.request("textDocument/hover", probe)
            client.request("textDocument/definition", probe)
            client.request("textDocument/codeAction", {"textDocument": {"uri": URI},
                                                       "range": {"start": probe["position"], "end": probe["position"]},
                                                       "context": {"diagnostics": []}})
            assert isinstance(client.request("textDocument/documentSymbol", {"textDocument": {"uri": URI}}), list)
        if version % 25 == 0:
            _, published = client.diagnostics(URI, version)
            problems_seen.update(d["code"] for d in published["diagnostics"])
    assert len(problems_seen) >= 4, problems_seen  # the edits reached more than the YAML parser
    _, published = client.diagnostics(URI, 301)
    assert isinstance(published["diagnostics"], list)
    assert client.shutdown() == 0
    assert "Traceback" not in "".join(client.stderr), "".join(client.stderr)


def test_exit_codes_follow_the_protocol() -> None:
    polite = LspClient()
    polite.initialize(ROOT)
    assert polite.shutdown() == 0
    polite.kill()
    abrupt = LspClient()
    abrupt.initialize(ROOT)
    abrupt.notify("exit", {})
    assert abrupt.process.wait(timeout=30) == 1
    abrupt.kill()
    gone = LspClient()
    gone.initialize(ROOT)
    assert gone.process.stdin is not None
    gone.process.stdin.close()  # the editor went away without a word
    assert gone.process.wait(timeout=30) == 1
    gone.kill()


def test_help_says_how_editors_start_it() -> None:
    run = subprocess.run([sys.executable, "-m", "ceruleng", "lsp", "--help"], capture_output=True, text=True,
                         check=True)
    assert "Language Server Protocol" in run.stdout and "docs/editors.md" in run.stdout
    assert "pip install 'ceruleng[lsp]'" in run.stdout


def test_without_the_extra_it_says_what_to_install(tmp_path: Path) -> None:
    fake = tmp_path / "pygls"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'pygls'\", name='pygls')\n")
    run = subprocess.run([sys.executable, "-m", "ceruleng", "lsp"], capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)}, stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "ceruleng: the language server needs the lsp extra (pygls is missing): pip install 'ceruleng[lsp]'"]
