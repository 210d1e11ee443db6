"""The ``vertex`` orchestrator: compile to KFP IR, submit a Vertex pipeline job, follow it.

A run goes like this:

1. The steps' images come from the ``zen_build_images`` hook (zen-docker builds them and
   pushes them to the stack's container registry, e.g. Artifact Registry), or from the
   config's ``image``.
2. zen-kubeflow's compiler makes the IR (:mod:`zen_vertex.compiler`): one task per step
   running zen's universal entrypoint, the artifact store URL baked in, an exit handler
   that completes the zen records whatever happens.
3. A ``PipelineJob`` is created with the zen run id as its job id, the pipeline
   parameters and ``zen_run_id`` as runtime parameters, the config's pipeline root,
   service account, network, encryption key and labels (plus ``zen-run-id`` and
   ``zen-pipeline``). A pipeline whose ``vertex`` settings hold a ``schedule`` becomes
   a Vertex pipeline job schedule instead.
4. Unless ``synchronous`` is off, the client polls the job every ``poll_interval``
   seconds, up to ``timeout`` (then it detaches, or cancels the job). When the job ends,
   a step task that Vertex reports failed without a zen record of its failure (its
   container never started, the machine was lost) gets a failed record carrying
   Vertex's error; the run's status is zen's view of its steps.

``stop`` cancels the job (or pauses the schedule) and waits for the job to end.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from typing import Any

from zen_core.errors import PipelineDefinitionError, StackError, ZenError
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.spec import PipelineSpec

from . import compiler
from .config import VertexOrchestratorConfig
from .settings import SETTINGS_KEY, VertexSettings, merged_settings
from .states import FAILED_TASK_STATES, is_final, kfp_state

#: Vertex pipeline job ids: ^[a-z0-9][a-z0-9-]{0,127}$
_JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_LABEL_VALUE = re.compile(r"[^a-z0-9_-]+")
#: reads of a job's state in a row that may fail before waiting gives up
POLL_ATTEMPTS = 5


def _say(message: str) -> None:
    print(f"zen: {message}", file=sys.stderr, flush=True)


def label_value(text: str) -> str:
    """``text`` as a Vertex label value: lowercase letters, digits, '_', '-'; at most 63."""
    return _LABEL_VALUE.sub("-", text.lower()).strip("-")[:63]


def console_url(job_name: str) -> str:
    """The Cloud console page of a job ``projects/P/locations/L/pipelineJobs/ID``."""
    parts = job_name.split("/")
    if len(parts) != 6:
        return ""
    project, location, job_id = parts[1], parts[3], parts[5]
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{location}/pipelines/runs/{job_id}"
        f"?project={project}"
    )


class VertexTimeoutError(ZenError):
    """The run did not end within the orchestrator's ``timeout`` and its job was cancelled."""


