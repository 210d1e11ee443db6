"""Registers the ``vertex`` orchestrator and the ``gcs`` artifact store (imported at start-up).

Nothing from Google, kfp or zen-kubeflow is imported here: configs, settings and
implementations are ``"module:attribute"`` strings zen imports only when used.
"""

from __future__ import annotations

from typing import Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="vertex",
            type="orchestrator",
            config="zen_vertex.config:VertexOrchestratorConfig",
            implementation="zen_vertex.orchestrator:VertexOrchestrator",
            description="Compiles pipelines to KFP v2 IR and runs them on Vertex AI Pipelines.",
            settings="zen_vertex.settings:VertexSettings",
        )
    )
    registrar.add(
        Flavor(
            name="gcs",
            type="artifact_store",
            config="zen_vertex.config:GcsArtifactStoreConfig",
            implementation="zen_vertex.gcs:gcs_store",
            description="Artifacts and run records in a Cloud Storage bucket (gs://), for any orchestrator.",
        )
    )
