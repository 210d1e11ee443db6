"""The zen-core conformance suite on the ``vertex`` flavor, through the local Vertex service.

Each run is submitted by google-cloud-aiplatform to the local Vertex service, which runs
the IR under KFP's local executor: every step in its own container, reading and writing
a ``gcs`` artifact store in the GCS emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_vertex import FakeVertex
from vertex_engine import orchestrator_config, store_config

from zen_core.testing.conformance import OrchestratorConformance

_SERVICE: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _service(vertex: FakeVertex, image: str) -> None:
    # module scope: set up before the suite's own (function-scoped) stack fixture runs
    _SERVICE.update(vertex=vertex, image=image)


class TestVertexConformance(OrchestratorConformance):
    orchestrator_flavor = "vertex"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return orchestrator_config(_SERVICE["vertex"], _SERVICE["image"])

    def artifact_store(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        return "gcs", store_config(f"conformance/{tmp_path.name}")
