"""`ceruleng diff` reports: a table for people, JSON for tools, and a self-contained HTML page.

Input: the spec diff (written first), then `MemberChange`s one at a time (streamed: memory does not grow with the
membership), then the `ImpactSummary`. Output: text on a stream. `render_*` are pure functions of one member's
change, so worker processes can render and the parent only writes their blocks in input order.

JSON: `{"ceruleng", "as_of", "old", "new", "spec_changes": [...], "members": [...], "summary": {...}}` — only
members whose results change are listed; every decimal is a string at its spec's precision. HTML: Jinja2 templates
shipped in `ceruleng/report/templates/diff/`, every value escaped (autoescape), no script and nothing fetched.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from functools import cache
from typing import IO, Any, ClassVar

from ceruleng.diffing.impact import ImpactSummary, MemberChange
from ceruleng.diffing.specdiff import SpecChange, SpecDiff

MAX_CELL = 300
"""Longest text a table cell shows (member ids and activity ids come from member files)."""


def shown(text: object) -> str:
    """Text safe for a terminal: control and bidirectional characters as visible escapes, absurd lengths cut."""
    value = str(text)
    if value.isprintable() and len(value) <= MAX_CELL:
        return value
    cleaned = "".join(f"\\u{ord(char):04x}" if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")
                      else char for char in value)
    return cleaned if len(cleaned) <= MAX_CELL else cleaned[:MAX_CELL] + "…"


def encodable(text: str) -> str:
    """Text any UTF-8 stream can take: lone surrogates (which JSON input may spell, `"\\udc41"`) as visible
    escapes, which in a JSON string are the same escape again."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class DiffWriter:
    """Base of the diff writers: `start` with the spec diff, `write` member changes (or `write_block`s rendered
    elsewhere), `close` with the summary."""

    joiner: ClassVar[str] = ""
    """What goes between two rendered members in a block rendered by a worker."""

    @staticmethod
    def render(change: MemberChange) -> str:
        """One member's change as text: a pure function, so worker processes can render."""
        raise NotImplementedError

    def __init__(self, stream: IO[str], as_of: date | None, version: str, old: list[str], new: list[str]) -> None:
        self.stream = stream
        self.as_of = as_of
        self.version = version
        self.old, self.new = old, new
        self.written = 0

    def start(self, spec_diff: SpecDiff, with_members: bool) -> None:
        raise NotImplementedError

    def write(self, change: MemberChange) -> None:
        self.write_piece(type(self).render(change))

    def write_text(self, text: str) -> None:
        self.stream.write(encodable(text))

    def write_piece(self, piece: str) -> None:
        self.stream.write(piece)
        self.written += 1

    def write_block(self, block: bytes) -> None:
        if block:
            self.write_piece(block.decode("utf-8"))

    def close(self, summary: ImpactSummary | None) -> None:
        raise NotImplementedError


# ---- table -------------------------------------------------------------------------------------------------------


def render_table(change: MemberChange) -> str:
    lines = []
    for credential in change.credentials:
        parts = [f"{shown(f.field)} {shown(f.before)} → {shown(f.after)}" + (
            f" ({credential.earned_change})" if f.field == "earned" and credential.earned_change else "")
            for f in credential.fields]
        heading = f"{shown(change.member or '(no member id)')} · {shown(credential.spec or 'not scored')}"
        if credential.credential:
            heading += f" · {shown(credential.credential)}"
        lines.append(heading + (": " + ", ".join(parts) if parts else ": activities changed"))
        if credential.rules:
            lines.append(f"    because of {', '.join(credential.rules)}")
        for activity in credential.activities:
            before, after = activity.before, activity.after
            lines.append(f"    {shown(activity.id or f'#{activity.index + 1}')}: {shown(before[0] or '-')} "
                         f"{before[1]} {before[2]} → {shown(after[0] or '-')} {after[1]} {after[2]}"
                         f"  ({', '.join(activity.rules)})")
    return encodable("\n".join(lines) + "\n")


def spec_change_lines(change: SpecChange) -> list[str]:
    where = " → ".join(str(span) for span in (change.old, change.new) if span is not None)
    lines = [f"  {shown(change.spec)}: {change.change} {shown(change.label)}  ({shown(where)})"]
    if change.change in {"changed", "moved"}:
        lines.extend(f"      {shown(f.field)}: {shown(_or_none(f.before))} → {shown(_or_none(f.after))}"
                     for f in change.fields)
    if change.citation:
        lines.append(f"      cites {shown(change.citation)}")
    return lines


def _or_none(value: str | None) -> str:
    return "(none)" if value is None else value


