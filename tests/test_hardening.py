"""Nothing a file says can stop a batch, leave a file behind or change what `check` reports (issue 10).

Real parts as users meet them: the CLI in-process (click's CliRunner) for every output format, and real
subprocesses for signals (SIGTERM to the process, to its process group, to one worker of `--jobs 2`), standard
input, and a check cache an attacker has written to.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ceruleng.checkcache import check_paths
from ceruleng.cli import main
from ceruleng.inputs import _sniff

ROOT = Path(__file__).parent.parent
HOSTILE = ROOT / "tests" / "hostile" / "activities"
RULES = ROOT / "rules" / "asap-pace.yaml"
SURROGATES = HOSTILE / "surrogates.jsonl"
FORMATS = ["json", "jsonl", "csv", "table"]


def _cli(arguments: list[str], stdin: bytes | None = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, arguments, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


def _ids(fmt: str, output: bytes) -> list[str]:
    """The activity ids a report lists, in order (unreadable members' rows excluded), from its bytes as UTF-8."""
    text = output.decode("utf-8")  # strict: a lone surrogate would have made the bytes invalid UTF-8
    if fmt == "json":
        return [a["id"] or "" for m in json.loads(text)["members"] for r in m["results"] for a in r["activities"]]
    if fmt == "jsonl":
        return [a["id"] or "" for line in text.splitlines() for r in json.loads(line)["results"]
                for a in r["activities"]]
    if fmt == "csv":
        return [row["activity"] for row in csv.DictReader(io.StringIO(text, newline="")) if row["index"]]
    return [line.split()[0] for line in text.splitlines() if line.startswith("  ") and line.split()[0][:1] in "A#"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "-o"])
def test_lone_surrogates_never_break_a_writer(tmp_path: Path, fmt: str, to_file: bool) -> None:
    """Every format, to stdout and with -o: exit 1 (malformed fields), valid UTF-8, every activity listed once."""
    out = tmp_path / f"report.{fmt}"
    arguments = ["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", fmt, str(SURROGATES)]
    code, stdout, stderr = _cli([*arguments, "-o", str(out)] if to_file else arguments)
    assert code == 1, stderr
    output = out.read_bytes() if to_file else stdout
    ids = _ids(fmt, output)
    assert len(ids) == 5 and "A2" in ids and "A3" in ids, ids
    assert "\\udc41" in output.decode("utf-8")  # shown escaped, never dropped silently


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_in_a_real_process_with_two_jobs(tmp_path: Path, fmt: str) -> None:
    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", str(RULES), "--as-of", "2025-06-01",
                           "--format", fmt, "--jobs", "2", str(SURROGATES)], capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 1 and b"Traceback" not in done.stderr, done.stderr
    assert len(_ids(fmt, done.stdout)) == 5


@pytest.mark.parametrize("where", ["member", "activity id", "credential name"])
def test_a_python_caller_s_lone_surrogate_is_scored_not_an_internal_error(where: str) -> None:
    """A str from Python may hold a lone surrogate (JSON input marks one as unencodable first): the member is still
    scored, its audit drawn from the text as it is, and the JSON keeps it (as `json.dumps` would)."""
    from datetime import date

    from ceruleng.engine import Evaluator, load_specs

    document: dict[str, Any] = json.loads(json.dumps(MEMBER))
    if where == "member":
        document["member"] = "M\ud800"
    elif where == "activity id":
        document["activities"][0]["id"] = "A\udc41"
    else:
        document["credentials"][0]["name"] = "PACE \udfff"
    result = Evaluator(load_specs([str(RULES)]), date(2025, 6, 1)).member(document)
    credential = result.credentials[0]
    assert credential.error is None and credential.activities[0].status == "awarded"
    assert str(credential.earned) == "0.1"
    assert "internal error" not in result.json_text()


# ---- standard input ------------------------------------------------------------------------------------------------

