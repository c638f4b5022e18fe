"""The member report in HTML: one self-contained page (or a folder of pages and an index), from Jinja2 templates.

Input: `MemberResult`s one at a time, each with its member document (titles); the as-of day and report options.
Output: HTML with its CSS inline and its charts as inline SVG, so it needs no network, and prints well. Templates
are package data (`report/templates/`), rendered with autoescaping on from the display-ready views of
`report.htmlviews`; nothing here builds markup from strings.

- To one stream (stdout, or `-o report.html`): the page opens, each member's section is written as it is scored
  (memory stays flat), and the membership index — counted as members pass — is written last and shown first.
- To a folder (`-o FOLDER`): one page per member (`000001-<member>.html`) and `index.html` listing every member;
  the list is spooled to a file in the folder being written, so memory stays flat here too.

Needs the `html` extra (Jinja2).
"""

from __future__ import annotations

import heapq
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any, ClassVar

import jinja2

from ceruleng.report import sentences
from ceruleng.report.htmlviews import member_view, text
from ceruleng.report.writers import Render, ReportOptions, Writer
from ceruleng.scoring.results import CredentialResult, MemberResult
from ceruleng.values import ZERO, format_credits

SOONEST = 50
"""How many not-met credentials due soonest the index lists (the counts cover everyone)."""
BINS = 5
"""The histogram of credits still needed splits the requirement into this many equal shares."""
_ROWS_FILE = ".index-rows.jsonl"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The template environment: package templates, autoescaping on, a missing variable is an error."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ceruleng.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_member(result: MemberResult, document: Any = None, as_of: date | None = None,
                  options: ReportOptions | None = None, number: int = 1) -> str:
    """One member's section (an <article>), for a page that holds many."""
    options = options or ReportOptions()
    view = member_view(result, document, as_of or date.today(), options.explain, options.facts, number)
    return environment().get_template("member.html.j2").render(m=view)


VERDICTS = {"met": "met", "not-met": "not met", "open": "no requirement", "unscored": "not scored"}


def state_of(credential: CredentialResult) -> str:
    if credential.error or not credential.spec:
        return "unscored"
    if credential.required is None:
        return "open"
    return "met" if credential.met else "not-met"


# ---- the membership index ----------------------------------------------------------------------------------------


@dataclass
class SpecCounts:
    id: str
    title: str
    met: int = 0
    not_met: int = 0
    open: int = 0
    unscored: int = 0
    overdue: int = 0
    due: dict[int, int] = field(default_factory=lambda: {30: 0, 60: 0, 90: 0})
    shares: list[int] = field(default_factory=lambda: [0] * BINS)
    """Not-met credentials by the share of the requirement still needed: up to 1/BINS, 2/BINS, ..."""


@dataclass
class MembershipIndex:
    """Counts over the whole run, kept as members pass: memory does not grow with the membership."""

    as_of: date
    members: int = 0
    credentials: int = 0
    unreadable: int = 0
    specs: dict[str, SpecCounts] = field(default_factory=dict)
    soonest: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)
    """A max-heap (by negated deadline) of the SOONEST not-met credentials due within 90 days."""
    seen_soon: int = 0

    def add(self, result: MemberResult, link: str | None) -> None:
        self.members += 1
        if result.error is not None and not result.credentials:
            self.unreadable += 1
        for credential in result.credentials:
            self.credentials += 1
            self._credential(result, credential, link)

    def _credential(self, result: MemberResult, credential: CredentialResult, link: str | None) -> None:
        key = credential.spec or ""
        counts = self.specs.get(key)
        if counts is None:
            counts = self.specs[key] = SpecCounts(text(key, "id") or "-",
                                                  text(credential.title, "heading") or "Not scored")
        state = state_of(credential)
        if state != "not-met":
            setattr(counts, state, getattr(counts, state) + 1)  # met, open or unscored
            return
        counts.not_met += 1
        counts.shares[_share(credential.remaining or ZERO, credential.required or ZERO)] += 1
        if credential.deadline is None:
            return
        days = sentences.days_left(credential.deadline, self.as_of)
        if days < 0:
            counts.overdue += 1
            return
        for window in counts.due:
            if days <= window:
                counts.due[window] += 1
        if days <= 90:
            self._remember(result, credential, days, link)

    def _remember(self, result: MemberResult, credential: CredentialResult, days: int, link: str | None) -> None:
        self.seen_soon += 1
        entry = {"member": text(result.member, "id") or "(no member id)", "spec": text(credential.spec, "id"),
                 "remaining": sentences.amount(credential.remaining or ZERO, credential),
                 "deadline": credential.deadline.isoformat() if credential.deadline else "",
                 "due": sentences.when_due(credential.deadline, self.as_of) if credential.deadline else "",
                 "link": link or ""}
        item = (-days, -self.seen_soon, entry)
        if len(self.soonest) < SOONEST:
            heapq.heappush(self.soonest, item)
        elif item > self.soonest[0]:
            heapq.heapreplace(self.soonest, item)

    def view(self) -> dict[str, Any]:
        soonest = [entry for _, _, entry in sorted(self.soonest, key=lambda item: (-item[0], -item[1]))]
        return {"members": self.members, "credentials": self.credentials, "unreadable": self.unreadable,
                "specs": [self._spec_view(counts) for counts in self.specs.values()], "soonest": soonest,
                "soonest_cut": self.seen_soon > len(soonest)}

    @staticmethod
    def _spec_view(counts: SpecCounts) -> dict[str, Any]:
        view = {"id": counts.id, "title": counts.title, "met": counts.met, "not_met": counts.not_met,
                "open": counts.open, "unscored": counts.unscored, "overdue": counts.overdue, "due": counts.due,
                "histogram": None}
        if counts.met or counts.not_met:
            view["histogram"] = histogram(counts)
        return view


