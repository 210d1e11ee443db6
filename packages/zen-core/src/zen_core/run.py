"""The client side of a run: compile, store, hand to the orchestrator, report."""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import RunFailedError, ZenError
from .plugins import materializer_registry, notify
from .records import RunRecord, RunStore, StepRecord

if TYPE_CHECKING:
    from .pipelines import Pipeline
    from .spec import PipelineSpec
    from .stacks import Stack


def new_run_id(name: str) -> str:
    """``<name>-<UTC time>-<random>``: sortable, unique, safe in paths and DNS names."""
    base = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{base}-{stamp}-{secrets.token_hex(3)}"


@dataclass
class RunResult:
    """A run as the client sees it; ``load(step, output)`` reads an output back."""

    run: RunRecord
    runs: RunStore

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def steps(self) -> dict[str, StepRecord]:
        return self.runs.read_steps(self.run.run_id)

    def load(self, step_id: str, output: str = "output") -> Any:
        record = self.runs.read_step(self.run.run_id, step_id)
        if record is None or output not in record.outputs:
            raise ZenError(f"run '{self.run_id}' has no output '{output}' of step '{step_id}'")
        art = record.outputs[output]
        store = self.runs.store
        with store.open_read(store.key_of_uri(art.uri)) as f:
            return materializer_registry().by_id(art.materializer).load(f, Any)


def finalize_run(
    runs: RunStore, run: RunRecord, spec: PipelineSpec, status: str, error: str | None = None
) -> RunRecord:
    """Write the run's final state and tell the lifecycle hooks."""
    # keep an error the orchestrator already recorded (e.g. the backend's failing task)
    update = {"status": status, "finished_at": time.time(), "error": error or run.error}
    run = run.model_copy(update=update)
    runs.write_run(run)
    notify("zen_run_finished", run=run, spec=spec)
    return run


def run_pipeline(
    pipeline: Pipeline[Any, Any],
    *,
    parameters: Mapping[str, Any],
    run_name: str | None = None,
    enable_cache: bool | None = None,
    stack_name: str | None = None,
    raise_on_failure: bool = True,
) -> RunResult:
    """Compile ``pipeline``, validate everything, then run it on the stack."""
    from .orchestrator import RunRequest
    from .stacks import Stack

    spec, steps_by_id = pipeline.compile_with_steps()
    params = pipeline.resolve_parameters(parameters)
    stack: Stack = Stack(stack_name)
    orchestrator = stack.orchestrator
    orchestrator.validate(spec)  # before anything is stored or submitted
    runs = RunStore(stack.artifact_store)
    run_id = new_run_id(run_name or spec.name)
    run = RunRecord(
        backend={"client_pid": os.getpid(), "client_host": socket.gethostname()},
        run_id=run_id,
        pipeline=spec.name,
        spec_digest=spec.digest(),
        parameters=params,
        stack=stack.name,
        orchestrator=orchestrator.flavor,
        enable_cache=spec.enable_cache if enable_cache is None else enable_cache,
    )
    spec_uri = runs.write_spec(run_id, spec)
    runs.write_run(run)
    notify("zen_run_started", run=run, spec=spec)
    request = RunRequest(
        spec=spec,
        run=run,
        runs=runs,
        spec_uri=spec_uri,
        parameters=params,
        enable_cache=enable_cache,
        steps=steps_by_id,
    )
    try:
        status = orchestrator.run(request)
    except KeyboardInterrupt:
        finalize_run(runs, run, spec, "stopped", "interrupted")
        raise
    except Exception as exc:
        run = finalize_run(runs, run, spec, "failed", f"{type(exc).__name__}: {exc}")
        raise
    if status != "running":
        run = finalize_run(runs, run, spec, status)
    result = RunResult(run=run, runs=runs)
    if status == "failed" and raise_on_failure:
        failed = {sid: r for sid, r in result.steps.items() if r.status == "failed"}
        raise RunFailedError(
            run_id,
            {sid: r.error or "" for sid, r in failed.items()},
            {sid: r.traceback or "" for sid, r in failed.items()},
        )
    return result
