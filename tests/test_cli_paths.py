"""Every way the command line can fail, through a real process (`python -m ceruleng`).

Each failure gives the documented exit code (2 usage or I/O error, 130 interrupted — never 3, an internal error),
one clear line on stderr, no traceback, and no half-written output: an `-o` target is absent or unchanged after a
failure or an interrupt, and no temporary file is left beside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
RULES = str(ROOT / "rules")
EXAMPLE = str(ROOT / "examples" / "pace-member.yaml")
AS_OF = "2025-06-01"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def ceruleng(*arguments: str, cwd: Path = ROOT, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=cwd, capture_output=True,
                          input=stdin, timeout=120, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8", "replace"),
                                       done.stderr.decode("utf-8", "replace"))


def one_line(stderr: str) -> str:
    """The single line a failure prints on stderr (no traceback, no 'Exception ignored' noise)."""
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ceruleng: "), stderr
    return lines[0]


def usage_error(stderr: str) -> str:
    """Click's usage block: a usage line, a hint line, and exactly one 'Error:' line saying what is wrong."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary files the atomic writer might have left behind."""
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSON Lines batch of 5,000 members (about two seconds of scoring)."""
    member = json.loads(json.dumps(yaml.safe_load(Path(EXAMPLE).read_text(encoding="utf-8")), default=str))
    path = tmp_path_factory.mktemp("batch") / "batch.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        for index in range(5000):
            stream.write(json.dumps({**member, "member": f"M{index}"}) + "\n")
    return path


# ---- usage errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "says"), [
    (["--bogus"], "No such option"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["eval", "--bogus", "x.yaml"], "No such option '--bogus'"),
    (["eval", "--rules", "rules"], "Missing argument 'ACTIVITIES...'"),
    (["eval", "x.yaml"], "Missing option '--rules'"),
    (["eval", "--rules", "rules", "--as-of", "2025-13-01", "x.yaml"], "'2025-13-01' is not a real calendar date"),
    (["eval", "--rules", "rules", "--as-of", "yesterday", "x.yaml"], "--as-of"),
    (["eval", "--rules", "rules", "--format", "xml", "x.yaml"], "'xml' is not one of"),
    (["eval", "--rules", "rules", "--jobs", "-1", "x.yaml"], "-1 is not in the range"),
    (["eval", "--rules", "rules", "--seed", "many", "x.yaml"], "'many' is not a valid integer"),
    (["check", "--max-errors", "0"], "0 is not in the range"),
    (["schema", "nope"], "'nope' is not one of"),
    # an empty name (an unset shell variable) is not the current folder: `fmt ""` would rewrite every spec in it
    (["fmt", "--check", ""], "an empty name is not a file or folder"),
    (["check", ""], "an empty name is not a file or folder"),
    (["test", ""], "an empty name is not a file or folder"),
    (["eval", "--rules", "", "x.yaml"], "an empty name is not a file or folder"),
    (["eval", "--rules", "rules", ""], "an empty name is not a file or folder"),
    (["diff", "rules", ""], "an empty name is not a file or folder"),
    (["diff", "rules", "rules", "--members", ""], "an empty name is not a file or folder"),
    (["serve", "--rules", ""], "an empty name is not a file or folder"),
    (["init", "x", "--dir", ""], "an empty name is not a file or folder"),
])  # fmt: skip
def test_usage_errors_exit_2_with_one_error_line(arguments: list[str], says: str) -> None:
    done = ceruleng(*arguments)
    assert done.returncode == 2 and not done.stdout
    assert says in usage_error(done.stderr)


# ---- files that are missing, unreadable, or not files ----------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "says"), [
    (["check", "missing.yaml"], "missing.yaml: no such file or folder"),
    (["test", "missing.yaml"], "missing.yaml: no such file or folder"),
    (["eval", "--rules", "missing", EXAMPLE], "missing: no such file or folder"),
    (["eval", "--rules", RULES, "missing.yaml"], "missing.yaml: no such file"),
    (["eval", "--rules", RULES, "--format", "json", "missing.json"], "missing.json: no such file"),
    (["eval", "--rules", RULES, "missing.txt"], "missing.txt: no such file"),
])  # fmt: skip
def test_missing_files_exit_2_with_one_line(arguments: list[str], says: str, tmp_path: Path) -> None:
    done = ceruleng(*arguments, cwd=tmp_path)
    assert done.returncode == 2
    assert says in one_line(done.stderr)
    assert done.stdout == "", "nothing half-written on stdout"


def test_an_activity_file_of_unknown_format_exits_2(tmp_path: Path) -> None:
    (tmp_path / "member.txt").write_text("member: M-1\n")
    done = ceruleng("eval", "--rules", RULES, "member.txt", cwd=tmp_path)
    assert done.returncode == 2 and "cannot tell the format from the name" in one_line(done.stderr)


def test_a_folder_where_a_file_belongs(tmp_path: Path) -> None:
    (tmp_path / "member.yaml").mkdir()
    (tmp_path / "empty").mkdir()
    done = ceruleng("eval", "--rules", RULES, str(tmp_path / "member.yaml"))
    assert done.returncode == 2 and "is a folder, not an activity file" in one_line(done.stderr)
    done = ceruleng("eval", "--rules", RULES, "--input-format", "jsonl", str(tmp_path / "empty"))
    assert done.returncode == 2 and "is a folder" in one_line(done.stderr)
    done = ceruleng("check", str(tmp_path / "empty"))
    assert done.returncode == 2 and "no spec files (.yaml, .yml) found" in one_line(done.stderr)
    done = ceruleng("eval", "--rules", str(tmp_path / "empty"), EXAMPLE)
    assert done.returncode == 2 and "no spec files (.yaml, .yml) found" in one_line(done.stderr)
    done = ceruleng("eval", "--rules", RULES, "-o", str(tmp_path / "empty"), EXAMPLE)
    assert done.returncode == 2 and "is a folder; give a file name for -o" in one_line(done.stderr)
    assert not list((tmp_path / "empty").iterdir())


def test_rules_that_are_not_a_spec_exit_2(tmp_path: Path) -> None:
    """An activity file given as --rules: the spec errors are shown as check shows them, then one closing line."""
    done = ceruleng("eval", "--rules", EXAMPLE, EXAMPLE, "-o", str(tmp_path / "out.json"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "ceruleng: the specs have errors; fix them first (ceruleng check shows them all)")
    assert "error[schema-" in done.stderr
    assert not (tmp_path / "out.json").exists() and not leftovers(tmp_path)


@pytest.mark.skipif(IS_ROOT, reason="root can read a file whatever its mode")
def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text((ROOT / "rules" / "asap-pace.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    member = tmp_path / "member.yaml"
    member.write_text(Path(EXAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    spec.chmod(0)
    member.chmod(0)
    try:
        done = ceruleng("check", str(spec))
        assert done.returncode == 2 and "error[io-error]" in done.stdout and "permission denied" in done.stdout
        done = ceruleng("eval", "--rules", RULES, str(member))
        assert done.returncode == 2 and "member.yaml: permission denied" in one_line(done.stderr)
        done = ceruleng("eval", "--rules", str(spec), EXAMPLE)
        assert done.returncode == 2
    finally:
        spec.chmod(0o644)
        member.chmod(0o644)


def test_a_spec_that_cannot_be_read_is_an_io_error() -> None:
    """A file that opens but fails on read (EIO), whoever runs the test: check reports io-error, exit 2."""
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux /proc")
    done = ceruleng("check", "/proc/self/mem")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "/proc/self/mem:1:1: error[io-error]: cannot read: Input/output error" in done.stdout


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
def test_an_activity_file_that_cannot_be_read_is_an_io_error(fmt: str) -> None:
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux /proc")
    done = ceruleng("eval", "--rules", RULES, "--input-format", fmt, "/proc/self/mem")
    assert done.returncode == 2
    assert "/proc/self/mem" in one_line(done.stderr)


# ---- output that cannot be written -----------------------------------------------------------------------------------


def test_output_into_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.json"
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-o", str(target), EXAMPLE)
    assert done.returncode == 2
    assert f"{target}: cannot write: No such file or directory" in one_line(done.stderr)
    assert not (tmp_path / "missing").exists() and not done.stdout


def test_output_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    done = ceruleng("eval", "--rules", RULES, "-o", str(tmp_path / "file" / "out.json"), EXAMPLE)
    assert done.returncode == 2 and "cannot write: Not a directory" in one_line(done.stderr)
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


@pytest.mark.skipif(IS_ROOT, reason="root can write into a read-only folder")
def test_output_into_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "out.json").write_text("before", encoding="utf-8")
    folder.chmod(0o555)
    try:
        done = ceruleng("eval", "--rules", RULES, "-o", str(folder / "out.json"), EXAMPLE)
        assert done.returncode == 2 and "cannot write: Permission denied" in one_line(done.stderr)
        assert (folder / "out.json").read_text(encoding="utf-8") == "before" and not leftovers(folder)
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_to_a_full_device() -> None:
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-o", "/dev/full", EXAMPLE)
    assert done.returncode == 2 and "/dev/full: cannot write: No space left on device" in one_line(done.stderr)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("arguments", [
    ["eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", EXAMPLE],
    ["check", RULES],
    ["schema", "result"],
])
def test_stdout_on_a_full_device_is_an_io_error(arguments: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "No space left on device" in one_line(done.stderr)


def test_a_failed_run_leaves_the_output_file_unchanged(tmp_path: Path) -> None:
    """The first input is scored, the second is missing: exit 2, and -o keeps its old content (or stays absent)."""
    target = tmp_path / "out.json"
    arguments = ["eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-o", str(target), EXAMPLE,
                 str(tmp_path / "missing.yaml")]
    done = ceruleng(*arguments)
    assert done.returncode == 2 and "missing.yaml: no such file" in one_line(done.stderr)
    assert not target.exists() and not leftovers(tmp_path)
    target.write_text("before", encoding="utf-8")
    done = ceruleng(*arguments)
    assert done.returncode == 2 and target.read_text(encoding="utf-8") == "before" and not leftovers(tmp_path)
    done = ceruleng(*arguments[:-1])  # and a run that succeeds replaces it whole
    assert done.returncode == 0 and json.loads(target.read_text(encoding="utf-8"))["summary"]["members"] == 1


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_output_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    """As a shell's `>` would make it: 0666 minus the umask (not the 0600 of a temporary file)."""
    target = tmp_path / "out.json"
    done = subprocess.run(["sh", "-c", f'umask {umask:03o} && exec "$0" -m ceruleng "$@"', sys.executable, "eval",
                           "--rules", RULES, "--as-of", AS_OF, "-o", str(target), EXAMPLE],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_replaced_output_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "out.json"
    target.write_text("before", encoding="utf-8")
    target.chmod(mode)
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-o", str(target), EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert target.stat().st_mode & 0o777 == mode and json.loads(target.read_text(encoding="utf-8"))["members"]
    assert not leftovers(tmp_path)


def test_output_through_a_symlink_replaces_the_file_it_points_to(tmp_path: Path) -> None:
    """The link stays a link (as `>` writes through one); the file it names is replaced whole, its mode kept."""
    reports = tmp_path / "reports"
    reports.mkdir()
    real = reports / "latest.json"
    real.write_text("before", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "out.json"
    link.symlink_to(real)
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-o", str(link), EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert json.loads(real.read_text(encoding="utf-8"))["members"] and real.stat().st_mode & 0o777 == 0o640
    assert not leftovers(tmp_path) and not leftovers(reports)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(reports / "new.json")
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-o", str(dangling), EXAMPLE)
    assert done.returncode == 0 and dangling.is_symlink() and (reports / "new.json").is_file()
    loop = tmp_path / "loop.json"
    loop.symlink_to(tmp_path / "loop-back.json")
    (tmp_path / "loop-back.json").symlink_to(loop)
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "-o", str(loop), EXAMPLE)
    assert done.returncode == 2 and "loop.json: cannot write: " in one_line(done.stderr)


def test_a_csv_without_its_columns_leaves_no_output(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("member,id\nM-1,A1\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    done = ceruleng("eval", "--rules", RULES, "--format", "csv", "-o", str(target), str(tmp_path / "bad.csv"))
    assert done.returncode == 2 and "missing columns credentials, type, date" in one_line(done.stderr)
    assert not target.exists() and not leftovers(tmp_path)


# ---- standard input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "says"), [
    (b"", "must be a mapping"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"member: [unclosed\n", "line"),
    (b'{"member": "M-1"}\n{broken\n', "line 2: not valid JSON"),
])  # fmt: skip
def test_hostile_standard_input_is_reported_not_raised(data: bytes, says: str) -> None:
    done = ceruleng("eval", "--rules", RULES, "--as-of", AS_OF, "--format", "json", "-", stdin=data)
    assert done.returncode == 1 and not done.stderr, done.stderr
    errors = [member["error"] or "" for member in json.loads(done.stdout)["members"]]
    assert any(says in error for error in errors), errors


# ---- dates at the edge of the calendar -------------------------------------------------------------------------------


def test_as_of_the_last_day_of_the_calendar() -> None:
    done = ceruleng("eval", "--rules", RULES, "--as-of", "9999-12-31", "--format", "json", EXAMPLE)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr and "internal error" not in done.stderr
    activities = json.loads(done.stdout)["members"][0]["results"][0]["activities"]
    assert len(activities) == 17


def test_as_of_the_first_day_of_the_calendar() -> None:
    done = ceruleng("eval", "--rules", RULES, "--as-of", "0001-01-01", "--format", "json", EXAMPLE)
    assert done.returncode in (0, 1) and not done.stderr
    assert len(json.loads(done.stdout)["members"][0]["results"][0]["activities"]) == 17


# ---- a reader that goes away, and Ctrl-C -----------------------------------------------------------------------------


def _default_sigint() -> None:
    # A test run started in the background by a shell inherits SIGINT ignored, and so would ceruleng; a user at a
    # terminal has it at its default, which is what these tests are about.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(arguments: list[str], stdout: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ceruleng", *arguments], cwd=ROOT, stdout=stdout,
                            stderr=subprocess.PIPE, preexec_fn=_default_sigint)  # noqa: PLW1509 - signals only


