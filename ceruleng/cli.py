"""The command line: a thin shell over the engine and reporters. No policy logic lives here.

Exit codes (README): 0 success; 1 problems in the input (spec errors for `check`, malformed records for `eval`,
failing examples for `test`); 2 usage or I/O errors; 3 an internal error (a bug: please report it; `--debug` shows
the traceback); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP). Each command imports
what it needs only when it runs, so `ceruleng --help` and `ceruleng check` start fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from ceruleng import __version__

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143

JOBS_PER_CORE = 4
"""`--jobs` above this many processes per core is capped: more cannot go faster, and each holds the specs."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal or ssh session), raised in the main thread like Ctrl-C so every `finally`
    runs (no temporary file or folder left behind, worker processes stopped); the command line exits 128 + the
    signal's number, as a shell reports it (143 for SIGTERM, 129 for SIGHUP)."""

    def __init__(self, signum: int = EXIT_TERMINATED - 128) -> None:
        super().__init__(signum)
        self.signum = signum


_unwinding: list[int] = []
"""The signal being unwound from, once one arrived (see `_terminate_like_interrupt`)."""


def _raise_terminated(signum: int, _frame: Any) -> None:
    if _unwinding:  # a second signal must not cut the unwinding short (systemd can send SIGTERM and SIGHUP at once)
        return
    _unwinding.append(signum)
    raise Terminated(signum)


@contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """While a command writes output, SIGTERM and SIGHUP unwind like Ctrl-C (the default would kill the process on
    the spot, leaving `-o`'s temporary file and the workers' folder behind). A no-op off the main thread, where
    signals cannot be handled."""
    import signal

    handled = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    try:  # a signal ignored stays ignored: `nohup ceruleng eval ...` must outlive its terminal
        previous = {signum: signal.signal(signum, _raise_terminated) for signum in handled
                    if signal.getsignal(signum) is not signal.SIG_IGN}
    except ValueError:
        yield
        return
    _unwinding.clear()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    with contextlib.suppress(OSError):  # stderr is gone (the terminal hung up): the exit code still says what happened
        click.echo(f"ceruleng: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns every failure into one line on stderr and a documented exit code (tracebacks only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        from ceruleng.errors import CerulengError

        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, while it can still be reported
            return result
        except CerulengError as exc:
            _fail(str(exc))
        except Terminated as exc:
            if 128 + exc.signum == EXIT_TERMINATED:
                _fail("terminated", EXIT_TERMINATED)
            _fail("hung up", 128 + exc.signum)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)
        except OSError as exc:
            _io_failure(exc)
        except (click.exceptions.Exit, SystemExit):
            _flush_or_fail()
            raise
        except (click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback, and please "
                  "report it)", EXIT_INTERNAL)


def _flush_or_fail() -> None:
    """Flush what a command printed before it exited; a failed write is an I/O error (exit 2), not a shutdown
    traceback."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        _io_failure(exc)


class _NamedPath(click.Path):
    """A path that must be named: an empty argument (an unset shell variable, `ceruleng fmt "$SPEC"`) would be read
    as the current folder, so `fmt` would rewrite every spec in it and `eval --rules` load whatever lies there."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail("an empty name is not a file or folder (is a shell variable unset?)", param, ctx)
        return super().convert(value, param, ctx)


def _io_failure(exc: OSError) -> NoReturn:
    """One line for an I/O failure that reached the command line: a reader that went away, a full disk, a device."""
    _quiet_stdout()
    if isinstance(exc, BrokenPipeError):
        _fail("output closed before the run finished (broken pipe)")
    where = f" ({exc.filename})" if exc.filename else ""
    _fail(f"input/output error{where}: {exc.strerror or exc}")


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="ceruleng", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """ceruleng: continuing-education policies as checked YAML specs, and exact scoring of activity logs.

    \b
    Typical use:
      ceruleng check rules/                          check every spec
      ceruleng test rules/                           run the worked examples inside the specs
      ceruleng eval --rules rules/ member.yaml       score a member's activity log
      ceruleng schema spec                           print the spec JSON Schema (for editors)
      ceruleng init my-body                          start a spec for a new body
      ceruleng fmt rules/                            rewrite specs in their canonical layout
      ceruleng diff old/ rules/ --members log.jsonl  what a change does to members
    """
    ctx.obj = {"debug": debug}


