"""The zen-core conformance suite on the local orchestrator, in both modes."""

from pathlib import Path
from typing import Any

from zen_core.testing.conformance import OrchestratorConformance


class TestThreadMode(OrchestratorConformance):
    orchestrator_flavor = "local"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"mode": "thread", "progress": "plain"}


class TestProcessMode(OrchestratorConformance):
    orchestrator_flavor = "local"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"mode": "process", "progress": "plain", "max_parallelism": 4}
