"""The command line: a thin shell over the engine and reporters. No policy logic lives here.

Exit codes (DESIGN.md): 0 success; 1 problems in the input (spec errors for `check`, malformed records for `eval`,
failing examples for `test`); 2 usage or I/O errors; 3 an internal error (a bug: please report it; `--debug` shows
the traceback); 130 interrupted. Each command imports what it needs only when it runs, so `ceruleng --help` and
`ceruleng check` start fast.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from ceruleng import __version__

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
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
@click.argument("paths", nargs=-1, type=click.Path())
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
def check(paths: tuple[str, ...], output_format: str, max_errors: int | None, fail_on: str, coverage: bool,
          no_cache: bool) -> None:
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


# ---- eval --------------------------------------------------------------------------------------------------------


def _specs_or_exit(rules: tuple[str, ...]) -> Any:
    """Load specs for eval/test; spec errors are printed like `check` prints them, then exit 2."""
    from ceruleng.engine import check_file
    from ceruleng.files import spec_files
    from ceruleng.report.diagnostics import FileDiagnostics, render_text

    checked = [check_file(path) for path in spec_files(rules)]
    if not checked:
        _fail(f"no spec files (.yaml, .yml) found in {', '.join(rules)}")
    broken = [c for c in checked if c.errors]
    if broken:
        click.echo(render_text([FileDiagnostics(c.path, c.source, c.diagnostics) for c in broken], 20), err=True,
                   nl=False)
        _fail("the specs have errors; fix them first (ceruleng check shows them all)")
    specs: dict[str, Any] = {}
    for item in checked:
        assert item.spec is not None
        if item.spec.id in specs:
            _fail(f"{item.path}: spec id '{item.spec.id}' is also used by {specs[item.spec.id].model.path}")
        specs[item.spec.id] = item.spec
    return specs


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a file written atomically: nothing half-written is left behind on failure or Ctrl-C."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise _input_error(f"{path}: is a folder; give a file name for -o")
    if target.exists() and not target.is_file():  # a device or a pipe (/dev/null): write straight to it
        try:
            with target.open("w", encoding="utf-8", newline="") as stream:
                yield stream
        except OSError as exc:
            raise _input_error(f"{path}: cannot write: {exc.strerror or exc}") from None
        return
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed and renamed below
            "w", encoding="utf-8", dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.",
            suffix=".tmp", delete=False, newline="")
    except OSError as exc:
        raise _input_error(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with handle:
            yield handle.file  # the file itself: the wrapper would add a lookup to every write
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _input_error(message: str) -> Exception:
    from ceruleng.errors import InputError

    return InputError(message)


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
    """A progress line on stderr, only when stderr is a terminal and the batch has more than one member."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.members = 0
        self.activities = 0
        self.last = time.monotonic()
        self.shown = False

    def tick(self, members: int, activities: int) -> None:
        self.members += members
        self.activities += activities
        if self.enabled and time.monotonic() - self.last > 0.5:
            self.last = time.monotonic()
            self.shown = True
            sys.stderr.write(f"\rceruleng: scored {self.members:,} members, {self.activities:,} activities")
            sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write(f"\rceruleng: scored {self.members:,} members, {self.activities:,} activities\n")


@main.command(name="eval")
@click.option("--rules", "rules", multiple=True, required=True, type=click.Path(),
              help="Spec file or folder of specs (repeatable).")
@click.argument("activities", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv", "jsonl"]), default="table",
              show_default=True, help="table for people; json, jsonl or csv for machines.")
@click.option("--explain", is_flag=True, help="Include the trace of every rule applied, with its spec file:line.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Score the cycle containing this day. [default: today]")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--input-format", type=click.Choice(["yaml", "json", "jsonl", "csv"]), default=None,
              help="Format of the activity files. [default: from the file name; stdin: jsonl or yaml]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for reproducible audit selection.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Score JSON Lines batches on N processes (0: all cores); output stays in input order.")
def eval_command(rules: tuple[str, ...], activities: tuple[str, ...], output_format: str, explain: bool,
                 as_of: str | None, output: str | None, input_format: str | None, seed: int, jobs: int) -> None:
    """Score activity files (.yaml, .json, .csv, .jsonl, or - for stdin) against the specs in --rules.

    Exit 0 when every record was scored, 1 when some input was rejected as malformed (the rest is still scored
    and reported), 2 for usage or I/O errors.
    """
    from ceruleng.batch import score_inputs
    from ceruleng.inputs import require_input
    from ceruleng.report.writers import WRITERS

    day = _parse_day(as_of)
    specs = _specs_or_exit(rules)
    for path in activities:  # refuse a missing input before any output starts, so nothing half-written shows
        require_input(path)
    progress = _Progress()
    with _output(output) as stream:
        writer = WRITERS[output_format](stream, day, __version__)
        malformed = score_inputs(specs, rules, activities, input_format, day, explain, seed, jobs, writer,
                                 progress)
        writer.close()
    progress.done()
    sys.exit(EXIT_PROBLEMS if malformed else EXIT_OK)


# ---- test --------------------------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
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
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.option("--members", multiple=True, type=click.Path(allow_dash=True), metavar="FILE",
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
    with _output(output) as stream:
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
@click.argument("paths", nargs=-1, type=click.Path())
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
@click.option("--dir", "folder", default="rules", show_default=True, type=click.Path(file_okay=False),
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


if __name__ == "__main__":  # pragma: no cover
    main()