# ---- check -------------------------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=_NamedPath())
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True,
              help="Diagnostics for people; JSON for tools; GitHub Actions annotations; SARIF 2.1.0 for code "
                   "scanning.")
@click.option("--max-errors", type=click.IntRange(min=1), default=None, help="Show at most this many errors.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="Exit 1 on errors only, or on warnings too.")
@click.option("--coverage", is_flag=True,
              help="Also print, per spec, each source citation, the keys that encode it and the examples that "
                   "pin it, flagging rules no example exercises.")
@click.option("--no-cache", is_flag=True, help="Check every file again, ignoring the cache of earlier checks.")
@click.option("--show-python", is_flag=True,
              help="Print the Python each spec compiles to, each part headed by the spec line it comes from.")
def check(paths: tuple[str, ...], output_format: str, max_errors: int | None, fail_on: str, coverage: bool,
          no_cache: bool, show_python: bool) -> None:
    """Check spec files (or folders of them; default rules/) like a compiler: every problem, with its position.

    In folders, only files that look like specs (a top-level `ceruleng:` key) are checked; the others are named
    as skipped. Exit 0 when there are no errors (warnings allowed, unless --fail-on warning), 1 when there are
    errors, 2 for usage or I/O errors. Results for unchanged files come from a cache (see README); --no-cache
    checks everything again.
    """
    from ceruleng.checkcache import check_paths
    from ceruleng.files import scan_spec_files
    from ceruleng.report.annotations import render_github, render_sarif
    from ceruleng.report.diagnostics import render_json, render_text

    if coverage and output_format != "text":
        raise click.UsageError("--coverage prints a Markdown report on standard output: use it with --format text")
    files, skipped = scan_spec_files(paths or ("rules",))
    if not files:
        count = len(skipped)
        also = f" ({count} YAML file{'s' if count != 1 else ''} skipped: not a spec)" if count else ""
        _fail(f"no spec files (.yaml, .yml) found in {', '.join(paths or ('rules',))}{also}")
    if show_python:
        _show_python(files)
    reports = check_paths(files, use_cache=not no_cache)
    render = {"json": render_json, "github": render_github, "sarif": render_sarif}.get(output_format, render_text)
    # With --coverage, stdout is the Markdown report alone (docs/coverage.md is written from it); text diagnostics
    # and the summary line go to stderr.
    click.echo(render(reports, max_errors, skipped), nl=False, err=coverage and output_format == "text")
    if any(d.code == "io-error" for report in reports for d in report.diagnostics):
        sys.exit(EXIT_USAGE)
    failed = any(d.is_error or fail_on == "warning" for report in reports for d in report.diagnostics)
    if coverage and not failed:
        from ceruleng.coverage import coverage_report
        from ceruleng.engine import load_specs

        click.echo(coverage_report(load_specs(files).values()), nl=False)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


def _show_python(files: list[str]) -> NoReturn:
    """`check --show-python`: the generated module of each clean spec on stdout; diagnostics on stderr."""
    from ceruleng.engine import check_file
    from ceruleng.report.diagnostics import FileDiagnostics, render_text

    failed = False
    for path in files:
        checked = check_file(path)
        if checked.spec is None or checked.spec.program is None:
            failed = True
            click.echo(render_text([FileDiagnostics(path, checked.source, checked.diagnostics)]), err=True, nl=False)
            continue
        click.echo(f"# ---- {path}: the Python this spec compiles to (ceruleng {__version__})")
        click.echo(checked.spec.program.annotated())
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


# ---- eval --------------------------------------------------------------------------------------------------------


def _specs_or_exit(rules: tuple[str, ...], cached: bool = False) -> Any:
    """Load specs for eval/test; spec errors are printed like `check` prints them, then exit 2. `cached`: through
    the compiled-spec cache (eval), unless --no-cache or CERULENG_NO_CACHE turns it off."""
    from ceruleng.errors import SpecError

    try:
        if cached:
            from ceruleng.speccache import load_specs as load_cached

            return load_cached(rules)
        from ceruleng.engine import load_specs

        return load_specs(rules)
    except SpecError as exc:
        from ceruleng.report.diagnostics import render_text, spec_error_files

        click.echo(render_text(spec_error_files(exc), 20), err=True, nl=False)
        _fail("the specs have errors; fix them first (ceruleng check shows them all)")


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a file written atomically: nothing half-written is left behind on failure or Ctrl-C."""
    if path is None or path == "-":
        reconfigure = getattr(sys.stdout, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")  # text that cannot be encoded is escaped, never a crash
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise _input_error(f"{path}: is a folder; give a file name for -o")
    if target.exists() and not target.is_file():  # a device or a pipe (/dev/null): write straight to it
        try:
            with target.open("w", encoding="utf-8", errors="backslashreplace", newline="") as stream:
                yield stream
        except OSError as exc:
            raise _input_error(f"{path}: cannot write: {exc.strerror or exc}") from None
        return
    from ceruleng.outputs import replaced_file

    with replaced_file(target) as stream:
        yield stream


def _input_error(message: str) -> Exception:
    from ceruleng.errors import InputError

    return InputError(message)


def _parse_period(value: str) -> Any:
    """--period: a word, or a date (YYYY-MM-DD)."""
    from ceruleng.scoring.periods import PERIOD_CHOICES
    from ceruleng.values import parse_iso_date

    if value in PERIOD_CHOICES:
        return value
    try:
        return parse_iso_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(PERIOD_CHOICES)} nor a date written "
                                 "YYYY-MM-DD", param_hint="--period") from None


def _parse_day(value: str | None) -> Any:
    from datetime import date

    from ceruleng.values import parse_iso_date

    if value is None:
        return date.today()
    try:
        return parse_iso_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None


class _Progress:
    """Progress of a batch on stderr: members done (of how many, when the input size is known), the percentage and
    the rate. Shown only when stderr is a terminal and the report does not go to that same terminal (there the
    report itself shows progress, and a progress line would run into it); the line clears itself at the end, and a
    closing line says what was scored."""

    def __init__(self, enabled: bool, total: int | None = None) -> None:
        self.enabled = enabled
        self.total = total
        self.members = 0
        self.activities = 0
        self.started = self.last = time.monotonic()
        self.shown = False

    def tick(self, members: int, activities: int) -> None:
        self.members += members
        self.activities += activities
        now = time.monotonic()
        if self.enabled and now - self.last > 0.5:
            self.last = now
            self.shown = True
            sys.stderr.write(f"\r\x1b[K{self.line(now)}")
            sys.stderr.flush()

    def line(self, now: float) -> str:
        rate = self.members / max(now - self.started, 1e-9)  # a display rate, never a credit
        done = f"{self.members:,}"
        if self.total:
            done += f" of {self.total:,} members ({min(100, self.members * 100 // self.total)}%)"
        else:
            done += " members"
        return f"ceruleng: {done} · {rate:,.0f} members/s · {self.activities:,} activities"

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """A run ending early clears its progress line, so the line saying why starts on a clean one."""
        if kind is not None and self.shown:
            with contextlib.suppress(OSError):  # the terminal hung up
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            seconds = time.monotonic() - self.started
            sys.stderr.write(f"\r\x1b[Kceruleng: scored {self.members:,} members, {self.activities:,} activities "
                             f"in {seconds:.1f} s\n")


def _same_terminal(stream: Any) -> bool:
    """Whether `stream` is the terminal stderr shows on (then progress would mix into the report)."""
    try:
        if not stream.isatty():
            return False
        mine, errors = os.fstat(stream.fileno()), os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (mine.st_rdev, mine.st_dev, mine.st_ino) == (errors.st_rdev, errors.st_dev, errors.st_ino)


def _batch_size(paths: tuple[str, ...], input_format: str | None) -> int | None:
    """How many members the inputs hold, when that is cheap to know: JSON Lines files (one member a line, counted
    at C speed); None for standard input and CSV."""
    from ceruleng.inputs import detect_format

    total = 0
    for path in paths:
        if path == "-" or detect_format(path, input_format) != "jsonl":
            return None
        try:
            with open(path, "rb") as handle:
                ending = b"\n"
                while block := handle.read(1 << 20):
                    total += block.count(b"\n")
                    ending = block[-1:]
                total += ending != b"\n"
        except OSError:
            return None
    return total


def _color(choice: str, stream: Any) -> bool:
    """--color: always, never, or auto (a terminal, unless NO_COLOR is set or TERM is dumb)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _folder_output(writer: Any, output: str | None, output_format: str) -> bool:
    """Whether this run writes a folder (HTML pages, Parquet tables) rather than one stream."""
    if writer.output == "folder":
        if output is None or output == "-":
            raise _input_error(f"--format {output_format} writes a folder of files; name it with -o FOLDER")
        return True
    return writer.output == "file-or-folder" and output not in (None, "-") and \
        not str(output).lower().endswith((".html", ".htm"))


@main.command(name="eval")
@click.option("--rules", "rules", multiple=True, required=True, type=_NamedPath(),
              help="Spec file or folder of specs (repeatable).")
@click.argument("activities", nargs=-1, required=True, type=_NamedPath(allow_dash=True))
@click.option("--format", "output_format",
              type=click.Choice(["table", "json", "csv", "jsonl", "html", "parquet"]), default="table",
              show_default=True,
              help="table for people; json, jsonl or csv for machines; html (a report page; -o FOLDER: a page per "
                   "member and an index; extra 'html'); parquet (-o FOLDER of tables; extra 'parquet').")
@click.option("--explain", is_flag=True, help="Include the trace of every rule applied, with its spec file:line.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Score the cycle containing this day. [default: today]")
@click.option("-o", "--output", metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout; a FOLDER for parquet, and for html "
                   "unless the name ends in .html.")
@click.option("--input-format", type=click.Choice(["yaml", "json", "jsonl", "csv"]), default=None,
              help="Format of the activity files. [default: from the file name; stdin: jsonl or yaml]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for reproducible audit selection.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Score JSON Lines batches on N processes (0: all cores; at most 4 per core); output stays in "
                   "input order.")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour the table: auto = on a terminal unless NO_COLOR is set.")
@click.option("--period", "period", default="due", show_default=True, metavar="due|previous|current|next|DATE",
              help="Which period to report: the one due as of --as-of (still open, or ended but in its grace or "
                   "before its deadline), the one before, containing or after --as-of, or the one containing DATE.")
@click.option("--reasons", "reasons", type=click.Choice(["text", "codes", "none"]), default="text",
              show_default=True,
              help="What --format json and jsonl write as each activity's reasons: the sentences, their codes "
                   "(stable names to store and group by), or none (an empty list: smaller output for a batch that "
                   "stores totals and statuses).")
@click.option("--categories", "categories", type=click.Choice(["used", "all"]), default="used", show_default=True,
              help="Which categories --format json and jsonl list per credential: those that earned something, "
                   "have a cap or took an activity, or every category of the spec.")
@click.option("--no-cache", is_flag=True, help="Compile every spec again, ignoring the cache of compiled specs.")
@click.pass_context
def eval_command(ctx: click.Context, rules: tuple[str, ...], activities: tuple[str, ...], output_format: str,
                 explain: bool, as_of: str | None, output: str | None, input_format: str | None, seed: int,
                 jobs: int, color: str, period: str, reasons: str, categories: str,
                 no_cache: bool) -> None:
    """Score activity files (.yaml, .json, .csv, .jsonl, or - for stdin) against the specs in --rules.

    Exit 0 when every record was scored, 1 when some input was rejected as malformed (the rest is still scored
    and reported), 2 for usage or I/O errors. Compiled specs come from a cache when the spec files, the files they
    read and ceruleng are unchanged (see README); --no-cache compiles them again.
    """
    from ceruleng.batch import score_inputs
    from ceruleng.inputs import require_input
    from ceruleng.report.writers import REASONS_FORMATS, ReportOptions, writer_class
    from ceruleng.speccache import spec_facts

    if reasons != "text" and output_format not in REASONS_FORMATS:
        columns = "; CSV and Parquet carry the codes in a column of their own" if reasons == "codes" else ""
        raise click.UsageError(f"--reasons {reasons} applies to --format {' and '.join(REASONS_FORMATS)}, "
                               f"not {output_format} (read by people, who need the sentences{columns})")
    if categories != "used" and output_format not in REASONS_FORMATS:
        raise click.UsageError(f"--categories {categories} applies to --format {' and '.join(REASONS_FORMATS)}, "
                               f"not {output_format} (which lists every category)")
    day = _parse_day(as_of)
    choice = _parse_period(period)
    jobs = _capped_jobs(jobs)
    writer_type = writer_class(output_format)
    folder = _folder_output(writer_type, output, output_format)
    specs = _specs_or_exit(rules, cached=not no_cache)
    for path in activities:  # refuse a missing input before any output starts, so nothing half-written shows
        require_input(path)
    to_terminal = output in (None, "-") and _same_terminal(sys.stdout)
    enabled = sys.stderr.isatty() and not to_terminal
    progress = _Progress(enabled, _batch_size(activities, input_format) if enabled else None)
    options = ReportOptions(explain, _color(color, sys.stdout) if output in (None, "-") else color == "always",
                            spec_facts(specs), reasons, categories)
    contain = not (ctx.obj and ctx.obj.get("debug"))
    if folder:
        from ceruleng.report.folders import output_folder

        assert output is not None
        with _terminate_like_interrupt(), progress, output_folder(output, f"ceruleng {__version__} --format "
                                                                          f"{output_format}") as target:
            writer = writer_type(target, day, __version__, options)  # type: ignore[arg-type]
            malformed = score_inputs(specs, rules, activities, input_format, day, explain, seed, jobs, writer,
                                     progress, contain=contain, period=choice)
            writer.close()
    else:
        with _terminate_like_interrupt(), progress, _output(output) as stream:
            writer = writer_type(stream, day, __version__, options)
            malformed = score_inputs(specs, rules, activities, input_format, day, explain, seed, jobs, writer,
                                     progress, contain=contain, period=choice)
            writer.close()
    progress.done()
    if writer.summary.internal:
        _fail(f"{writer.summary.internal} member{'s' if writer.summary.internal != 1 else ''} hit an internal error "
              "(a bug in ceruleng: each result says where; please report it); every other member was scored",
              EXIT_INTERNAL)
    sys.exit(EXIT_PROBLEMS if malformed else EXIT_OK)


def _capped_jobs(jobs: int) -> int:
    """--jobs, at most JOBS_PER_CORE per core (0: one per core), saying so on stderr when it is capped."""
    cores = os.cpu_count() or 1
    limit = JOBS_PER_CORE * cores
    if jobs > limit:
        click.echo(f"ceruleng: --jobs {jobs} is more than {JOBS_PER_CORE} per core; using {limit} "
                   f"({cores} core{'s' if cores != 1 else ''})", err=True)
        return limit
    return jobs


# ---- serve -------------------------------------------------------------------------------------------------------


@main.command()
@click.option("--rules", "rules", multiple=True, required=True, type=_NamedPath(),
              help="Spec file or folder of specs (repeatable); compiled at start-up, again on SIGHUP.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--max-body", "max_body", default="10M", show_default=True, metavar="SIZE",
              help="Largest request body accepted (bytes, or 512k, 10M); larger ones get 413 before they are read.")
@click.option("--no-access-log", is_flag=True, help="Do not log each request.")
def serve(rules: tuple[str, ...], host: str, port: int, max_body: str, no_access_log: bool) -> None:
    """Serve scoring and checking over HTTP (needs the 'server' extra).

    \b
    POST /v1/evaluate   member document or JSON Lines → what `eval` prints
                        (query: as_of, explain, format, input_format, seed)
    POST /v1/check      a spec's YAML → what `check --format json` prints (query: name)
    GET  /v1/specs      loaded specs: ids, titles, versions
    GET  /healthz       liveness and the generation of the loaded specs
    GET  /openapi.json  the API, with the published JSON Schemas

    Specs are compiled at start-up (a broken spec stops it, exit 2) and reloaded on SIGHUP without dropping
    requests; a failed reload keeps the specs already loaded. Nothing is written to disk.
    """
    from ceruleng.server.registry import SpecsBroken
    from ceruleng.server.run import parse_size
    from ceruleng.server.run import serve as run

    limit = parse_size(max_body)
    try:
        run(rules, host, port, limit, access_log=not no_access_log)
    except SpecsBroken as exc:
        click.echo(str(exc), err=True)
        _fail("the specs have errors; fix them first (ceruleng check shows them all)")


# ---- test --------------------------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=_NamedPath())
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="One line per failure; JSON for tools; JUnit XML for CI systems.")
@click.option("-k", "patterns", multiple=True, metavar="PATTERN",
              help="Run only examples whose name (or SPEC::NAME) contains PATTERN, ignoring case (repeatable).")
