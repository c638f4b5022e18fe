"""The table and CSV as people meet them: real `ceruleng eval` processes, on a pipe or on a real terminal (a pty).

Titles instead of ids, plural units, the next step and what carries over; `--explain` honoured by every format;
colour only where it helps (a terminal, unless NO_COLOR; `--color always|never` overrides); progress that stays
out of the report and says how far along a batch is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
AS_OF = "2025-06-01"


def _eval(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--as-of", AS_OF,
                           *arguments], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def _on_terminal(arguments: list[str], stdout_too: bool, env: dict[str, str] | None = None,
                 terminate_on: str | None = None) -> tuple[str, str]:
    """Run eval with stderr (and stdout, if `stdout_too`) on a pseudo-terminal; (what the terminal showed, stdout
    when it went to a pipe). With `terminate_on`, the process gets SIGTERM once the terminal shows that text."""
    leader, follower = pty.openpty()
    shown: list[bytes] = []
    seen = threading.Event()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                return
            if not chunk:
                return
            shown.append(chunk)
            if terminate_on is not None and terminate_on.encode() in b"".join(shown):
                seen.set()

    reader = threading.Thread(target=read)
    reader.start()
    environment = {**os.environ, "TERM": "xterm"}
    environment.pop("NO_COLOR", None)
    environment.update(env or {})
    process = subprocess.Popen([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--as-of", AS_OF,
                                *arguments], cwd=ROOT, stdin=subprocess.DEVNULL, stderr=follower,
                               stdout=follower if stdout_too else subprocess.PIPE, env=environment)
    if terminate_on is not None:
        assert seen.wait(timeout=300), b"".join(shown)
        process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=300)
    os.close(follower)
    reader.join(timeout=30)
    os.close(leader)
    return b"".join(shown).decode("utf-8", "replace"), (stdout or b"").decode() if not stdout_too else ""


def test_the_table_speaks_to_a_member() -> None:
    table = _eval("examples/pace-member.yaml").stdout
    header = next(line for line in table.splitlines() if line.strip().startswith("id "))
    assert header.split()[:7] == ["id", "date", "activity", "category", "status", "CEUs", "why"]
    a1 = next(line for line in table.splitlines() if line.strip().startswith("A1 "))
    assert "Excel pivot tables" in a1 and "Lorman PACE-credited webinars" in a1 and "lorman-webinar" not in a1
    assert "earned 4.9 CEUs of 2.4 required" in table
    assert ("next step: submit by 2025-06-15 (14 days left) and pay the 75.00 USD fee per cycle; audit: not "
            "selected (30% of submissions are audited); 1 pending activity awaits a decision by") in table
    assert "Nothing carries over: the 2.5 CEUs above the 2.4 CEUs required will not count toward the next cycle." \
        in table
    ny = _eval("examples/ny-member.yaml").stdout
    assert "6.0 of the 13.0 CLE credits above the requirement carry over to the next cycle; the other 7.0 do " \
           "not (at most 6.0 may)." in ny


def test_a_member_short_of_the_requirement_is_told_what_and_by_when(tmp_path: Path) -> None:
    member = {"member": "M-9", "credentials": [{"spec": "ny-cle", "certified_on": "2023-07-01"}],
              "activities": [{"id": "A1", "type": "live", "date": "2024-01-10", "minutes": 500, "area": "skills"}]}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(member))
    table = _eval(str(path)).stdout
    assert ("You still need 14.0 more CLE credits in total and 4.0 more CLE credits in Ethics and professionalism "
            "and 1.0 more CLE credit in Diversity, inclusion and elimination of bias and 1.0 more CLE credit in "
            "Cybersecurity, privacy and data protection by 2025-07-01 (30 days left).") in table
    assert "next step: earn 14.0 more CLE credits by 2025-07-01 (30 days left), then submit." in table


def test_explain_is_honoured_by_every_format() -> None:
    plain, explained = _eval("examples/aca-member.yaml"), _eval("examples/aca-member.yaml", "--explain")
    traced = [line for line in explained.stdout.splitlines() if line.startswith("      ↳ ")]
    assert traced and all("(rules/aca.yaml:" in line for line in traced)
    assert "↳" not in plain.stdout
    rows = list(csv.DictReader(io.StringIO(_eval("examples/aca-member.yaml", "--format", "csv", "--explain").stdout,
                                           newline="")))
    assert all(row["trace"] for row in rows if row["status"] == "awarded")
    assert all(line.endswith(")") for row in rows for line in row["trace"].splitlines())
    untraced = csv.DictReader(io.StringIO(_eval("examples/aca-member.yaml", "--format", "csv").stdout, newline=""))
    assert not any(row["trace"] for row in untraced)
    assert "<details>" in _eval("examples/aca-member.yaml", "--format", "html", "--explain").stdout
    assert all("trace" in a for line in _eval("examples/aca-member.yaml", "--format", "jsonl", "--explain")
               .stdout.splitlines() for r in json.loads(line)["results"] for a in r["activities"])


GREEN_AWARDED = "\x1b[32mawarded"


def test_colour_where_it_helps_and_nowhere_else() -> None:
    assert GREEN_AWARDED in _eval("examples/pace-member.yaml", "--color", "always").stdout
    assert "\x1b[" not in _eval("examples/pace-member.yaml").stdout  # a pipe: auto means none
    assert "\x1b[" not in _eval("examples/pace-member.yaml", "--color", "never").stdout
    assert GREEN_AWARDED in _eval("examples/pace-member.yaml", "--color", "always", env={"NO_COLOR": "1"}).stdout
    shown, _ = _on_terminal(["examples/pace-member.yaml"], stdout_too=True)
    assert GREEN_AWARDED in shown and "\x1b[1;32mMET" in shown
    shown, _ = _on_terminal(["examples/pace-member.yaml"], stdout_too=True, env={"NO_COLOR": "1"})
    assert "\x1b[" not in shown and "awarded" in shown


def test_colour_never_changes_how_the_table_lines_up() -> None:
    plain = _eval("examples/ace-member.yaml").stdout
    coloured = _eval("examples/ace-member.yaml", "--color", "always").stdout
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "batch.jsonl"
    member = {"credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
              "activities": [{"id": f"A{k}", "type": "training", "date": "2024-05-10", "minutes": 60 + k,
                              "topic": "Management Skills"} for k in range(40)]}
    path.write_text("".join(json.dumps({**member, "member": f"M{n}"}) + "\n" for n in range(2500)))
    return path


def test_progress_shows_on_a_terminal_when_the_report_goes_elsewhere(batch: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    shown, _ = _on_terminal([str(batch), "--format", "json", "-o", str(output)], stdout_too=False)
    assert " of 2,500 members (" in shown and "%) · " in shown and " members/s · " in shown
    assert "\r\x1b[K" in shown  # each update clears the line it replaces, the last one too
    assert shown.rstrip().splitlines()[-1].split("\x1b[K")[-1].startswith("ceruleng: scored 2,500 members, "
                                                                          "100,000 activities in ")
    assert json.loads(output.read_text())["summary"]["members"] == 2500


def test_a_run_stopped_mid_batch_says_why_on_a_line_of_its_own(batch: Path, tmp_path: Path) -> None:
    """The one line saying why a run stopped replaces the progress line instead of running on after it."""
    shown, _ = _on_terminal([str(batch), "--format", "json", "-o", str(tmp_path / "out.json")], stdout_too=False,
                            terminate_on=" members/s · ")
    progress, _, last = shown.rpartition("\x1b[K")
    assert " members/s · " in progress
    assert last == "ceruleng: terminated\r\n"  # the terminal writes a newline as \r\n
    assert not (tmp_path / "out.json").exists()


def test_progress_never_mixes_into_a_report_on_the_same_terminal(batch: Path) -> None:
    shown, _ = _on_terminal([str(batch)], stdout_too=True)
    assert "members/s" not in shown and "ceruleng: scored" not in shown
    assert shown.rstrip().splitlines()[-1].startswith("2500 members, 100000 activity results")


def test_progress_never_reaches_a_pipe(batch: Path) -> None:
    done = _eval(str(batch), "--format", "jsonl")
    assert done.stderr == "" and len(done.stdout.splitlines()) == 2500
