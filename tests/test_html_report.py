"""The HTML member report, as a member and an operator see it: rendered by a real headless Chromium.

Every bundled example log is scored with `ceruleng eval --format html` (a real subprocess), opened in Chromium on a
desktop and a phone screen and in print layout, and checked on the rendered page: one card per credential, every
progress bar's value and maximum equal to the JSON result (and drawn that full), every activity listed with its
status and credits, nothing wider than the screen. Screenshots are written as PNGs; with
CERULENG_UPDATE_SCREENSHOTS=1 two of them are copied to docs/ (the README shows one).

Chromium is Debian's `chromium` package (.ci/run installs it): without it these tests skip, except in CI
(CERULENG_CI set), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, chromium

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
AS_OF = "2025-06-01"
SCREENS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
PRINT_WIDTH = 794
"""An A4 page's width in CSS pixels at 96 dpi."""

PAGE_FACTS = """(() => {
  const inner = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > inner + 1)
    .map(e => e.tagName.toLowerCase() + '.' + e.getAttribute('class')).slice(0, 5);
  const credentials = [...document.querySelectorAll('section.credential')].map(s => ({
    spec: s.dataset.spec, state: s.dataset.state, days: s.dataset.daysLeft ?? null,
    bars: [...s.querySelectorAll('svg[role=progressbar]')].map(b => ({
      section: b.closest('.sections > section').className, label: b.getAttribute('aria-label'),
      now: b.getAttribute('aria-valuenow'), max: b.getAttribute('aria-valuemax'),
      drawn: b.querySelector('.fill').getBoundingClientRect().width / b.getBoundingClientRect().width})),
    rows: [...s.querySelectorAll('tr.activity')].map(r => [r.dataset.id, r.dataset.status, r.dataset.credits]),
    needed: s.querySelector('p.needed')?.textContent ?? null,
  }));
  return {scroll: document.documentElement.scrollWidth, inner, wide, credentials,
          members: document.querySelectorAll('article.member').length,
          scripts: document.scripts.length, external: [...document.querySelectorAll('[src],link[href]')].length};
})()"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium()
    if executable is None:
        if os.environ.get("CERULENG_CI"):
            pytest.fail("Chromium is missing: .ci/run must apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with Browser(executable) as opened:
        yield opened


def _eval(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ceruleng", "eval", "--rules", "rules", "--as-of", AS_OF,
                           *arguments], cwd=ROOT, capture_output=True, text=True, check=False)


def _json(example: Path) -> dict[str, Any]:
    done = _eval(str(example.relative_to(ROOT) if example.is_relative_to(ROOT) else example), "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def _expected_bars(credential: dict[str, Any]) -> list[tuple[str, Decimal, Decimal]]:
    """The bars a credential's card must draw, from its JSON result: requirement, minimums, category caps and
    the spec's limits."""
    bars = []
    if credential["required"] is not None:
        held = Decimal(credential["earned"]) + Decimal(credential["carried_in"])
        bars.append(("section-requirement", held, Decimal(credential["required"])))
    bars += [("section-minimums", Decimal(m["counted"]), Decimal(m["at_least"])) for m in credential["minimums"]]
    bars += [("section-limits", Decimal(c["earned"]), Decimal(c["cap"])) for c in credential["categories"].values()
             if c["cap"] is not None]
    bars += [("section-limits", Decimal(limit["counted"]), Decimal(limit["at_most"])) for limit in credential["limits"]]
    return bars