def test(paths: tuple[str, ...], output_format: str, patterns: tuple[str, ...]) -> None:
    """Run the worked examples embedded in specs (default rules/). Ends with 'N passed, N failed'.

    Exit 0 when all pass, 1 when any fails, 2 for usage or I/O errors, a spec with errors, or a -k that selects
    no example.
    """
    from ceruleng.testing import json_report, junit_xml, printable, select

    specs = _specs_or_exit(paths or ("rules",))
    runs, left_out = select(specs, patterns)
    if patterns and not runs:
        _fail(f"no example matches -k {' -k '.join(repr(p) for p in patterns)} ({left_out} examples in the specs)")
    if output_format == "junit":
        click.echo(junit_xml(runs), nl=False)
    elif output_format == "json":
        click.echo(json_report(runs, left_out, __version__), nl=False)
    else:
        for run in runs:
            for failure in run.failures:
                click.echo(printable(f"{failure.span}: FAIL {run.example.name!r}: {failure.message}"))
    failed = sum(1 for run in runs if not run.passed)
    if patterns:
        click.echo(f"selected {len(runs)} of {len(runs) + left_out} examples with -k", err=output_format != "text")
    click.echo(f"{len(runs) - failed} passed, {failed} failed", err=output_format != "text")
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


# ---- diff --------------------------------------------------------------------------------------------------------