MEMBER = {"member": "M-1", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
          "activities": [{"id": "A1", "type": "training", "date": "2025-02-11", "minutes": 90,
                          "topic": "Management Skills"}]}


@pytest.mark.parametrize(("text", "members"), [
    (json.dumps(MEMBER, indent=2), ["M-1"]),
    (json.dumps([MEMBER, {**MEMBER, "member": "M-2"}], indent=2), ["M-1", "M-2"]),
    (json.dumps(MEMBER) + "\n" + json.dumps({**MEMBER, "member": "M-2"}) + "\n", ["M-1", "M-2"]),
    (json.dumps(MEMBER), ["M-1"]),
    ("\ufeff" + json.dumps(MEMBER, indent=4), ["M-1"]),
    ("member: M-1\ncredentials: [{spec: asap-pace, certified_on: 2023-06-15}]\nactivities:\n"
     "  - {id: A1, type: training, date: 2025-02-11, minutes: 90, topic: Management Skills}\n", ["M-1"]),
    ("{member: M-1, credentials: [{spec: asap-pace, certified_on: 2023-06-15}],\n activities: [{id: A1, "
     "type: training, date: 2025-02-11, minutes: 90, topic: Management Skills}]}\n", ["M-1"]),
], ids=["pretty JSON", "pretty JSON list", "JSON Lines", "one-line JSON", "pretty JSON with a BOM", "YAML",
        "YAML flow mapping"])
def test_standard_input_is_read_in_its_own_format(text: str, members: list[str]) -> None:
    """`-` without --input-format, through a real pipe: pretty-printed JSON is JSON, not broken JSON Lines."""
    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", str(RULES), "--as-of", "2025-06-01",
                           "--format", "jsonl", "-"], input=text.encode("utf-8"), capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["member"] for line in done.stdout.splitlines()] == members


def test_the_sniffer_decides_from_the_first_line() -> None:
    assert _sniff('{\n  "member": "M-1"\n}') == "json"
    assert _sniff('{"member": "M-1",\n "activities": []}') == "json"
    assert _sniff('{"member": "M-1"}\n{"member": "M-2"}\n') == "jsonl"
    assert _sniff('{"member": "M-1"}\n') == "jsonl"
    assert _sniff('[{"member": "M-1"}]\n') == "json"
    assert _sniff('{"member": "' + "x" * 5000) == "jsonl"  # a first line longer than the sample
    assert _sniff("member: M-1\n") == "yaml"
    assert _sniff("{member: M-1}\n") == "yaml"
    assert _sniff("") == "yaml"


# ---- signals ---------------------------------------------------------------------------------------------------------


def _batch(tmp_path: Path, members: int) -> Path:
    path = tmp_path / f"batch-{os.getpid()}-{members}.jsonl"
    activities = [{**MEMBER["activities"][0], "id": f"A{index}"} for index in range(20)]
    line = json.dumps({**MEMBER, "activities": activities}) + "\n"
    path.write_text(line * members, encoding="utf-8")
    return path