def _check_page(facts: dict[str, Any], result: dict[str, Any]) -> None:
    assert facts["scroll"] <= facts["inner"] and not facts["wide"], facts["wide"]
    assert facts["scripts"] == 0 and facts["external"] == 0  # self-contained: nothing to fetch, nothing to run
    credentials = [c for member in result["members"] for c in member["results"]]
    assert facts["members"] == len(result["members"])
    assert len(facts["credentials"]) == len(credentials)
    for shown, credential in zip(facts["credentials"], credentials, strict=True):
        assert shown["spec"] == (credential["spec"] or "")
        expected = _expected_bars(credential)
        assert [(b["section"], Decimal(b["now"]), Decimal(b["max"])) for b in shown["bars"]] == expected
        for bar, (_, value, maximum) in zip(shown["bars"], expected, strict=True):
            full = min(Decimal(1), value / maximum) if maximum else Decimal(1)
            assert abs(Decimal(str(bar["drawn"])) - full) < Decimal("0.02"), bar  # drawn as full as it says
        assert shown["rows"] == [[a["id"] or f"#{a['index'] + 1}", a["status"], a["credits"]]
                                 for a in credential["activities"]]
        if credential["required"] is not None:
            met = credential["met"]
            assert shown["state"] == ("met" if met else "not-met")
            assert shown["needed"] and (("met" in shown["needed"]) if met else ("still need" in shown["needed"]))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_report_renders_in_chromium(example: Path, browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / f"{example.stem}.html"
    done = _eval(str(example.relative_to(ROOT)), "--format", "html", "--explain", "-o", str(page))
    assert done.returncode in (0, 1) and not done.stderr, done.stderr
    result = _json(example)
    for screen, (width, height, mobile) in SCREENS.items():
        browser.media("screen")
        browser.open(page, width, height, mobile)
        _check_page(browser.evaluate(PAGE_FACTS), result)
        png = browser.screenshot(tmp_path / f"{example.stem}-{screen}.png")
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    browser.open(page, PRINT_WIDTH, 1123)
    browser.media("print")
    printed = browser.evaluate(PAGE_FACTS)
    assert printed["scroll"] <= PRINT_WIDTH and not printed["wide"], printed["wide"]
    browser.media("screen")
    if os.environ.get("CERULENG_UPDATE_SCREENSHOTS") == "1" and example.stem == "ny-member":
        browser.open(page, 1280, 900)
        browser.screenshot(ROOT / "docs" / "report-member.png", height=1500)


def _membership(path: Path, members: int) -> Path:
    """PACE members at every stage of their cycle: deadlines from last month to next year, 0 to 3.0 CEUs."""
    with path.open("w") as out:
        for number in range(members):
            month = 4 + number % 14
            certified = f"{2023 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-15"
            activities = [{"id": f"T{k}", "type": "training", "title": f"Training {k}", "date": "2024-05-10",
                           "minutes": 60 * (1 + (number * 7 + k) % 5), "topic": "Management Skills"}
                          for k in range(number % 9)]
            out.write(json.dumps({"member": f"M-B{number:03d}", "credentials": [
                {"spec": "asap-pace", "certified_on": certified}], "activities": activities}) + "\n")
    return path


def test_a_folder_report_has_a_page_per_member_and_an_index(browser: Browser, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    batch = _membership(tmp_path / "membership.jsonl", 40)
    inputs = [*(str(p.relative_to(ROOT)) for p in EXAMPLES), str(batch)]
    done = _eval(*inputs, "--format", "html", "-o", str(folder))
    assert done.returncode in (0, 1) and not done.stderr, done.stderr
    pages = sorted(p.name for p in folder.glob("*.html") if p.name != "index.html")
    assert len(pages) == len(EXAMPLES) + 40 and all(re.fullmatch(r"\d{6}-[A-Za-z0-9._-]+\.html", p) for p in pages)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*pages, "index.html", ".ceruleng-report"])
    browser.open(folder / "index.html", 1280, 900)
    index = browser.evaluate("""(() => ({
      links: [...document.querySelectorAll('table.all a')].map(a => a.getAttribute('href')),
      specs: [...document.querySelectorAll('table.specs tbody tr')].map(r => [r.dataset.spec, +r.dataset.met,
                                                                            +r.dataset.notMet]),
      histograms: document.querySelectorAll('svg.histogram').length,
      soon: [...document.querySelectorAll('table.soonest tbody a')].map(a => a.getAttribute('href')),
      scroll: document.documentElement.scrollWidth, inner: window.innerWidth}))()""")
    assert index["links"] == pages and index["scroll"] <= index["inner"]
    results = [_json(example) for example in [*EXAMPLES, batch]]
    credentials = [c for r in results for m in r["members"] for c in m["results"]]
    for spec, met, not_met in index["specs"]:
        mine = [c for c in credentials if c["spec"] == spec and c["required"] is not None]
        assert (met, not_met) == (sum(c["met"] for c in mine), sum(not c["met"] for c in mine)), spec
    assert index["histograms"] == len({c["spec"] for c in credentials if c["required"] is not None})
    soon = sorted((c["deadline"], c["member"]) for c in credentials if c["required"] is not None and not c["met"]
                  and AS_OF <= c["deadline"] <= "2025-08-30")
    assert [name.split("-", 1)[1].removesuffix(".html") for name in index["soon"]] == [m for _, m in soon]
    browser.screenshot(tmp_path / "index.png")
    if os.environ.get("CERULENG_UPDATE_SCREENSHOTS") == "1":
        browser.screenshot(ROOT / "docs" / "report-index.png", height=1100)
    browser.open(folder / pages[0], 390, 844, mobile=True)
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert browser.evaluate("document.querySelector('header.page a').getAttribute('href')") == "index.html"