@main.command(name="diff")
@click.argument("old", type=_NamedPath())
@click.argument("new", type=_NamedPath())
@click.option("--members", multiple=True, type=_NamedPath(allow_dash=True), metavar="FILE",
              help="Member activity files to score under both (repeatable; .yaml, .json, .csv, .jsonl or -).")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "html"]), default="table",
              show_default=True, help="table for people, json for tools, html for a page to share.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Score the cycle containing this day. [default: today]")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--input-format", type=click.Choice(["yaml", "json", "jsonl", "csv"]), default=None,
              help="Format of the member files. [default: from the file name; stdin: jsonl or yaml]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for reproducible audit selection.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Score JSON Lines memberships on N processes (0: all cores); output stays in input order.")
def diff_command(old: str, new: str, members: tuple[str, ...], output_format: str, as_of: str | None,
                 output: str | None, input_format: str | None, seed: int, jobs: int) -> None:
    """What changes from the specs OLD to the specs NEW (files or folders): the rules added, removed, changed or
    moved; with --members, every member scored under both and what changes for them.

    Exit 0 when nothing changes (without --members: the specs mean the same; with --members: no member's result
    changes), 1 when something does, 2 for usage or I/O errors or specs with errors.
    """
    from ceruleng.diffing.specdiff import diff_specs
    from ceruleng.inputs import require_input
    from ceruleng.report.diff import DIFF_WRITERS, require_html

    day = _parse_day(as_of)
    before, after = _specs_or_exit((old,)), _specs_or_exit((new,))
    if output_format == "html":
        require_html()
    for path in members:
        require_input(path)
    spec_diff = diff_specs({k: v.model for k, v in before.items()}, {k: v.model for k, v in after.items()})
    with _terminate_like_interrupt(), _output(output) as stream:
        writer = DIFF_WRITERS[output_format](stream, day if members else None, __version__, [old], [new])
        writer.start(spec_diff, bool(members))
        summary = None
        if members:
            from ceruleng.diffing.run import diff_members

            summary = diff_members(before, after, spec_diff, ((old,), (new,)), members, input_format, day, seed,
                                   jobs, writer)
        writer.close(summary)
    changed = summary.members_changed if summary is not None else len(spec_diff.changes)
    sys.exit(EXIT_PROBLEMS if changed else EXIT_OK)


