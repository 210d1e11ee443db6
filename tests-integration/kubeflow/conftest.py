"""Fixtures of the Kubeflow integration tests (helpers live in kfp_engine.py).

Every test here needs a Docker API: the session-wide ``container_engine`` fixture
(tests-integration/conftest.py) uses a working one or starts podman, and fails the
tests, never skips them, when none can be had.
"""

from __future__ import annotations

from typing import Any

import pytest
from kfp_engine import docker_problem, step_image


@pytest.fixture(scope="session", autouse=True)
def _engine(container_engine: Any) -> None:
    problem = docker_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def image(_engine: None) -> str | None:
    return step_image()


@pytest.fixture(autouse=True)
def _no_leftover_containers() -> None:
    """Fail a test that leaves step containers behind (labelled zen.kubeflow.run=...)."""
    yield
    import docker

    client = docker.from_env(timeout=30)
    try:
        left = client.containers.list(all=True, filters={"label": "zen.kubeflow.run"})
        for c in left:
            c.remove(force=True)
    finally:
        client.close()
    assert not left, f"containers left behind: {[c.name for c in left]}"
