"""The specs a running service scores with: compiled once, swapped whole on reload, never changed in place.

Input: the `--rules` paths. Output: a `Loaded` snapshot — compiled specs by id, their report facts, what
`GET /v1/specs` lists, and a generation number. A request takes the snapshot current when it starts and keeps it to
the end, so a reload (on SIGHUP) never changes the rules under a request in flight; a reload that fails (a spec with
errors, a file gone) keeps the previous snapshot and records why.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ceruleng.errors import CerulengError, SpecError
from ceruleng.report.facts import SpecFacts, spec_facts


class SpecsBroken(CerulengError):
    """The specs under --rules have errors; the message holds every diagnostic, as `ceruleng check` prints them."""


@dataclass(frozen=True)
class Loaded:
    specs: Mapping[str, Any]
    facts: Mapping[str, SpecFacts]
    listing: list[dict[str, Any]]
    generation: int
    loaded_at: str
    scorers: dict[bool, dict[str, Any]] = field(default_factory=dict)
    """Scorers shared by the requests of this generation, per explain flag (a Scorer holds nothing per member)."""

    def shared_scorers(self, explain: bool) -> dict[str, Any]:
        return self.scorers.setdefault(explain, {})


def compile_rules(rules: tuple[str, ...]) -> dict[str, Any]:
    """Every spec under `rules`, compiled; SpecsBroken with the diagnostics when any has errors."""
    from ceruleng.engine import load_specs
    from ceruleng.report.diagnostics import render_text, spec_error_files

    try:
        return load_specs(rules)
    except SpecError as exc:
        raise SpecsBroken(render_text(spec_error_files(exc), 20).rstrip("\n")) from None


def _listing(specs: Mapping[str, Any], facts: Mapping[str, SpecFacts]) -> list[dict[str, Any]]:
    listed = []
    for spec_id, spec in sorted(specs.items()):
        model = spec.model
        data = getattr(model.document, "data", {})
        language = data.get("ceruleng") if isinstance(data, dict) else None
        fact = facts[spec_id]
        listed.append({"id": spec_id, "title": model.title, "body": model.body, "unit": model.unit_name,
                       "places": model.places, "language_version": str(language) if language is not None else None,
                       "version": (fact.content or "")[:12] or None, "sha256": fact.content,
                       "path": str(model.path)})
    return listed


class Registry:
    """The current snapshot, and reloading it (one reload at a time; requests never wait for one)."""

    def __init__(self, rules: tuple[str, ...]) -> None:
        self.rules = rules
        self.generation = 0
        self.current = self._load()
        self.last_error: str | None = None
        self.reloads = 0
        self._lock = threading.Lock()

    def _load(self) -> Loaded:
        specs = compile_rules(self.rules)
        facts = spec_facts(specs)
        self.generation += 1
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return Loaded(specs, facts, _listing(specs, facts), self.generation, stamp)

    def reload(self) -> bool:
        """Compile the rules again and swap them in; on failure keep the current ones. Whether it succeeded."""
        with self._lock:
            try:
                fresh = self._load()
            except CerulengError as exc:
                self.last_error = str(exc)
                return False
            self.current = fresh  # one assignment: a request sees the old snapshot or the new, never a mix
            self.last_error = None
            self.reloads += 1
            return True
