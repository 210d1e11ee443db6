"""The zen-core conformance suite on kfp.local's DockerRunner (the orchestrator's local mode).

Every pipeline is compiled to KFP IR, loaded back by kfp and executed by KFP's
own local executor, each step in a container on the Docker API, reading and
writing a shared `local` artifact store mounted into the containers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kfp_engine import step_image

from zen_core.testing.conformance import OrchestratorConformance


class TestKfpLocalConformance(OrchestratorConformance):
    orchestrator_flavor = "kubeflow"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        config: dict[str, Any] = {"local": True, "echo_logs": False}
        image = step_image()
        if image:
            config["image"] = image
        return config

    def artifact_store(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        return "local", {"path": str(tmp_path / "store"), "shared": True}
