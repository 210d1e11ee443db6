"""A minimal serial orchestrator and a recording plugin, registered by the tests.

Kept out of conftest.py so its "module:Class" strings are unambiguous.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from zen_core.dag import DagScheduler
from zen_core.execution import StepRun, execute_attempt
from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl
from zen_core.orchestrator import Orchestrator, RunRequest


class SerialConfig(BaseModel):
    pass


class SerialOrchestrator(Orchestrator):
    """Runs steps one by one in this thread: the smallest correct orchestrator."""

    flavor = "serial"

    def imports_steps(self) -> bool:
        return False  # steps run in this process

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
                status = execute_attempt(ctx).status
                for skipped in sched.finish(sid, status):
                    request.runs.write_skipped(request.run_id, skipped, sched.skip_reason[skipped])
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
