"""Scoring results as text: a table for people; JSON, JSON Lines and CSV for machines.

Input: `MemberResult`s, one at a time, each with the member document it came from (for activity titles); writers
stream, so memory does not grow with the batch. Output: text on a stream. JSON is one document `{"ceruleng",
"as_of", "members": [...], "summary"}`; JSON Lines is one member result per line; CSV is one row per activity and
credential (a member that could not be read gets one row naming why); the table is for a person, with titles,
plural units, what is still needed, the next step and what carries over. Every input activity appears in every
format, and nothing from a member's file can act on whoever opens the output (see `report.cells`).

`writer_class(name)` finds a writer by format name, importing the optional ones (html, parquet) only when asked.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from functools import partial
from typing import IO, Any, ClassVar

from msgspec import Struct, field

from ceruleng.errors import InputError
from ceruleng.report import ledgerlines, sentences
from ceruleng.report.cells import encodable, pad, shortened, shown, spreadsheet_safe, width
from ceruleng.report.facts import SpecFacts
from ceruleng.report.titles import activity_titles, title_at
from ceruleng.scoring.results import CredentialResult, MemberResult, TraceLine
from ceruleng.units import plural
from ceruleng.values import format_credits


class RunSummary(Struct):
    """Counts over a whole run, for the closing line and the JSON summary."""

    members: int = 0
    activities: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: {"awarded": 0, "capped": 0, "rejected": 0,
                                                              "pending": 0})
    malformed: int = 0
    unreadable: int = 0
    internal: int = 0
    """Members a bug in ceruleng cut short (each reported in its result; the run then exits 3)."""

    def merge(self, other: RunSummary) -> None:
        self.members += other.members
        self.activities += other.activities
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.malformed += other.malformed
        self.unreadable += other.unreadable
        self.internal += other.internal

    def add(self, result: MemberResult) -> None:
        self.members += 1
        self.internal += result.internal_errors > 0
        if result.error is not None and not result.credentials:
            self.unreadable += 1
        for credential in result.credentials:
            for activity in credential.activities:
                self.activities += 1
                self.statuses[activity.status] = self.statuses.get(activity.status, 0) + 1
                self.malformed += activity.malformed

    def to_json(self) -> dict[str, Any]:
        return {"members": self.members, "activity_results": self.activities, **self.statuses,
                "malformed": self.malformed, "unreadable_members": self.unreadable}


class ReportOptions(Struct, frozen=True):
    """How a report is laid out: traces shown, colour on, the facts of the specs, and what the JSON formats write
    as each activity's reasons (`text`, `codes`, or `none`: `[]`) and which categories they list (`used` or
    `all`) (picklable plain data)."""

    explain: bool = False
    color: bool = False
    facts: Mapping[str, SpecFacts] = field(default_factory=dict)
    reasons: str = "text"
    categories: str = "used"


Render = Callable[[MemberResult, Any], str]
"""One member's result (and its document, for titles) → text; picklable, so worker processes can render."""


class Writer:
    """Base of the result writers: `write` each member result (or a piece rendered elsewhere), then `close`.

    `render` is a pure, picklable function of one result and its document, so worker processes can render and the
    parent only writes. A writer that cannot take pre-rendered blocks (HTML pages, Parquet) sets `blocks = False`
    and is fed one result at a time.
    """

    output: ClassVar[str] = "stream"
    """What `-o` names: 'stream' (a file, or stdout), 'folder', or 'file-or-folder' (decided by the name)."""
    blocks: ClassVar[bool] = True
    """Whether a parallel batch may hand this writer blocks rendered by workers."""

    def __init__(self, stream: IO[str], as_of: date, version: str, options: ReportOptions | None = None) -> None:
        self.stream = stream
        self.as_of = as_of
        self.version = version
        self.options = options or ReportOptions()
        self.summary = RunSummary()
        self.render: Render = self.renderer()

    def renderer(self) -> Render:
        raise NotImplementedError

    def write(self, result: MemberResult, document: Any = None) -> None:
        self.summary.add(result)
        self.write_piece(self.render(result, document))

    def write_piece(self, piece: str) -> None:
        self.stream.write(piece)

    joiner: ClassVar[str] = ""
    """What goes between two rendered results (the JSON writer's list needs commas)."""

    def write_block(self, block: bytes) -> None:
        """A parallel batch's chunk: results rendered, joined with `joiner` and UTF-8 encoded by a worker, written
        as bytes in one call (the parent neither decodes nor re-encodes them)."""
        if block:
            self._write_bytes(block)

    def _write_bytes(self, data: bytes) -> None:
        buffer = getattr(self.stream, "buffer", None)
        if buffer is None:
            self.stream.write(data.decode("utf-8"))
            return
        self.stream.flush()  # whatever text came before goes first
        buffer.write(data)

    def close(self) -> None:
        """Finish the document (the JSON writer closes its list here)."""


