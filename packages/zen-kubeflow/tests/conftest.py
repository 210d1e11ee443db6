"""Fixtures of zen-kubeflow's unit tests (no network, no Docker, no KFP server)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def zen_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ZEN_CONFIG_DIR with the plugin registry reset."""
    from zen_core import plugins

    config = tmp_path / "zen-config"
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(config))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()
    yield config
    plugins.reset()
