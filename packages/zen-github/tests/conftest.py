"""Fixtures of zen-github's unit tests (helpers live in ghtest.py, importable by tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ghtest import GitHubStack


@pytest.fixture
def github_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitHubStack:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    return GitHubStack(tmp_path)
