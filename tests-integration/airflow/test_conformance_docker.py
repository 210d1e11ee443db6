"""The zen-core conformance suite on real Airflow with DockerOperator.

Every step runs in a container of the image zen-docker builds, started by
Airflow's DockerOperator through a Docker API: podman's, set up by
``eval "$(tools/container-engine/setup.sh)"`` (its env file is read when
DOCKER_HOST is unset). The local artifact store is bind-mounted into each
container at the same path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import installed

from zen_core.testing.conformance import OrchestratorConformance


def _missing() -> str | None:
    for module in ("zen_docker", "docker", "airflow.providers.docker"):
        if not installed(module):
            return f"needs {module} (pip install zen-docker 'zen-airflow[docker]')"
    return None


class TestDockerOperator(OrchestratorConformance):
    """Every step through DockerOperator (the stack's default operator), run by DAG.test()."""

    orchestrator_flavor = "airflow"

    @pytest.fixture(autouse=True)
    def _engine(self, container_engine: Any) -> None:
        """A real Docker API (tests-integration/conftest.py starts podman if none answers)."""
        problem = _missing()
        if problem:
            pytest.fail(problem, pytrace=False)

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "mode": "local",
            "local_runner": "in_process",
            "progress": "plain",
            "step_defaults": {"operator": "docker"},
        }

    @pytest.fixture(autouse=True)
    def _small_build_context(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # zen-docker copies the working directory into the image: keep it small
        # (the conformance pipelines come with zen-core, installed in the image)
        context = tmp_path / "context"
        context.mkdir()
        monkeypatch.chdir(context)