def _start(arguments: list[str], new_session: bool = False, tmpdir: Path | None = None) -> subprocess.Popen[bytes]:
    """The CLI as a process of its own; with `tmpdir`, its temporary files (the workers' blocks) go there."""
    env = {**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None
    return subprocess.Popen([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=new_session, env=env)


def _wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _processes_reading(marker: str) -> list[int]:
    """Pids of live processes whose command line names `marker` (a batch file: the parent and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
                state = (entry / "stat").read_text().split(") ", 1)[1][:1]
            except OSError:
                continue
            if marker in command and state != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the worker processes")
@pytest.mark.parametrize(("jobs", "group"), [(1, False), (2, False), (2, True)],
                         ids=["one process", "two processes", "the whole process group"])
def test_sigterm_leaves_no_temporary_file_and_no_worker(tmp_path: Path, jobs: int, group: bool) -> None:
    batch = _batch(tmp_path, 40_000)
    out = tmp_path / "report.json"
    out.write_text("the previous report\n", encoding="utf-8")
    spooled = tmp_path / "tmp"
    spooled.mkdir()
    process = _start(["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "json", "--jobs",
                      str(jobs), "-o", str(out), str(batch)], new_session=group, tmpdir=spooled)
    temporary = lambda: [p for p in tmp_path.iterdir() if p.name.startswith(".report.json.")]  # noqa: E731
    _wait_for(lambda: temporary() and temporary()[0].stat().st_size > 0)  # it is writing
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.decode().strip() == "ceruleng: terminated"  # one line: no worker traceback, nothing else
    assert not temporary()
    assert out.read_text(encoding="utf-8") == "the previous report\n"
    assert not list(spooled.iterdir())  # the workers' blocks in flight went with their folder
    _wait_for(lambda: not _processes_reading(batch.name), timeout=10)


def _diff_arguments(tmp_path: Path, out: Path, batch: Path) -> list[str]:
    """`diff --members` of the bundled spec against a copy that asks for more credit (every member changes)."""
    lines = RULES.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[39] == "  credits: 2.4\n"
    lines[39] = "  credits: 30\n"
    new = tmp_path / "new" / RULES.name
    new.parent.mkdir()
    new.write_text("".join(lines), encoding="utf-8")
    return ["diff", str(RULES), str(new), "--members", str(batch), "--as-of", "2025-06-01", "--format", "json",
            "--jobs", "2", "-o", str(out)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the worker processes")
@pytest.mark.parametrize(("command", "signum", "group", "then"), [
    ("diff", signal.SIGTERM, False, None), ("diff", signal.SIGTERM, True, None), ("diff", signal.SIGHUP, False, None),
    ("eval", signal.SIGHUP, False, None), ("eval", signal.SIGHUP, True, None), ("eval", signal.SIGTERM, False,
                                                                                  signal.SIGHUP),
], ids=["diff, SIGTERM", "diff, SIGTERM to the group", "diff, SIGHUP", "eval, SIGHUP", "eval, SIGHUP to the group",
        "eval, SIGTERM then SIGHUP at once"])
def test_a_hangup_or_a_terminated_diff_leaves_no_temporary_file_nor_folder_nor_worker(
        tmp_path: Path, command: str, signum: int, group: bool, then: int | None) -> None:
    """SIGHUP (a closed terminal) unwinds like SIGTERM, and `diff --jobs 2` like `eval`: one line, 128 + the signal,
    the old report untouched, and neither the `-o` temporary file nor the workers' folder left. A second signal
    right after the first (systemd sends SIGTERM and SIGHUP back to back) changes none of that."""
    batch = _batch(tmp_path, 40_000)
    out = tmp_path / "report.json"
    out.write_text("the previous report\n", encoding="utf-8")
    spooled = tmp_path / "tmp"
    spooled.mkdir()
    arguments = (_diff_arguments(tmp_path, out, batch) if command == "diff" else
                 ["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "json", "--jobs", "2", "-o",
                  str(out), str(batch)])
    process = _start(arguments, new_session=group, tmpdir=spooled)
    temporary = lambda: [p for p in tmp_path.iterdir() if p.name.startswith(".report.json.")]  # noqa: E731
    _wait_for(lambda: temporary() and temporary()[0].stat().st_size > 0)  # it is writing
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    if then is not None:
        process.send_signal(then)
    _, stderr = process.communicate(timeout=60)
    words = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}
    firsts = [signum] if then is None else [signum, then]  # two at once: Python runs the lower-numbered first
    assert (process.returncode, stderr.decode().strip()) in [(128 + f, f"ceruleng: {words[f]}") for f in firsts]
    assert not temporary()
    assert not list(spooled.iterdir())
    assert out.read_text(encoding="utf-8") == "the previous report\n"
    _wait_for(lambda: not _processes_reading(batch.name), timeout=10)


SIGNAL_MID_POOL_START = """
import os, signal, sys
from multiprocessing.process import BaseProcess

from ceruleng.cli import main

start = BaseProcess.start
started = []


def start_then_signal(process):  # the first worker is forked, the second not yet: the pool is half started
    start(process)
    started.append(process)
    if len(started) == 1:
        os.killpg(0, signal.SIGTERM)


BaseProcess.start = start_then_signal
sys.argv = ["ceruleng", *sys.argv[1:]]
main()
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the worker processes")
@pytest.mark.parametrize("command", ["eval", "diff"])
def test_a_signal_while_the_workers_start_stops_the_run_cleanly(tmp_path: Path, command: str) -> None:
    """SIGTERM to the whole group while the pool is half started (one worker forked, the next not yet): the
    signal waits until the pool is whole and then unwinds the run as anywhere else — no hang, no worker left
    behind (a pool nothing abandons replaces its killed workers), one line, the old report untouched."""
    batch = _batch(tmp_path, 2_000)
    out = tmp_path / "report.json"
    out.write_text("the previous report\n", encoding="utf-8")
    spooled = tmp_path / "tmp"
    spooled.mkdir()
    arguments = (_diff_arguments(tmp_path, out, batch) if command == "diff" else
                 ["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "json", "--jobs", "2", "-o",
                  str(out), str(batch)])
    process = subprocess.Popen([sys.executable, "-c", SIGNAL_MID_POOL_START, *arguments], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "TMPDIR": str(spooled)})
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr.decode().strip()) == (143, "ceruleng: terminated")
    assert out.read_text(encoding="utf-8") == "the previous report\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.json.")]
    assert not list(spooled.iterdir())
    _wait_for(lambda: not _processes_reading(batch.name), timeout=10)