def _json_piece(result: MemberResult, document: Any = None, reasons: str = "text", categories: str = "used") -> str:
    return result.json_text(reasons, categories)


def _json_line(result: MemberResult, document: Any = None, reasons: str = "text", categories: str = "used") -> str:
    return result.json_text(reasons, categories) + "\n"


REASONS_FORMATS = ("json", "jsonl")
"""The formats `--reasons` and `--categories` apply to (a table and HTML are read by people, who need the
sentences; CSV and Parquet carry sentences and codes in columns of their own, and every category)."""


class JsonWriter(Writer):
    def __init__(self, stream: IO[str], as_of: date, version: str, options: ReportOptions | None = None) -> None:
        super().__init__(stream, as_of, version, options)
        self.stream.write(f'{{"ceruleng": {json.dumps(version)}, "as_of": "{as_of.isoformat()}", "members": [')
        self.first = True

    def renderer(self) -> Render:
        return partial(_json_piece, reasons=self.options.reasons, categories=self.options.categories)

    joiner: ClassVar[str] = ",\n  "

    def _separator(self) -> str:
        """What goes before the next member: a newline for the first, a comma and a newline for the others."""
        separator = "\n  " if self.first else self.joiner
        self.first = False
        return separator

    def write_piece(self, piece: str) -> None:
        self.stream.write(self._separator() + piece)

    def write_block(self, block: bytes) -> None:
        if block:
            self.stream.write(self._separator())
            self._write_bytes(block)

    def close(self) -> None:
        self.stream.write(f'\n], "summary": {json.dumps(self.summary.to_json())}}}\n')


class JsonLinesWriter(Writer):
    def renderer(self) -> Render:
        return partial(_json_line, reasons=self.options.reasons, categories=self.options.categories)


CSV_COLUMNS = ("member", "spec", "credential", "cycle_start", "cycle_end", "activity", "index", "date", "type",
               "category", "status", "credits", "malformed", "reasons", "title", "category_title", "trace",
               "reason_codes")
"""The CSV header. Columns after `reasons` were added later, at the end, so readers by position keep working.
`reason_codes`: the code of each reason (`ceruleng.reasoncodes`), space-separated, in the order of `reasons`."""


def _csv_text(value: str | None) -> str:
    """A text cell from member data or a spec: encodable, and not a formula a spreadsheet would run."""
    return spreadsheet_safe(encodable(value)) if value else ""


def trace_text(line: TraceLine) -> str:
    """One trace line as people read it: 'rule: value (spec file:line)'."""
    return f"{line.rule}: {line.value}" + (f" ({line.span})" if line.span else "")


class _CsvRows:
    """A csv writer that quotes every field holding a line break: the csv module quotes LF (the line terminator)
    but not a lone CR, which some readers take for the end of a row; a row holding a CR is written fully quoted."""

    def __init__(self, buffer: IO[str]) -> None:
        self.minimal = csv.writer(buffer, lineterminator="\n")
        self.quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Sequence[Any]) -> None:
        carriage = any("\r" in cell for cell in row if isinstance(cell, str))
        (self.quoted if carriage else self.minimal).writerow(row)


def render_csv(result: MemberResult, document: Any = None, explain: bool = False) -> str:
    """One member's rows: every activity of every credential, text cells neutralised (see `report.cells`)."""
    buffer = io.StringIO()
    rows = _CsvRows(buffer)
    if not result.credentials:
        rows.writerow([_csv_text(result.member), "", "", "", "", "", "", "", "", "", "", "", "true",
                       _csv_text(f"{_where(result)}{result.error}"), "", "", "", ""])
    titles = activity_titles(document)
    for credential in result.credentials:
        start, end = (d.isoformat() for d in credential.cycle) if credential.cycle else ("", "")
        category_titles = credential.category_titles
        for activity in credential.activities:
            category = activity.category
            trace = "\n".join(map(trace_text, activity.trace)) if explain and activity.trace else ""
            rows.writerow([
                _csv_text(result.member), _csv_text(credential.spec), _csv_text(credential.name), start, end,
                _csv_text(activity.id), activity.index, activity.date.isoformat() if activity.date else "",
                _csv_text(activity.type), _csv_text(category), activity.status,
                format_credits(activity.credits, credential.places), str(activity.malformed).lower(),
                _csv_text(" ".join(activity.reasons)), _csv_text(title_at(titles, activity.index)),
                _csv_text(category_titles.get(category) if category else None), _csv_text(trace),
                " ".join(activity.reason_codes),
            ])
    return buffer.getvalue()