def _finish(process: subprocess.Popen[bytes], jobs: str) -> tuple[bytes, str]:
    """stdout and stderr of a run that was told to stop; a run that does not stop in 20 s is killed and reported."""
    try:
        stdout, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the run did not stop within 20 s")
    return stdout or b"", stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_reader_that_closes_early_gets_one_line_and_exit_2(batch: Path, jobs: str) -> None:
    """`ceruleng eval ... --format jsonl | head -1`: a broken pipe is an I/O error, said once."""
    arguments = ["eval", "--rules", RULES, "--as-of", AS_OF, "--format", "jsonl", "--jobs", jobs, str(batch)]
    with _start(arguments) as process:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline())["member"] == "M0"
        process.stdout.close()
        _, stderr = _finish(process, jobs)
    assert process.returncode == 2
    assert one_line(stderr) == "ceruleng: output closed before the run finished (broken pipe)"


def _writing(folder: Path) -> bool:
    """Whether the atomic writer's temporary file exists and has output in it."""
    try:
        return any(path.stat().st_size > 0 for path in folder.glob(".out.jsonl.*.tmp"))
    except FileNotFoundError:
        return False


def _wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("the run never started writing")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_to_stdout_exits_130_with_one_line(batch: Path, jobs: str) -> None:
    arguments = ["eval", "--rules", RULES, "--as-of", AS_OF, "--format", "jsonl", "--jobs", jobs, str(batch)]
    with _start(arguments) as process:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline())["member"] == "M0"  # scoring is under way
        process.send_signal(signal.SIGINT)
        stdout, stderr = _finish(process, jobs)
    assert process.returncode == 130
    assert one_line(stderr) == "ceruleng: interrupted"
    assert len(stdout.splitlines()) < 4999  # it stopped early


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_leaves_the_output_file_unchanged(batch: Path, jobs: str, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("before\n", encoding="utf-8")
    with _start(["eval", "--rules", RULES, "--as-of", AS_OF, "--format", "jsonl", "--jobs", jobs, "-o", str(target),
                 str(batch)], stdout=subprocess.DEVNULL) as process:
        _wait_for(lambda: _writing(tmp_path))
        process.send_signal(signal.SIGINT)
        _, stderr = _finish(process, jobs)
    assert process.returncode == 130
    assert one_line(stderr) == "ceruleng: interrupted"
    assert target.read_text(encoding="utf-8") == "before\n"
    assert not leftovers(tmp_path)