INTERRUPTED_SWAP = """
import os, signal, sys

from ceruleng.cli import main

replace, how = os.replace, sys.argv.pop(1)


def interrupted(source, target):  # the report folder's swap: the old one aside, then the new one in
    if how == "refused" and str(source).endswith(".tmp"):
        raise PermissionError(13, "Permission denied", str(source))
    replace(source, target)
    if how == "signal" and ".old" in str(target):  # the old report is aside, the new one not yet in
        os.kill(os.getpid(), signal.SIGTERM)


os.replace = interrupted
sys.argv = ["ceruleng", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(("how", "code"), [("signal", 143), ("refused", 2)],
                         ids=["a signal between the two renames", "the new folder refused its place"])
def test_a_folder_report_whose_swap_is_interrupted_keeps_the_previous_report(tmp_path: Path, how: str,
                                                                             code: int) -> None:
    """`-o FOLDER` (html, parquet) replaces a previous report in two renames; stopped between them, the previous
    report goes back where it was, whole, and no temporary folder stays."""
    folder = tmp_path / "report"
    arguments = ["eval", "--rules", "rules", "--as-of", "2025-06-01", "--format", "html", "-o", str(folder),
                 "examples/pace-member.yaml"]
    first = subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, capture_output=True,
                           check=False)
    assert first.returncode in (0, 1), first.stderr
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_SWAP, how, *arguments], cwd=ROOT,
                          capture_output=True, check=False)
    assert done.returncode == code, done.stderr
    assert len(done.stderr.decode().strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the worker processes")
@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup")
def test_a_run_under_nohup_outlives_its_terminal(tmp_path: Path) -> None:
    """SIGHUP ignored before the run starts (what `nohup` does) stays ignored, in the parent and its workers."""
    batch = _batch(tmp_path, 20_000)
    out = tmp_path / "report.jsonl"

    process = subprocess.Popen(["nohup", sys.executable, "-m", "ceruleng", "eval", "--rules", str(RULES), "--as-of",
                                "2025-06-01", "--format", "jsonl", "--jobs", "2", "-o", str(out), str(batch)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    temporary = lambda: [p for p in tmp_path.iterdir() if p.name.startswith(".report.jsonl.")]  # noqa: E731
    _wait_for(lambda: temporary() and temporary()[0].stat().st_size > 0)  # the workers are scoring
    os.killpg(process.pid, signal.SIGHUP)
    _, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (0, b"")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 20_000


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
@pytest.mark.parametrize("command", ["eval", "diff"])
def test_a_killed_worker_never_hangs_the_run_nor_loses_a_member_silently(tmp_path: Path, command: str) -> None:
    """A worker killed mid-batch: a pool would replace it and wait for ever for the block it held. The run either
    notices (exit 2, one line, the old -o file untouched) or, when the worker held no block, finishes complete."""
    batch = _batch(tmp_path, 40_000)
    out = tmp_path / "report.json"
    spooled = tmp_path / "tmp"
    spooled.mkdir()
    arguments = (_diff_arguments(tmp_path, out, batch) if command == "diff" else
                 ["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "jsonl", "--jobs", "2", "-o",
                  str(out), str(batch)])
    process = _start(arguments, tmpdir=spooled)
    temporary = lambda: [p for p in tmp_path.iterdir() if p.name.startswith(".report.json.")]  # noqa: E731
    _wait_for(lambda: temporary() and temporary()[0].stat().st_size > 0)  # the workers are at work
    worker = max(pid for pid in _processes_reading(batch.name) if pid != process.pid)
    os.kill(worker, signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    if process.returncode != 2:  # the worker held no block: the run finished, complete
        assert process.returncode == (0 if command == "eval" else 1), stderr
        if command == "eval":
            assert len(out.read_text(encoding="utf-8").splitlines()) == 40_000
        else:
            assert len(json.loads(out.read_text(encoding="utf-8"))["members"]) == 40_000
    else:
        assert stderr.decode().strip() == ("ceruleng: a worker process was killed by signal 9; the run stopped and "
                                           "its output is incomplete")
        assert not out.exists()
    assert not temporary()
    assert not list(spooled.iterdir())  # the killed worker's block, if it left one, went with the folder
    _wait_for(lambda: not _processes_reading(batch.name), timeout=10)


def test_a_temporary_folder_without_room_for_the_workers_results_stops_the_run_in_one_line(tmp_path: Path) -> None:
    """Workers leave their rendered blocks in a temporary folder; when it has no room (here: files may hold 4 kB),
    the run stops with exit 2 and one line naming the folder and the remedy, and the folder goes."""
    batch = _batch(tmp_path, 400)
    spooled = tmp_path / "tmp"
    spooled.mkdir()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", str(RULES), "--format", "jsonl",
                           "--as-of", "2025-06-01", "--jobs", "2", str(batch)], cwd=ROOT, capture_output=True,
                          check=False, preexec_fn=small_files,
                          env={**os.environ, "TMPDIR": str(spooled), "CERULENG_NO_CACHE": "1"})
    assert done.returncode == 2, done.stderr
    message = done.stderr.decode().strip()
    assert re.fullmatch(rf"ceruleng: cannot hold results in the temporary folder {re.escape(str(spooled))}/"
                        r"ceruleng-blocks-\w+: File too large \(TMPDIR chooses another\)", message), message
    assert not list(spooled.iterdir())


def test_no_temporary_folder_for_the_workers_results_is_one_line_before_any_worker_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _batch(tmp_path, 3)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    code, stdout, stderr = _cli(["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "jsonl",
                                 "--jobs", "2", str(batch)])
    assert (code, stdout) == (2, b"")
    assert stderr.strip() == ("ceruleng: cannot make a temporary folder for the workers' results: No such file or "
                              "directory (TMPDIR chooses another)")


def test_jobs_far_above_the_cores_is_capped_with_a_note(tmp_path: Path) -> None:
    batch = _batch(tmp_path, 3)
    code, stdout, stderr = _cli(["eval", "--rules", str(RULES), "--as-of", "2025-06-01", "--format", "jsonl",
                                 "--jobs", "100000", str(batch)])
    cores = os.cpu_count() or 1
    assert code == 0 and len(stdout.splitlines()) == 3
    assert f"ceruleng: --jobs 100000 is more than 4 per core; using {4 * cores}" in stderr


# ---- the check cache cannot be talked into anything ----------------------------------------------------------------

BROKEN = (ROOT / "tests" / "check_cases" / "expr-unknown-name.yaml").read_text(encoding="utf-8")


def _entry(cache: Path) -> Path:
    [entry] = cache.glob("*.json")
    return entry


def _codes(spec: Path) -> list[str]:
    [report] = check_paths([str(spec)])
    return [d.code for d in report.diagnostics]


def _forge_clean(entry: Path, sign: bool) -> None:
    """Rewrite a cached entry to say the spec is clean; with `sign`, sign it with the user's own secret (what only
    the user can do), proving that the forgery would be believed if it were signed."""
    from ceruleng import checkcache

    data = json.loads(entry.read_text(encoding="utf-8"))
    data["diagnostics"] = []
    data.pop("mac")
    secret = (entry.parent / "secret").read_bytes()
    data["mac"] = checkcache._mac(secret, data) if sign else "0" * 64
    entry.write_text(json.dumps(data), encoding="utf-8")


def test_a_forged_clean_entry_cannot_make_a_broken_spec_clean(tmp_path: Path, cache: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN, encoding="utf-8")
    assert _codes(spec) == ["expr-unknown-name"]
    _forge_clean(_entry(cache), sign=False)
    assert _codes(spec) == ["expr-unknown-name"]  # the MAC does not match: a miss, checked afresh
    _forge_clean(_entry(cache), sign=True)
    assert _codes(spec) == []  # the forge itself works ...
    cache.chmod(0o777)
    assert _codes(spec) == ["expr-unknown-name"]  # ... but a folder others can write is not used at all
    cache.chmod(0o700)
    (cache / "secret").write_bytes(b"x" * 32)  # another secret: every entry signed with the old one is a miss
    assert _codes(spec) == ["expr-unknown-name"]


@pytest.mark.parametrize("garbage", [
    b"", b"not json", b"[]", b"{}", b"null", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe",
    json.dumps({"format": 2, "key": "k", "dependencies": [], "diagnostics": {}, "mac": 1}).encode(),
], ids=["empty", "text", "list", "object", "null", "deep", "not UTF-8", "wrong shape"])
def test_a_malformed_entry_is_a_miss(tmp_path: Path, cache: Path, garbage: bytes) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN, encoding="utf-8")
    assert _codes(spec) == ["expr-unknown-name"]
    _entry(cache).write_bytes(garbage)
    assert _codes(spec) == ["expr-unknown-name"]


def test_an_entry_naming_a_device_is_never_read(tmp_path: Path, cache: Path) -> None:
    """A signed entry whose dependency is /dev/zero (or a FIFO): the dependency rule refuses it, so `check` neither
    hangs reading it nor trusts the entry."""
    from ceruleng import checkcache

    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN, encoding="utf-8")
    assert _codes(spec) == ["expr-unknown-name"]
    entry = _entry(cache)
    os.mkfifo(tmp_path / "fifo")
    data = json.loads(entry.read_text(encoding="utf-8"))
    data.pop("mac")
    data["diagnostics"] = []
    data["dependencies"] = {"/dev/zero": "0" * 64, "fifo": "0" * 64, "../../../etc/passwd": "0" * 64}
    data["mac"] = checkcache._mac((cache / "secret").read_bytes(), data)
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert _codes(spec) == ["expr-unknown-name"]


def test_a_symlinked_entry_or_secret_is_not_followed(tmp_path: Path, cache: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN, encoding="utf-8")
    assert _codes(spec) == ["expr-unknown-name"]
    entry = _entry(cache)
    elsewhere = tmp_path / "elsewhere.json"
    _forge_clean(entry, sign=True)
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert _codes(spec) == ["expr-unknown-name"]
