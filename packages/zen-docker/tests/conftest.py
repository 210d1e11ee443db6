"""Fixtures of zen-docker's unit tests: no container engine, no network.

Every test gets its own zen config dir and wheel cache. Development mode is off by
default (the zen packages become ``name==version`` pins, no wheel is built); tests of
development mode turn it on. The Docker engine and the registry are fakes
(``docker_fakes``) unless a test says otherwise.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_fakes import FakeClient, FakeEngine

from zen_core import plugins
from zen_core.stacks import StackManager

REGISTRY = "127.0.0.1:5999"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.setenv("ZEN_DOCKER_CACHE_DIR", str(tmp_path / "zen-docker-cache"))
    monkeypatch.setenv("ZEN_DOCKER_DEV_MODE", "0")
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    plugins.reset()


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """A fake Docker engine + registry that zen-docker's builder and orchestrator talk to."""
    from zen_docker import builder
    from zen_docker.registry import ContainerRegistry

    fake = FakeEngine()
    fake.images.add("python:3.11-slim")
    monkeypatch.setattr(builder, "docker_client", lambda *a, **k: FakeClient(fake))

    def has_image(self: ContainerRegistry, image: str) -> bool:
        fake.calls.append(("registry.has", image))
        return image in fake.registry

    monkeypatch.setattr(ContainerRegistry, "has_image", has_image)
    return fake


class Project:
    """The user's code folder, which is the working directory and so the build context."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def module(self, name: str, text: str) -> Any:
        self.write(f"{name}.py", text)
        sys.modules.pop(name, None)
        importlib.invalidate_caches()
        self.modules.append(name)
        return importlib.import_module(name)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    proj = Project(root)
    yield proj
    for name in proj.modules:
        sys.modules.pop(name, None)


@pytest.fixture
def make_stack(tmp_path: Path) -> Any:
    """``make_stack(registry=True, **orchestrator_config)`` registers and activates a stack."""

    def make(registry: bool = True, **orchestrator_config: Any) -> Path:
        store = tmp_path / "store"
        manager = StackManager()
        manager.register_component("artifact_store", "store", "local", {"path": str(store)}, replace=True)
        config = {"progress": "plain", **orchestrator_config}
        manager.register_component("orchestrator", "docker", "local_docker", config, replace=True)
        components = {"orchestrator": "docker", "artifact_store": "store"}
        if registry:
            manager.register_component(
                "container_registry", "registry", "default", {"uri": REGISTRY, "insecure": True}, replace=True
            )
            components["container_registry"] = "registry"
        manager.register_stack("docker", components, replace=True)
        manager.set_active("docker")
        manager.save()
        return store

    return make