class CsvWriter(Writer):
    def __init__(self, stream: IO[str], as_of: date, version: str, options: ReportOptions | None = None) -> None:
        super().__init__(stream, as_of, version, options)
        csv.writer(stream, lineterminator="\n").writerow(CSV_COLUMNS)

    def renderer(self) -> Render:
        return partial(render_csv, explain=self.options.explain)


def _where(result: MemberResult) -> str:
    if result.file and result.line:
        return f"{result.file} line {result.line}: "
    return f"{result.file}: " if result.file else ""


# ---- the table, for people ---------------------------------------------------------------------------------------

CELL_LIMITS = {"id": 24, "activity": 40, "category": 40, "why": 400}
"""The widest a cell may be, in display columns: a longer one is cut with an ellipsis."""
HEADER_LIMIT = 120
STYLES = {"awarded": "32", "capped": "33", "rejected": "31", "pending": "36", "MET": "1;32", "NOT MET": "1;31",
          "head": "1", "dim": "2"}
"""ANSI colours (SGR codes) of statuses and verdicts, used only when colour is on."""


class Painter(Struct, frozen=True):
    """Colours text when colour is on (a terminal, `--color always`), else leaves it alone."""

    color: bool

    def __call__(self, text: str, style: str) -> str:
        code = STYLES.get(style)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code and text else text


def _cell(text: str | None, limit: int) -> str:
    return shortened(shown(text), limit) if text else "-"


class TableWriter(Writer):
    """For a person: per credential, one line per activity, then totals, what is missing, and the deadline."""

    def renderer(self) -> Render:
        return partial(render_table, as_of=self.as_of, options=self.options)

    def close(self) -> None:
        counts = self.summary.statuses
        self.stream.write(
            f"{self.summary.members} member{'s' if self.summary.members != 1 else ''}, "
            f"{self.summary.activities} activity results: {counts['awarded']} awarded, {counts['capped']} capped, "
            f"{counts['rejected']} rejected ({self.summary.malformed} malformed), {counts['pending']} pending\n"
        )


def render_table(result: MemberResult, document: Any = None, as_of: date | None = None,
                 options: ReportOptions | None = None) -> str:
    options = options or ReportOptions()
    if not result.credentials:
        return f"{shown(_where(result))}could not be read: {_cell(result.error, CELL_LIMITS['why'])}\n\n"
    titles = activity_titles(document)
    day = as_of or date.today()
    return "".join(render_credential(result, credential, titles, day, options) + "\n\n"
                   for credential in result.credentials)


def render_credential(member: MemberResult, credential: CredentialResult, titles: Sequence[str | None] = (),
                      as_of: date | None = None, options: ReportOptions | None = None) -> str:
    options = options or ReportOptions()
    day = as_of or date.today()
    paint = Painter(options.color)
    facts = options.facts.get(credential.spec) if credential.spec else None
    title = f"{credential.title} ({credential.spec})" if credential.spec else "not scored"
    name = f" · {credential.name}" if credential.name else ""
    heading = shortened(shown(f"{member.member or '(no member id)'} · {title}{name}"), HEADER_LIMIT)
    lines = [paint(heading, "head")]
    if credential.error:
        lines.append(f"  {_cell(credential.error, CELL_LIMITS['why'])}")
    if credential.cycle:
        deadline = credential.deadline
        due = f"{deadline.isoformat()} ({sentences.when_due(deadline, day)})" if deadline else "-"
        lines.append(f"  cycle {credential.cycle[0].isoformat()} to {credential.cycle[1].isoformat()} · "
                     f"deadline {due}")
        lines.extend(ledgerlines.period_lines(credential))
    lines.extend(_activity_table(credential, titles, paint, options.explain))
    lines.extend(_totals(credential, day, facts, paint, options.explain))
    return "\n".join(lines)