def _share(remaining: Decimal, required: Decimal) -> int:
    """Which of the BINS equal shares of the requirement the credits still needed fall in (0: the smallest)."""
    if required <= ZERO or remaining <= ZERO:
        return 0
    share = int((remaining * BINS / required).to_integral_value(rounding=ROUND_CEILING)) - 1
    return min(BINS - 1, max(0, share))


def histogram(counts: SpecCounts) -> dict[str, Any]:
    """Columns of a bar chart in whole SVG units: met, then each share of the requirement still needed."""
    values = [("met", "met", counts.met)] + [
        ("short", f"≤{(index + 1) * 100 // BINS}%", count) for index, count in enumerate(counts.shares)]
    width, height, top, floor = 360, 170, 22, 24
    tallest = max(count for _, _, count in values) or 1
    step = width // len(values)
    columns = []
    for index, (kind, label, count) in enumerate(values):
        bar = (height - top - floor) * count // tallest
        x = index * step + 6
        columns.append({"kind": kind, "label": label, "count": count, "x": x, "width": step - 12,
                        "y": height - floor - bar, "bar": bar, "middle": x + (step - 12) // 2})
    label = (f"{counts.title}: {counts.met} met; not met, by share of the requirement still needed: "
             + ", ".join(f"{label} {count}" for _, label, count in values[1:]))
    return {"width": width, "height": height, "columns": columns, "label": label}


# ---- the writer --------------------------------------------------------------------------------------------------


def page_name(number: int, member: str | None) -> str:
    """A member page's file name: its number first (unique, in input order), then a readable, safe slug."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", member or "").strip("-.")[:60] or "member"
    return f"{number:06d}-{slug}.html"


class HtmlWriter(Writer):
    """One page of every member (a stream), or a folder of member pages and an index (a `Path`)."""

    output: ClassVar[str] = "file-or-folder"
    blocks: ClassVar[bool] = False

    def __init__(self, target: IO[str] | Path, as_of: date, version: str,
                 options: ReportOptions | None = None) -> None:
        self.folder = target if isinstance(target, Path) else None
        super().__init__(io.StringIO() if isinstance(target, Path) else target, as_of, version, options)
        self.index = MembershipIndex(as_of)
        self.page = {"version": version, "as_of": as_of.isoformat()}
        self.rows: IO[str] | None = None
        if self.folder is None:
            self.stream.write(self._template("head.html.j2").render(**self.page, title="Member report", back=""))
        else:
            self.rows = (self.folder / _ROWS_FILE).open("w", encoding="utf-8")

    @staticmethod
    def _template(name: str) -> jinja2.Template:
        return environment().get_template(name)

    def renderer(self) -> Render:
        return partial(render_member, as_of=self.as_of, options=self.options)

    def write(self, result: MemberResult, document: Any = None) -> None:
        self.summary.add(result)
        number = self.summary.members
        if self.folder is None:
            self.index.add(result, f"#member-{number}")
            self.stream.write(render_member(result, document, self.as_of, self.options, number))
            return
        name = page_name(number, result.member)
        self.index.add(result, name)
        view = member_view(result, document, self.as_of, self.options.explain, self.options.facts, number)
        with (self.folder / name).open("w", encoding="utf-8") as page:
            for piece in self._template("member_page.html.j2").generate(
                    **self.page, title=f"Member {view.member}", back="index.html", m=view):
                page.write(piece)
        assert self.rows is not None
        self.rows.write(json.dumps(_row(view.member, name, result), ensure_ascii=True) + "\n")

    def close(self) -> None:
        if self.folder is None:
            if self.index.members > 1:  # one member's own report needs no overview of the membership
                self.stream.write(self._template("index.html.j2").render(index=self.index.view()))
            self.stream.write(self._template("foot.html.j2").render(**self.page))
            return
        assert self.rows is not None
        self.rows.close()
        spooled = self.folder / _ROWS_FILE
        with spooled.open(encoding="utf-8") as rows, (self.folder / "index.html").open("w", encoding="utf-8") as out:
            for piece in self._template("index_page.html.j2").generate(
                    **self.page, title="Membership report", back="", index=self.index.view(),
                    rows=_read_rows(rows)):
                out.write(piece)
        spooled.unlink()


def _row(member: str, page: str, result: MemberResult) -> dict[str, Any]:
    """What the folder's index lists of one member (display-ready text)."""
    credentials = []
    for credential in result.credentials:
        state = state_of(credential)
        remaining: Decimal | None = credential.remaining if state == "not-met" else None
        credentials.append({"spec": text(credential.spec, "id") or "-", "verdict": VERDICTS[state],
                            "remaining": format_credits(remaining, credential.places) if remaining else ""})
    return {"member": member, "page": page, "credentials": credentials}


def _read_rows(stream: IO[str]) -> Iterator[Mapping[str, Any]]:
    for line in stream:
        yield json.loads(line)
