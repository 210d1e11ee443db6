"""Registers the ``local`` orchestrator flavor (imported at start-up: keep it light)."""

from __future__ import annotations

from typing import Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="local",
            type="orchestrator",
            config="zen_local.config:LocalOrchestratorConfig",
            implementation="zen_local.orchestrator:LocalOrchestrator",
            description="Runs steps on this machine as soon as their inputs exist, in parallel.",
        )
    )