# ---- fmt ---------------------------------------------------------------------------------------------------------


@main.command(name="fmt")
@click.argument("paths", nargs=-1, type=_NamedPath())
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if a file is not formatted.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print what would change, exit 1 if anything.")
def fmt_command(paths: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite specs (files, or folders of them; default rules/) in their canonical layout, keeping every comment.

    Exit 0 done, 1 with --check/--diff when a file would change, 2 when a file cannot be formatted safely (it is
    left as it is) or read. Files that are not specs are skipped and named.
    """
    try:
        import ruamel.yaml  # noqa: F401 - only to say clearly what is missing
    except ImportError:
        _fail("fmt needs ruamel.yaml: pip install 'ceruleng[fmt]'")
    from ceruleng.fmt.command import run_fmt

    sys.exit(run_fmt(paths or ("rules",), check_only, show_diff, lambda text, err: click.echo(text, err=err)))


# ---- schema ------------------------------------------------------------------------------------------------------


@main.command()
@click.argument("name", type=click.Choice(["spec", "activities", "result"]))
@click.option("-o", "--output", metavar="FILE",
              help="Write the schema to FILE (atomically), e.g. for a rules repository's $schema modeline.")
def schema(name: str, output: str | None) -> None:
    """Print a published JSON Schema: spec (for editors), activities (input), result (JSON output)."""
    from ceruleng.schema import schema_text

    with _output(output) as stream:
        stream.write(schema_text(name))


# ---- init --------------------------------------------------------------------------------------------------------


@main.command()
@click.argument("body_id", metavar="BODY-ID")
@click.option("--dir", "folder", default="rules", show_default=True, type=_NamedPath(file_okay=False),
              help="Folder to write the spec in (created if missing).")
@click.option("--schema", "schema_reference", metavar="URL|PATH", default=None,
              help="What the spec's $schema modeline points at: the published schema's URL [default], or a path "
                   "relative to the spec (see `ceruleng schema spec -o`).")
def init(body_id: str, folder: str, schema_reference: str | None) -> None:
    """Start a spec for a new body: FOLDER/BODY-ID.yaml, the policy text it cites (FOLDER/sources/BODY-ID.txt)
    and one worked example; `ceruleng check` and `ceruleng test` pass on it as written. Never overwrites a file.
    """
    from ceruleng.scaffold import STABLE_SCHEMA_URL, check_identifier, check_schema_reference, scaffold

    problem = check_identifier(body_id) or check_schema_reference(schema_reference or STABLE_SCHEMA_URL)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="BODY-ID" if check_identifier(body_id) else "--schema")
    written = scaffold(body_id, folder, schema_reference or STABLE_SCHEMA_URL)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: ceruleng check {written[0]} && ceruleng test {written[0]}")



# ---- lsp ---------------------------------------------------------------------------------------------------------


@main.command()
def lsp() -> None:
    """Serve spec files to an editor: a Language Server Protocol server on stdin/stdout.

    Editors start it themselves; configure the command `ceruleng lsp` for YAML spec files (rules/*.yaml). It
    reports what `ceruleng check` reports as you type, with quick fixes for "did you mean"; completes names,
    functions, keys and values; shows hover help; goes to definitions; and outlines categories, parameters and
    tables. Needs the lsp extra: pip install 'ceruleng[lsp]'. Setup for VS Code and Neovim: docs/editors.md.
    """
    try:
        from ceruleng.lsp.server import run
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        _fail(f"the language server needs the lsp extra ({exc.name} is missing): pip install 'ceruleng[lsp]'")
    sys.exit(run())

if __name__ == "__main__":  # pragma: no cover
    main()
