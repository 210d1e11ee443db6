"""The zen-core conformance suite on real Airflow, with the local operator.

Every step is an Airflow task (a PythonOperator running the universal
entrypoint); Airflow's own test runner (``DAG.test()``) schedules them, retries
them and skips the tasks after a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zen_core.testing.conformance import OrchestratorConformance


class TestInProcessRunner(OrchestratorConformance):
    """``DAG.test()`` in the test process: Airflow starts once for the whole class."""

    orchestrator_flavor = "airflow"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"mode": "local", "local_runner": "in_process", "progress": "plain"}


class TestSubprocessRunner(OrchestratorConformance):
    """The default: every run starts a fresh Python with Airflow (slower, isolated)."""

    orchestrator_flavor = "airflow"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"mode": "local", "local_runner": "subprocess", "progress": "plain", "timeout": 600}
