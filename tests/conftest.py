"""Shared test setup: every test, and every ceruleng process a test starts, uses a private check cache."""

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
