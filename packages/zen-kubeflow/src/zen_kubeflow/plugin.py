"""Registers the ``kubeflow`` orchestrator flavor (imported at start-up: keep it light).

Nothing from kfp is imported here: the config, settings and implementation are
named by ``"module:attribute"`` strings that zen imports only when they are used.
"""

from __future__ import annotations

from typing import Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="kubeflow",
            type="orchestrator",
            config="zen_kubeflow.config:KubeflowOrchestratorConfig",
            implementation="zen_kubeflow.orchestrator:KubeflowOrchestrator",
            description="Compiles pipelines to KFP v2 IR and runs them on Kubeflow Pipelines.",
            settings="zen_kubeflow.settings:KubeflowSettings",
        )
    )
