"""Fixtures of zen-vertex's unit tests: no network, no Docker, no Vertex.

Every test runs under :func:`zen_vertex.testing.loopback_only`, so a test that would
reach a Google API (or a metadata server) fails at once instead of hanging, and gets
its own zen config dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zen_core import plugins
from zen_vertex.testing import loopback_only


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    plugins.reset()
    with loopback_only():
        yield
    plugins.reset()