class TableDiffWriter(DiffWriter):
    @staticmethod
    def render(change: MemberChange) -> str:
        return render_table(change)

    def start(self, spec_diff: SpecDiff, with_members: bool) -> None:
        self.with_members = with_members
        lines = [f"ceruleng diff {' '.join(self.old)} → {' '.join(self.new)}"]
        if spec_diff.changes:
            lines.append("spec changes:")
            for change in spec_diff.changes:
                lines.extend(spec_change_lines(change))
        lines.append(f"{_plural(len(spec_diff.changes), 'spec change')}")
        if with_members:
            lines.append("")
            lines.append(f"members whose results change (as of {self.as_of.isoformat() if self.as_of else '-'}):")
        self.write_text("\n".join(lines) + "\n")

    def close(self, summary: ImpactSummary | None) -> None:
        if summary is None:
            return
        lines = [] if self.written else ["  (none)"]
        lines.append("")
        lines.append(f"{_plural(summary.members, 'member')} scored under both: {summary.members_changed} changed "
                     f"({_plural(summary.credentials_changed, 'credential')}, "
                     f"{_plural(summary.activities_changed, 'activity', 'activities')}); "
                     f"{summary.gain_met} now meet the requirement, {summary.lose_met} no longer do")
        if summary.earned_changes or summary.earned_other:
            shown_changes = ", ".join(f"{change} ×{count}" for change, count in summary.distribution())
            other = f", {summary.earned_other} other" if summary.earned_other else ""
            lines.append(f"changes in earned: {shown_changes}{other}")
        if summary.rules:
            lines.append("rules responsible: " + ", ".join(f"{shown(rule)} ×{count}"
                                                           for rule, count in summary.rules.most_common()))
        self.write_text("\n".join(lines) + "\n")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


# ---- JSON --------------------------------------------------------------------------------------------------------


def render_json(change: MemberChange) -> str:
    return encodable(json.dumps(change.to_json(), ensure_ascii=False))


class JsonDiffWriter(DiffWriter):
    @staticmethod
    def render(change: MemberChange) -> str:
        return render_json(change)
    joiner = ",\n  "

    def start(self, spec_diff: SpecDiff, with_members: bool) -> None:
        self.with_members = with_members
        head = {"ceruleng": self.version, "as_of": self.as_of.isoformat() if self.as_of and with_members else None,
                "old": self.old, "new": self.new, "spec_changes": [c.to_json() for c in spec_diff.changes]}
        text = json.dumps(head, ensure_ascii=False, indent=None)
        self.write_text(text[:-1] + (', "members": [' if with_members else ""))

    def write_piece(self, piece: str) -> None:
        self.stream.write(("\n  " if not self.written else self.joiner) + piece)
        self.written += 1

    def close(self, summary: ImpactSummary | None) -> None:
        if summary is None:
            self.stream.write("}\n")
            return
        self.write_text(("\n" if self.written else "") + f'], "summary": {json.dumps(summary.to_json())}}}\n')


# ---- HTML --------------------------------------------------------------------------------------------------------


@cache
def _templates() -> Any:
    try:
        import jinja2
    except ImportError:
        from ceruleng.errors import InputError

        raise InputError("--format html needs Jinja2: pip install 'ceruleng[html]'") from None
    return jinja2.Environment(loader=jinja2.PackageLoader("ceruleng", "report/templates/diff"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def require_html() -> None:
    """Fail with one clear line before any output when the HTML report cannot be written."""
    _templates()


_HTML_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def html_text(text: str) -> str:
    """Rendered HTML whose text holds no control character (a parse error in HTML), each shown as `\\u001b`."""
    return _HTML_CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", encodable(text))


def render_html(change: MemberChange) -> str:
    return html_text(str(_templates().get_template("member.html").render(change=change.to_json())))


class HtmlDiffWriter(DiffWriter):
    @staticmethod
    def render(change: MemberChange) -> str:
        return render_html(change)

    def start(self, spec_diff: SpecDiff, with_members: bool) -> None:
        self.with_members = with_members
        self.write_text(html_text(_templates().get_template("start.html").render(
            old=self.old, new=self.new, version=self.version, as_of=self.as_of.isoformat() if self.as_of else None,
            changes=[c.to_json() for c in spec_diff.changes], with_members=with_members)))

    def close(self, summary: ImpactSummary | None) -> None:
        self.write_text(html_text(_templates().get_template("end.html").render(
            summary=summary.to_json() if summary else None, members_listed=self.written)))


DIFF_WRITERS: dict[str, type[DiffWriter]] = {"table": TableDiffWriter, "json": JsonDiffWriter,
                                             "html": HtmlDiffWriter}
