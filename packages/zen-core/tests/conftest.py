"""Fixtures for zen-core's own tests.

zen-core ships no orchestrator, so these tests register a tiny serial one through
the plugin manager, exactly as an installed plugin would be registered.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from zen_core import plugins
from zen_core.dag import DagScheduler
from zen_core.errors import StepFailedError
from zen_core.execution import StepRun, execute_step
from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.records import StepRecord
from zen_core.stacks import StackManager


class SerialConfig(BaseModel):
    pass


class SerialOrchestrator(Orchestrator):
    """Runs steps one by one in this thread: the smallest correct orchestrator."""

    flavor = "serial"

    def run(self, request: RunRequest) -> str:
        sched = DagScheduler(request.spec)
        while not sched.done:
            for sid in sched.take_ready():
                ctx = StepRun(
                    spec=request.spec,
                    step=request.spec.step(sid),
                    run_id=request.run_id,
                    runs=request.runs,
                    parameters=request.parameters,
                    enable_cache=request.enable_cache,
                    func=request.steps.get(sid),
                )
                try:
                    status = execute_step(ctx).status
                except StepFailedError:
                    status = "failed"
                for skipped in sched.finish(sid, status):
                    request.runs.write_step(
                        StepRecord(run_id=request.run_id, step_id=skipped, status="skipped")
                    )
        return sched.outcome()


class TestPlugin:
    """Registered into the plugin manager like an entry-point plugin."""

    events: list[tuple[str, Any]] = []

    @hookimpl
    def zen_register_flavors(self, registrar: Any) -> None:
        registrar.add(
            Flavor(
                name="serial",
                type="orchestrator",
                config=f"{__name__}:SerialConfig",
                implementation=f"{__name__}:SerialOrchestrator",
                description="test orchestrator",
            )
        )

    @hookimpl
    def zen_run_started(self, run: Any) -> None:
        self.events.append(("run_started", run.run_id))

    @hookimpl
    def zen_run_finished(self, run: Any) -> None:
        self.events.append(("run_finished", run.status))

    @hookimpl
    def zen_step_finished(self, run_id: str, step: Any, record: Any) -> None:
        self.events.append(("step_finished", (step.id, record.status)))

    @hookimpl
    def zen_step_failed(self, run_id: str, step: Any, record: Any, error: BaseException) -> None:
        self.events.append(("step_failed", (step.id, str(error))))


@pytest.fixture
def zen_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty zen config dir with the serial test orchestrator as the active stack."""
    home = tmp_path / "zen"
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(home))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    plugins.reset()
    plugin = TestPlugin()
    TestPlugin.events = []
    plugins.plugin_manager().register(plugin, name="zen-core-tests")
    manager = StackManager()
    manager.register_component("orchestrator", "serial", "serial", {})
    manager.register_stack("test", {"orchestrator": "serial", "artifact_store": "default"})
    manager.set_active("test")
    manager.save()
    yield home
    plugins.reset()
    sys.modules.pop("conftest", None)


@pytest.fixture
def events(zen_home: Path) -> list[tuple[str, Any]]:
    return TestPlugin.events
