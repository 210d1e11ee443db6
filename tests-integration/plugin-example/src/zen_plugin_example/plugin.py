"""The hook implementations of zen-plugin-example.

zen imports this module at start-up (even for ``zen --help``), so it imports
nothing but the standard library and ``zen_core.hookspecs`` / ``zen_core.flavors``
(both light); the orchestrator, its config and the CLI command are named by
``"module:attribute"`` strings and imported only when used.

The lifecycle hooks append one JSON line per event to the file named by
``$ZEN_EXAMPLE_EVENTS``, and do nothing when it is unset. Step hooks run wherever
the step runs (a thread of the client, another process), so each line is written
with a single ``write`` on a file opened in append mode: concurrent writers never
interleave within a line.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from zen_core.plugins import CliRegistrar, FlavorRegistrar
    from zen_core.records import RunRecord, StepRecord
    from zen_core.spec import PipelineSpec, StepSpec

EVENTS_ENV = "ZEN_EXAMPLE_EVENTS"
FLAVOR = "example_serial"


# -- registration -------------------------------------------------------------


@hookimpl
def zen_register_flavors(registrar: FlavorRegistrar) -> None:
    registrar.add(
        Flavor(
            name=FLAVOR,
            type="orchestrator",
            config="zen_plugin_example.config:SerialOrchestratorConfig",
            implementation="zen_plugin_example.orchestrator:SerialOrchestrator",
            description="Runs steps one at a time, in dependency order, in this process (an example plugin).",
        )
    )


@hookimpl
def zen_register_cli_commands(registrar: CliRegistrar) -> None:
    registrar.add("", "example-hello", "zen_plugin_example.cli:hello", "Say hello from zen-plugin-example.")


# -- lifecycle ----------------------------------------------------------------


def _emit(event: str, **fields: Any) -> None:
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    line = (
        json.dumps(
            {"event": event, "time": time.time(), "pid": os.getpid(), **fields}, sort_keys=True, default=str
        )
        + "\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _run_fields(run: RunRecord, spec: PipelineSpec) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "pipeline": spec.name,
        "status": run.status,
        "orchestrator": run.orchestrator,
        "steps": [s.id for s in spec.steps],
    }


def _step_fields(run_id: str, step: StepSpec, record: StepRecord) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "step_id": step.id,
        "status": record.status,
        "attempt": record.attempt,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
    }


@hookimpl
def zen_run_started(run: RunRecord, spec: PipelineSpec) -> None:
    _emit("run_started", **_run_fields(run, spec))


@hookimpl
def zen_run_finished(run: RunRecord, spec: PipelineSpec) -> None:
    _emit("run_finished", **_run_fields(run, spec), error=run.error)


@hookimpl
def zen_step_finished(run_id: str, step: StepSpec, record: StepRecord) -> None:
    _emit("step_finished", **_step_fields(run_id, step, record))


@hookimpl
def zen_step_failed(run_id: str, step: StepSpec, record: StepRecord, error: BaseException) -> None:
    _emit("step_failed", **_step_fields(run_id, step, record), error=f"{type(error).__name__}: {error}")
