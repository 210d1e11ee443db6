"""Fixtures for zen-core's own tests.

zen-core ships no orchestrator, so these tests register a tiny serial one
(serial_plugin.py) through the plugin manager, as an installed plugin would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serial_plugin import TestPlugin

from zen_core import plugins
from zen_core.stacks import StackManager


@pytest.fixture
def zen_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty zen config dir with the serial test orchestrator as the active stack."""
    home = tmp_path / "zen"
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(home))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    plugins.reset()
    plugin = TestPlugin()
    TestPlugin.events = []
    plugins.plugin_manager().register(plugin, name="zen-core-tests")
    manager = StackManager()
    manager.register_component("orchestrator", "serial", "serial", {})
    manager.register_stack("test", {"orchestrator": "serial", "artifact_store": "default"})
    manager.set_active("test")
    manager.save()
    yield home
    plugins.reset()


@pytest.fixture
def events(zen_home: Path) -> list[tuple[str, Any]]:
    return TestPlugin.events
