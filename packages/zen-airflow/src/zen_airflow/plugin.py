"""Registers the ``airflow`` orchestrator flavor (imported at start-up: keep it light).

Nothing here imports Airflow: the implementation is named by a string and imports
Airflow itself only when a DAG is run on this machine.
"""

from __future__ import annotations

from typing import Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="airflow",
            type="orchestrator",
            config="zen_airflow.config:AirflowOrchestratorConfig",
            implementation="zen_airflow.orchestrator:AirflowOrchestrator",
            description="Turns the pipeline into an Airflow DAG; runs it locally or on a deployment.",
            settings="zen_airflow.config:AirflowSettings",
        )
    )


@hookimpl
def zen_register_cli_commands(registrar: Any) -> None:
    registrar.add("", "airflow", "zen_airflow.cli:airflow", "Write pipelines as Airflow DAG files.")
