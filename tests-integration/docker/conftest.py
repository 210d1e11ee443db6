"""A real container engine for the docker integration tests, started once per session.

If ``DOCKER_HOST`` (or the env file ``tools/container-engine/setup.sh`` writes)
already points at a working Docker API, it is used as is and left running. Otherwise
``setup.sh`` starts rootful podman serving the Docker API and a local registry, and
this session stops what it started at the end. On a machine with a real Docker
daemon, ``setup.sh`` reports that daemon and the same tests run against it; the
registry is then a ``registry:2`` container on 127.0.0.1.

The engine not starting is a failure, never a skip: these tests exist to prove the
flow on a real engine.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

API_VERSION = "1.41"


@pytest.fixture(scope="session", autouse=True)
def engine(container_engine: Any) -> Any:
    """Every test here runs on the real engine (tests-integration/conftest.py)."""
    return container_engine


@pytest.fixture(scope="session")
def registry(engine: Any) -> str:
    """host:port of the test registry (insecure, plain HTTP, on 127.0.0.1)."""
    return os.environ["ZEN_TEST_REGISTRY"]


@pytest.fixture(scope="session")
def docker_client(engine: Any) -> Iterator[Any]:
    import docker

    client = docker.from_env(version=API_VERSION, timeout=600)
    yield client
    client.close()


# -- a user's project: a folder with a pipeline module, and a stack using local_docker ------


class Project:
    """A folder holding user code, made the working directory (so it is the build context)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def module(self, name: str, text: str) -> Any:
        """Write ``<name>.py`` and import it fresh (a pipeline module the containers import too)."""
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
    # modules are rewritten within a second: never let a stale .pyc stand in for them
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    proj = Project(root)
    yield proj
    for name in proj.modules:
        sys.modules.pop(name, None)


@pytest.fixture
def docker_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: str) -> Path:
    """The active stack: local_docker + a local artifact store + the test registry. Returns the store path."""
    from zen_core import plugins
    from zen_core.stacks import StackManager

    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()
    store = tmp_path / "store"
    manager = StackManager()
    manager.register_component("artifact_store", "store", "local", {"path": str(store)})
    manager.register_component("orchestrator", "docker", "local_docker", {"progress": "plain"})
    manager.register_component(
        "container_registry", "registry", "default", {"uri": registry, "insecure": True}
    )
    manager.register_stack(
        "docker",
        {"orchestrator": "docker", "artifact_store": "store", "container_registry": "registry"},
    )
    manager.set_active("docker")
    manager.save()
    return store