class VertexOrchestrator(Orchestrator):
    flavor = "vertex"
    settings_model = VertexSettings
    config: VertexOrchestratorConfig

    def __init__(self, name: str, config: Any, stack: Any) -> None:
        super().__init__(name, config, stack)
        self._api: Any = None

    @property
    def api(self) -> Any:
        """The :class:`~zen_vertex.vertex_api.VertexApi` (imports the SDK on first use)."""
        if self._api is None:
            from .vertex_api import VertexApi

            self._api = VertexApi(self.config)
        return self._api

    # -- validation and compiling ----------------------------------------------------------
    def validate(self, spec: PipelineSpec) -> None:
        super().validate(spec)
        for step in spec.steps:
            if "schedule" in step.settings.get(SETTINGS_KEY, {}):
                raise PipelineDefinitionError(
                    f"pipeline '{spec.name}', step '{step.id}': 'schedule' is a pipeline-level "
                    f"'{SETTINGS_KEY}' setting"
                )
        reserved = compiler.reserved_parameter_names()
        for name in spec.parameters:
            if name in reserved:
                raise PipelineDefinitionError(
                    f"pipeline '{spec.name}': parameter name '{name}' is reserved by the vertex flavor"
                )
        store = self.stack.artifact_store
        if store.is_local or store.url.startswith("memory://"):
            raise StackError(
                f"the vertex orchestrator '{self.name}' runs steps on Google Cloud, which cannot see "
                f"the artifact store {store.url}: use a Cloud Storage store "
                "(zen artifact-store register NAME --flavor gcs -c path=gs://BUCKET/zen)"
            )
        self.pipeline_root(store)

    def pipeline_root(self, store: Any) -> str:
        """Where Vertex keeps the jobs' own outputs: the config's, else ``<store>/vertex``."""
        if self.config.pipeline_root:
            return self.config.pipeline_root
        url = str(store.url)
        if url.startswith(("gs://", "gcs://")):
            return "gs://" + url.split("://", 1)[1] + "/vertex"
        raise StackError(
            f"the vertex orchestrator '{self.name}' needs a gs:// pipeline_root: set it, or use a "
            f"Cloud Storage artifact store (the store {url} is not one)"
        )

    def images(self, spec: PipelineSpec) -> dict[str, str]:
        """``{step_id: image}``: the config's image, else the image builder plugin's."""
        if self.config.image:
            return {s.id: self.config.image for s in spec.steps}
        from zen_core.images import build_images

        return build_images(spec, self.stack)

    def compile(self, spec: PipelineSpec, store: Any | None = None) -> compiler.CompiledPipeline:
        """Compile ``spec`` for this orchestrator's stack (builds the images if needed)."""
        store = store if store is not None else self.stack.artifact_store
        return compiler.compile_for_vertex(
            spec,
            self.images(spec),
            store_url=store.url,
            environment=self.config.environment,
            python=self.config.python,
        )

    def compile_native(self, spec: PipelineSpec) -> tuple[str, str]:
        self.validate(spec)
        return self.compile(spec).to_yaml(), ".yaml"

    # -- what is submitted -----------------------------------------------------------------
    def labels(self, request: RunRequest) -> dict[str, str]:
        return {
            **self.config.labels,
            "zen-run-id": label_value(request.run_id),
            "zen-pipeline": label_value(request.spec.name),
        }

    def parameter_values(self, request: RunRequest, *, with_run_id: bool = True) -> dict[str, Any]:
        values = dict(request.parameters)
        if with_run_id:
            values[compiler.RUN_ID_INPUT] = request.run_id
        return values

    def job_id(self, run_id: str) -> str:
        if not _JOB_ID.match(run_id):
            raise ZenError(
                f"run id '{run_id}' cannot be a Vertex pipeline job id (lowercase letters, digits "
                "and '-', at most 128 characters, starting with a letter or digit)"
            )
        return run_id

    def prepare(
        self, request: RunRequest, compiled: compiler.CompiledPipeline, *, scheduled: bool = False
    ) -> Any:
        """The SDK's ``PipelineJob`` for this run, ready to submit (nothing is sent)."""
        return self.api.build_job(
            compiled.pipeline_spec,
            job_id=self.job_id(request.run_id),
            display_name=request.run_id if not scheduled else request.spec.name,
            pipeline_root=self.pipeline_root(request.runs.store),
            parameter_values=self.parameter_values(request, with_run_id=not scheduled),
            labels=self.labels(request) if not scheduled else self._schedule_labels(request),
        )

    def _schedule_labels(self, request: RunRequest) -> dict[str, str]:
        # one schedule starts many runs: no zen run id on them (each run gets its own)
        return {**self.config.labels, "zen-pipeline": label_value(request.spec.name)}

    # -- running -----------------------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        compiled = self.compile(request.spec, request.runs.store)
        schedule = merged_settings(request.spec).schedule
        if schedule is not None:
            job = self.prepare(request, compiled, scheduled=True)
            display = schedule.display_name or request.spec.name
            name = self.api.create_schedule(job, schedule, display)
            self._remember(request, vertex_schedule=name, vertex_project=self.config.project)
            _say(
                f"created Vertex pipeline job schedule {name} ({schedule.cron}); each job it starts is "
                f"recorded as a zen run of its own. Pause it with: zen run stop {request.run_id}"
            )
            return "running"
        job = self.prepare(request, compiled)
        name = self.api.submit(job)
        self._remember(request, vertex_job=name, vertex_console=console_url(name) or None)
        _say(f"submitted Vertex pipeline job {name} (run {request.run_id})")
        if console_url(name):
            _say(f"follow it at {console_url(name)}")
        if not self.config.synchronous:
            return "running"
        return self._wait(request, name, compiled)

    def _remember(self, request: RunRequest, **backend: Any) -> None:
        # request.run is the record the client finalizes: keep the ids on it
        request.run.backend.update({k: v for k, v in backend.items() if v is not None})
        request.runs.write_run(request.run)

    def _wait(self, request: RunRequest, name: str, compiled: compiler.CompiledPipeline) -> str:
        cfg = self.config
        deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
        seen: dict[str, str] = {}
        try:
            while True:
                job = self._poll(name)
                self._echo_progress(request, seen)
                if is_final(job.state):
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    return self._timed_out(request, name, compiled, seen)
                time.sleep(cfg.poll_interval)
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                self.api.cancel(name)
            with contextlib.suppress(Exception):
                compiler.finalize_records(request.runs, request.spec, request.run_id, "CANCELED")
            raise
        return self._conclude(request, job, compiled, seen)

    def _timed_out(
        self, request: RunRequest, name: str, compiled: compiler.CompiledPipeline, seen: dict[str, str]
    ) -> str:
        cfg = self.config
        assert cfg.timeout is not None
        if cfg.on_timeout == "detach":
            _say(
                f"stopped waiting after {cfg.timeout:g}s; Vertex pipeline job {name} goes on and its exit "
                f"handler records how it ends (follow it with: zen run show {request.run_id})"
            )
            return "running"
        _say(
            f"run {request.run_id} did not end within {cfg.timeout:g}s: cancelling Vertex pipeline job {name}"
        )
        self.api.cancel(name)
        job = self._await_end(name, cfg.cancel_timeout)
        if job is not None:
            self._conclude(request, job, compiled, seen)
        else:
            compiler.finalize_records(request.runs, request.spec, request.run_id, "CANCELED")
        raise VertexTimeoutError(
            f"run '{request.run_id}' did not end within {cfg.timeout:g}s (the vertex orchestrator's "
            f"timeout); its Vertex pipeline job {name} was cancelled"
        )

    def _poll(self, name: str) -> Any:
        """The job's state; a few failed reads in a row (a network blip, a 503) are retried."""
        from .vertex_api import VertexApiError

        for attempt in range(1, POLL_ATTEMPTS + 1):
            try:
                return self.api.get(name)
            except VertexApiError as exc:
                if attempt == POLL_ATTEMPTS:
                    raise
                _say(f"reading Vertex pipeline job {name} failed ({exc}); trying again")
                time.sleep(self.config.poll_interval)
        raise AssertionError("unreachable")  # pragma: no cover

    def _await_end(self, name: str, timeout: float) -> Any:
        """Poll until the job is in a final state; None if it is not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self._poll(name)
            if is_final(job.state):
                return job
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(self.config.poll_interval, max(deadline - time.monotonic(), 0.05)))

    def _echo_progress(self, request: RunRequest, seen: dict[str, str]) -> None:
        if not self.config.echo_logs:
            return
        for sid, rec in request.runs.read_steps(request.run_id).items():
            if rec.status != "running" and seen.get(sid) != rec.status:
                seen[sid] = rec.status
                detail = f": {rec.error}" if rec.error else ""
                _say(f"step '{sid}' {rec.status}{detail}")

    def _conclude(
        self, request: RunRequest, job: Any, compiled: compiler.CompiledPipeline, seen: dict[str, str]
    ) -> str:
        """Complete zen's records from Vertex's view of the ended job; return the zen status."""
        runs, spec = request.runs, request.spec
        failed = record_failed_tasks(runs, spec, request.run_id, job, compiled.task_names)
        outcome: str = compiler.finalize_records(runs, spec, request.run_id, kfp_state(job.state), job.error)
        self._echo_progress(request, seen)
        if outcome == "failed":
            for task in failed:
                _say(f"Vertex reports task '{task.name}' failed: {task.error or 'no message'}")
            recorded = [s for s, r in runs.read_steps(request.run_id).items() if r.status == "failed"]
            if not recorded:  # no step to blame: the job itself failed (quota, permissions, image pull)
                raise ZenError(f"Vertex pipeline job {job.name} failed: {job.error or 'no error message'}")
        return outcome

    # -- stopping ------------------------------------------------------------------------------
    def stop(self, run: RunRecord, runs: RunStore) -> None:
        backend = run.backend
        if "vertex_schedule" in backend:
            self.api.pause_schedule(backend["vertex_schedule"])
            _say(f"paused Vertex pipeline job schedule {backend['vertex_schedule']}")
            return
        if "vertex_job" not in backend:
            raise ZenError(f"run '{run.run_id}' has no Vertex pipeline job recorded: nothing to stop")
        name = str(backend["vertex_job"])
        self.api.cancel(name)
        job = self._await_end(name, self.config.cancel_timeout)
        if job is None:
            _say(f"Vertex pipeline job {name} is still being cancelled after {self.config.cancel_timeout:g}s")
        with contextlib.suppress(ZenError, OSError):
            spec = runs.read_spec(run.run_id)
            state = kfp_state(job.state) if job is not None else "CANCELED"
            compiler.finalize_records(runs, spec, run.run_id, state, job.error if job is not None else "")


def record_failed_tasks(
    runs: RunStore, spec: PipelineSpec, run_id: str, job: Any, task_names: dict[str, str]
) -> list[Any]:
    """Complete the records of the step tasks Vertex reports failed; return those tasks.

    A step records its own failure (with its traceback) when its code raises. This covers
    the rest: a step with no record (its container never started) gets a failed one with
    Vertex's error, and one the exit handler found dead gets Vertex's error added.
    """
    by_task = {task: sid for sid, task in task_names.items()}
    by_task.update({sid: sid for sid in task_names})  # Vertex may name a task by its display name
    failed = []
    for task in job.tasks:
        sid = by_task.get(task.name)
        if sid is None or task.state not in FAILED_TASK_STATES:
            continue
        failed.append(task)
        rec = runs.read_step(run_id, sid)
        if rec is not None and rec.status in ("completed", "cached"):
            continue
        if rec is not None and rec.status == "failed":
            # the step's own failure (its traceback says why) stays as zen recorded it; a step
            # the exit handler found dead (no traceback) gets what Vertex knows added
            if not rec.traceback and "vertex_task" not in rec.backend and task.error:
                runs.write_step(
                    rec.model_copy(
                        update={
                            "error": f"{rec.error}; Vertex: {task.error}",
                            "backend": {**rec.backend, "vertex_task": task.name},
                        }
                    )
                )
            continue
        runs.write_step(
            StepRecord(
                run_id=run_id,
                step_id=sid,
                status="failed",
                attempt=rec.attempt if rec else 1,
                started_at=rec.started_at if rec else None,
                finished_at=time.time(),
                error=f"Vertex task failed: {task.error or 'no message'}",
                backend={"vertex_task": task.name},
            )
        )
    return failed
