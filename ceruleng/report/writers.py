"""Scoring results as text: a table for people; JSON, JSON Lines and CSV for machines.

Input: `MemberResult`s, one at a time (writers stream: memory does not grow with the batch). Output: text on a
stream. JSON is one document `{"ceruleng", "as_of", "members": [...], "summary"}`; JSON Lines is one member result
per line; CSV is one row per activity and credential (a member that could not be read gets one row naming why).
Every input activity appears in every format.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any, ClassVar

from ceruleng.scoring.results import ActivityResult, CredentialResult, MemberResult
from ceruleng.values import format_credits


@dataclass
class RunSummary:
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


class Writer:
    """Base of the result writers: `write` each member result (or a piece rendered elsewhere), then `close`.

    `render` is a pure function of one result, so worker processes can render and the parent only writes.
    """

    def __init__(self, stream: IO[str], as_of: date, version: str) -> None:
        self.stream = stream
        self.as_of = as_of
        self.version = version
        self.summary = RunSummary()

    def write(self, result: MemberResult) -> None:
        self.summary.add(result)
        self.write_piece(self.render(result))

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

    @staticmethod
    def render(result: MemberResult) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the document (the JSON writer closes its list here)."""


class JsonWriter(Writer):
    def __init__(self, stream: IO[str], as_of: date, version: str) -> None:
        super().__init__(stream, as_of, version)
        self.stream.write(f'{{"ceruleng": {json.dumps(version)}, "as_of": "{as_of.isoformat()}", "members": [')
        self.first = True

    @staticmethod
    def render(result: MemberResult) -> str:
        return result.json_text()

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
    @staticmethod
    def render(result: MemberResult) -> str:
        return result.json_text() + "\n"


CSV_COLUMNS = ("member", "spec", "credential", "cycle_start", "cycle_end", "activity", "index", "date", "type",
               "category", "status", "credits", "malformed", "reasons")


class CsvWriter(Writer):
    def __init__(self, stream: IO[str], as_of: date, version: str) -> None:
        super().__init__(stream, as_of, version)
        csv.writer(stream, lineterminator="\n").writerow(CSV_COLUMNS)

    @staticmethod
    def render(result: MemberResult) -> str:
        buffer = io.StringIO()
        rows = csv.writer(buffer, lineterminator="\n")
        if not result.credentials:
            rows.writerow([result.member or "", "", "", "", "", "", "", "", "", "", "", "", "true",
                           f"{_where(result)}{result.error}"])
        for credential in result.credentials:
            start, end = (d.isoformat() for d in credential.cycle) if credential.cycle else ("", "")
            for activity in credential.activities:
                rows.writerow([
                    result.member or "", credential.spec or "", credential.name or "", start, end,
                    activity.id or "", activity.index, activity.date.isoformat() if activity.date else "",
                    activity.type or "", activity.category or "", activity.status,
                    format_credits(activity.credits, credential.places), str(activity.malformed).lower(),
                    " ".join(activity.reasons),
                ])
        return buffer.getvalue()


def _where(result: MemberResult) -> str:
    if result.file and result.line:
        return f"{result.file} line {result.line}: "
    return f"{result.file}: " if result.file else ""


class TableWriter(Writer):
    """For a person: per credential, one line per activity, then totals, what is missing, and the deadline."""

    @staticmethod
    def render(result: MemberResult) -> str:
        if not result.credentials:
            return f"{_where(result)}could not be read: {result.error}\n\n"
        return "".join(render_credential(result, credential) + "\n\n" for credential in result.credentials)

    def close(self) -> None:
        counts = self.summary.statuses
        self.stream.write(
            f"{self.summary.members} member{'s' if self.summary.members != 1 else ''}, "
            f"{self.summary.activities} activity results: {counts['awarded']} awarded, {counts['capped']} capped, "
            f"{counts['rejected']} rejected ({self.summary.malformed} malformed), {counts['pending']} pending\n"
        )


def render_credential(member: MemberResult, credential: CredentialResult) -> str:
    unit = credential.unit
    title = f"{credential.title} ({credential.spec})" if credential.spec else "not scored"
    name = f" · {credential.name}" if credential.name else ""
    lines = [f"{member.member or '(no member id)'} · {title}{name}"]
    if credential.error:
        lines.append(f"  {credential.error}")
    if credential.cycle:
        lines.append(f"  cycle {credential.cycle[0].isoformat()} to {credential.cycle[1].isoformat()} · "
                     f"deadline {credential.deadline.isoformat() if credential.deadline else '-'}")
    lines.extend(_activity_table(credential.activities, unit or "credit", credential.places))
    lines.extend(_totals(credential))
    return "\n".join(lines)


def _activity_table(activities: list[ActivityResult], unit: str, places: int) -> list[str]:
    if not activities:
        return ["  (no activities)"]
    rows = [("id", "date", "category", "status", unit, "why")]
    for activity in activities:
        rows.append((activity.id or f"#{activity.index + 1}", activity.date.isoformat() if activity.date else "-",
                     activity.category or "-", activity.status, format_credits(activity.credits, places),
                     " ".join(activity.reasons)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  " + "  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)).rstrip()
            for row in rows]


def _totals(credential: CredentialResult) -> list[str]:
    show: Callable[[Any], str] = lambda value: format_credits(value, credential.places)  # noqa: E731
    unit = credential.unit
    lines = []
    earned = f"earned {show(credential.earned)} {unit}"
    if credential.carried_in:
        earned += f" + {show(credential.carried_in)} carried in"
    if credential.required is not None:
        verdict = "MET" if credential.met else "NOT MET"
        if credential.met_by:
            verdict += f" (by {credential.met_by})"
        lines.append(f"  {earned} of {show(credential.required)} required · "
                     f"{show(credential.remaining)} still needed · {verdict}")
    elif credential.spec:
        lines.append(f"  {earned}")
    nonzero = [f"{key} {show(total.earned)}" + (f" (cap {show(total.cap)})" if total.cap is not None else "")
               for key, total in credential.categories.items() if total.earned or total.cap is not None]
    if nonzero:
        lines.append("  by category: " + " · ".join(nonzero))
    for minimum in credential.minimums:
        state = "met" if minimum.met else f"{show(minimum.at_least - minimum.counted)} more needed"
        lines.append(f"  minimum {minimum.title}: {show(minimum.counted)} of {show(minimum.at_least)} ({state})")
    if credential.required is not None and not credential.met and credential.deadline:
        lines.append(f"  due by {credential.deadline.isoformat()}")
    extras = []
    if credential.fee:
        extras.append(f"fee {format_credits(credential.fee[0], 2)} {credential.fee[1]} per {credential.fee[2]}")
    if credential.audit:
        extras.append(f"audit: {'selected' if credential.audit[1] else 'not selected'} "
                      f"({credential.audit[0] * 100:.0f}% of submissions are audited)")
    if extras:
        lines.append("  " + " · ".join(extras))
    return lines


WRITERS: dict[str, type[Writer]] = {
    "table": TableWriter,
    "json": JsonWriter,
    "jsonl": JsonLinesWriter,
    "csv": CsvWriter,
}
