"""Stacks, components and the errors for missing or misconfigured flavors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zen_core.errors import FlavorNotFoundError, StackError
from zen_core.stacks import Stack, StackManager


def test_default_stack_needs_no_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    manager = StackManager()
    assert manager.active_name() == "default"
    stack = Stack()
    assert stack.component_model("orchestrator").flavor == "local"
    assert stack.artifact_store.url == str(tmp_path / "cfg" / "store")
    assert not (tmp_path / "cfg").exists()  # nothing written until something changes


def test_register_validates_config_and_names_field_and_flavor(zen_home: Path) -> None:
    manager = StackManager()
    with pytest.raises(StackError) as info:
        manager.register_component("artifact_store", "s3", "fsspec", {"url": "no-protocol"})
    assert "artifact_store flavor 'fsspec'" in str(info.value) and "url" in str(info.value)
    with pytest.raises(StackError, match="extra_field"):
        manager.register_component("artifact_store", "x", "local", {"path": "/tmp/x", "extra_field": 1})


def test_missing_flavor_names_the_package_to_install(zen_home: Path) -> None:
    manager = StackManager()
    with pytest.raises(FlavorNotFoundError) as info:
        manager.register_component("orchestrator", "k8s", "kubernetes", {})
    assert "pip install zen-k8s" in str(info.value)
    with pytest.raises(FlavorNotFoundError, match="no known package provides it"):
        manager.register_component("orchestrator", "x", "warp_drive", {})


def test_stack_file_round_trip_and_active_stack(zen_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = StackManager()
    manager.register_component("artifact_store", "other", "local", {"path": str(zen_home / "other")})
    manager.register_stack("second", {"orchestrator": "serial", "artifact_store": "other"})
    manager.save()
    data = json.loads((zen_home / "stacks.json").read_text())
    assert data["stacks"]["second"]["components"]["artifact_store"] == "other"
    again = StackManager()
    assert again.active_name() == "test"
    monkeypatch.setenv("ZEN_STACK", "second")
    assert Stack().artifact_store.url == str(zen_home / "other")
    with pytest.raises(StackError, match="used by stack"):
        again.delete_component("artifact_store", "other")
    with pytest.raises(StackError, match="no stack named 'nope'"):
        again.set_active("nope")
    with pytest.raises(StackError, match="cannot be deleted"):
        again.delete_stack("default")


def test_corrupt_stack_file_is_reported(zen_home: Path) -> None:
    (zen_home / "stacks.json").write_text("{not json")
    with pytest.raises(StackError, match="not a valid zen stack file"):
        StackManager()


def test_build_images_needs_an_image_builder(zen_home: Path) -> None:
    import sample_pipelines as sp

    from zen_core import plugins
    from zen_core.errors import ZenError
    from zen_core.images import build_images

    pm = plugins.plugin_manager()
    for impl in pm.hook.zen_build_images.get_hookimpls():  # e.g. zen-docker in a dev venv
        pm.unregister(impl.plugin)
    with pytest.raises(ZenError, match=r"no image builder is installed .*pip install zen-docker"):
        build_images(sp.squares.compile(), Stack())