def _activity_table(credential: CredentialResult, titles: Sequence[str | None], paint: Painter,
                    explain: bool) -> list[str]:
    activities = credential.activities
    if not activities:
        return ["  (no activities)"]
    unit = shown(plural(credential.unit or "credit"))
    category_titles = credential.category_titles
    header = ("id", "date", "activity", "category", "status", unit, "why")
    rows: list[tuple[str, ...]] = []
    for activity in activities:
        category = activity.category
        rows.append((
            _cell(activity.id, CELL_LIMITS["id"]) if activity.id else f"#{activity.index + 1}",
            activity.date.isoformat() if activity.date else "-",
            _cell(title_at(titles, activity.index), CELL_LIMITS["activity"]),
            _cell(category_titles.get(category, category) if category else None, CELL_LIMITS["category"]),
            activity.status,
            format_credits(activity.credits, credential.places),
            _cell(" ".join(activity.reasons), CELL_LIMITS["why"]),
        ))
    widths = [max(width(row[i]) for row in (header, *rows)) for i in range(6)]
    lines = ["  " + paint(_line(header, widths), "head")]
    for activity, row in zip(activities, rows, strict=True):
        lines.append("  " + _line(row, widths, paint))
        if explain and activity.trace:
            lines.extend("      " + paint("↳ " + shortened(shown(trace_text(step)), CELL_LIMITS["why"]), "dim")
                         for step in activity.trace)
    return lines


def _line(row: tuple[str, ...], widths: list[int], paint: Painter | None = None) -> str:
    """One row: cells padded to their column (credits right-aligned), the status coloured after padding."""
    cells = []
    for index, cell in enumerate(row):
        if index == 6:
            cells.append(cell)
            continue
        padded = pad(cell, widths[index], right=index == 5)
        cells.append(paint(padded, cell) if paint is not None and index == 4 else padded)
    return "  ".join(cells).rstrip()


def _totals(credential: CredentialResult, as_of: date, facts: SpecFacts | None, paint: Painter,
            explain: bool) -> list[str]:
    show: Callable[[Any], str] = lambda value: format_credits(value, credential.places)  # noqa: E731
    lines = []
    earned = f"earned {sentences.amount(credential.earned, credential)}"
    if credential.carried_in:
        earned += f" + {show(credential.carried_in)} carried in"
    if credential.required is not None:
        verdict = "MET" if credential.met else "NOT MET"
        lines.append(f"  {shown(earned)} of {show(credential.required)} required · "
                     f"{show(credential.remaining)} still needed · {paint(verdict, verdict)}")
        needed = sentences.still_needed(credential, as_of, facts)
        if needed and (credential.met_by or not credential.met):
            lines.append(f"  {shown(needed)}")
    elif credential.spec:
        lines.append(f"  {shown(earned)}")
    shown_categories = [(shown(total.title or key), show(total.earned),
                         f" (cap {show(total.cap)})" if total.cap is not None else "")
                        for key, total in credential.categories.items() if total.earned or total.cap is not None]
    if shown_categories:
        lines.append("  by category:")
        title_width = max(width(title) for title, _, _ in shown_categories)
        amount_width = max(len(amount) for _, amount, _ in shown_categories)
        lines.extend(f"    {pad(title, title_width)}  {amount.rjust(amount_width)}{cap}"
                     for title, amount, cap in shown_categories)
    lines.extend(ledgerlines.minimum_lines(credential, explain))
    lines.extend(ledgerlines.condition_lines(credential))
    lines.extend(ledgerlines.limit_lines(credential, explain))
    step = sentences.next_step(credential, as_of, facts)
    if step:
        lines.append(f"  next step: {shown(step)}.")
    carry = sentences.carry_over(credential, facts)
    if carry:
        lines.append(f"  {shown(carry)}")
    return lines


WRITERS: dict[str, type[Writer]] = {
    "table": TableWriter,
    "json": JsonWriter,
    "jsonl": JsonLinesWriter,
    "csv": CsvWriter,
}
"""The writers that need nothing beyond ceruleng's own dependencies, by format name."""

OPTIONAL_WRITERS = {"html": ("ceruleng.report.html", "HtmlWriter", "html"),
                    "parquet": ("ceruleng.report.parquet", "ParquetWriter", "parquet")}
"""Writers that need an extra: format name → (module, class, extra). Imported only when that format is asked for."""

FORMATS = (*WRITERS, *OPTIONAL_WRITERS)


def writer_class(name: str) -> type[Writer]:
    """The writer for a format name; InputError naming the extra to install when an optional one is missing."""
    found = WRITERS.get(name)
    if found is not None:
        return found
    if name not in OPTIONAL_WRITERS:
        raise InputError(f"unknown output format '{name}' (known: {', '.join(FORMATS)})")
    module_name, class_name, extra = OPTIONAL_WRITERS[name]
    from importlib import import_module

    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise InputError(f"--format {name} needs the '{extra}' extra ({exc.name or exc} is not installed): "
                         f"pip install 'ceruleng[{extra}]'") from None
    writer: type[Writer] = getattr(module, class_name)
    return writer
