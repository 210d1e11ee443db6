"""Registers the ``github`` orchestrator flavor (imported at start-up: keep it light).

Nothing here imports PyGithub, PyYAML or the orchestrator: zen imports them from the
``"module:attribute"`` strings only when the flavor is used.
"""

from __future__ import annotations

from typing import Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="github",
            type="orchestrator",
            config="zen_github.config:GitHubOrchestratorConfig",
            implementation="zen_github.orchestrator:GitHubOrchestrator",
            description="Runs each step as a job of a GitHub Actions workflow (or locally with act).",
            settings="zen_github.config:GitHubSettings",
        )
    )


@hookimpl
def zen_register_cli_commands(registrar: Any) -> None:
    registrar.add(
        "", "github", "zen_github.cli:github", "GitHub Actions: commit pipelines' workflows (schedules)."
    )
