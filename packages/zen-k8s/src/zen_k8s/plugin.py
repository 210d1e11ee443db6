"""Registers the ``kubernetes`` orchestrator flavor and the ``zen k8s`` commands.

Imported whenever zen starts (even for ``zen --help``): it imports nothing but
zen-core's light modules. The kubernetes client is imported only when a run is
submitted, stopped or scheduled.
"""

from __future__ import annotations

from typing import Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="kubernetes",
            type="orchestrator",
            config="zen_k8s.config:KubernetesOrchestratorConfig",
            implementation="zen_k8s.orchestrator:KubernetesOrchestrator",
            description="Runs each step as a Kubernetes Job, driven by an orchestrator Job in the cluster.",
            settings="zen_k8s.settings:KubernetesSettings",
        )
    )


@hookimpl
def zen_register_cli_commands(registrar: Any) -> None:
    registrar.add("", "k8s", "zen_k8s.cli:k8s", "Kubernetes: schedules (CronJobs) and RBAC.")