def test_a_second_run_replaces_its_own_folder_but_never_another(tmp_path: Path) -> None:
    folder = tmp_path / "report"
    assert _eval(str(EXAMPLES[0]), "--format", "html", "-o", str(folder)).returncode in (0, 1)
    assert _eval(str(EXAMPLES[1]), "--format", "html", "-o", str(folder)).returncode in (0, 1)
    assert len(list(folder.glob("0*.html"))) == 1
    other = tmp_path / "documents"
    other.mkdir()
    (other / "thesis.txt").write_text("mine")
    done = _eval(str(EXAMPLES[0]), "--format", "html", "-o", str(other))
    assert done.returncode == 2 and "other files in it" in done.stderr
    assert sorted(p.name for p in other.iterdir()) == ["thesis.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


HOSTILE_TITLE = '<script>alert(1)</script>\u202e\x1b[31m"\'&<img src=x onerror=alert(2)>'


def test_member_text_is_shown_as_text_never_markup(browser: Browser, tmp_path: Path) -> None:
    member = {"member": "M-<b>1</b>\u2066", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
              "activities": [{"id": "A1\u202e", "type": "webinar", "title": HOSTILE_TITLE, "provider": "Lorman",
                              "date": "2025-02-11", "minutes": 90, "topic": "x" * 5000}]}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(member))
    page = tmp_path / "hostile.html"
    done = _eval(str(path), "--format", "html", "-o", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html and "<img" not in html and "<b>1</b>" not in html
    assert "\u202e" not in html and "\u2066" not in html and "\x1b" not in html
    browser.open(page, 1280, 900)
    shown = browser.evaluate("""(() => ({
      title: document.querySelector('tr.activity td:nth-child(3)').textContent,
      member: document.querySelector('article.member h2').textContent,
      images: document.images.length, scripts: document.scripts.length,
      scroll: document.documentElement.scrollWidth, inner: window.innerWidth}))()""")
    assert shown["title"] == '<script>alert(1)</script>\\u202e\\x1b[31m"\'&<img src=x onerror=alert(2)>'
    assert shown["member"] == "M-<b>1</b>\\u2066"
    assert shown["images"] == 0 and shown["scripts"] == 0 and shown["scroll"] <= shown["inner"]


def test_every_template_the_report_names_loads_from_the_package() -> None:
    """Templates are package data: each one the code or another template names is found by the package loader."""
    from ceruleng.report.html import environment
    from ceruleng.report.htmlviews import SECTIONS

    package = ROOT / "ceruleng" / "report"
    named = set(re.findall(r'"([\w/]+\.html\.j2)"', (package / "html.py").read_text()))
    for template in (package / "templates").rglob("*.j2"):
        named |= set(re.findall(r'"([\w/]+\.(?:html\.j2|css))"', template.read_text()))
    named |= {f"sections/{build.__name__.removesuffix('_section')}.html.j2" for build in SECTIONS}
    available = set(environment().list_templates())
    assert len(named) >= 12 and named <= available, named - available
