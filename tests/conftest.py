"""Shared test setup: every test, and every ceruleng process a test starts, uses a private check cache; `cache` gives
a test a cache folder of its own (empty, and turned on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_check_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("ceruleng-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("CERULENG_CACHE_DIR", str(folder))
    yield folder
    patch.undo()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own (not made yet), with the cache turned on."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("CERULENG_CACHE_DIR", str(folder))
    monkeypatch.delenv("CERULENG_NO_CACHE", raising=False)
    return folder
