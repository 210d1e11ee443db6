"""The vertex orchestrator's behaviour, with the Vertex API replaced by a scripted fake.

The real SDK path (HTTP, the local Vertex service, containers) is covered by the
integration tests; here each state sequence Vertex can report is played to the
orchestrator and the zen records it leaves are checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import vertex_samples as S

from zen_core.artifacts.store import ArtifactStore
from zen_core.errors import PipelineDefinitionError, StackError, ZenError
from zen_core.orchestrator import RunRequest
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P
from zen_vertex.config import VertexOrchestratorConfig
from zen_vertex.orchestrator import VertexOrchestrator, VertexTimeoutError, console_url, label_value
from zen_vertex.vertex_api import JobExistsError, JobState, TaskState

JOB = "projects/zen-test-project/locations/europe-west4/pipelineJobs/"


class FakeApi:
    """Plays a list of job states to ``get``; records every call."""

    def __init__(self, states: list[JobState] | None = None, submit_error: Exception | None = None) -> None:
        self.states = list(states or [])
        self.submit_error = submit_error
        self.get_errors: list[Exception] = []
        self.calls: list[tuple[str, Any]] = []

    def build_job(self, pipeline_spec: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("build", kwargs))
        return {"pipeline_spec": pipeline_spec, **kwargs}

    def submit(self, job: dict[str, Any]) -> str:
        self.calls.append(("submit", job["job_id"]))
        if self.submit_error:
            raise self.submit_error
        return JOB + job["job_id"]

    def get(self, name: str) -> JobState:
        self.calls.append(("get", name))
        if self.get_errors:
            raise self.get_errors.pop(0)
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return JobState(name=name, state=state.state, error=state.error, tasks=state.tasks)

    def cancel(self, name: str) -> None:
        self.calls.append(("cancel", name))
        self.states = [JobState(name, "PIPELINE_STATE_CANCELLED", "The pipeline job was cancelled.")]

    def create_schedule(self, job: dict[str, Any], schedule: Any, display_name: str) -> str:
        self.calls.append(("schedule", (job, schedule, display_name)))
        return "projects/zen-test-project/locations/europe-west4/schedules/42"

    def pause_schedule(self, name: str) -> None:
        self.calls.append(("pause", name))

    def called(self, what: str) -> list[Any]:
        return [arg for name, arg in self.calls if name == what]


def state(name: str, error: str = "", tasks: list[TaskState] | None = None) -> JobState:
    return JobState(name="", state=f"PIPELINE_STATE_{name}", error=error, tasks=tasks or [])


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("zen_vertex.orchestrator.time.sleep", slept.append)
    return slept


@pytest.fixture
def runs() -> Iterator[RunStore]:
    store = ArtifactStore(f"memory://zen-vertex-unit-{uuid.uuid4().hex[:8]}")
    yield RunStore(store)
    store.delete("runs")


def orchestrator(api: FakeApi, **config: Any) -> VertexOrchestrator:
    values = S.orchestrator_config(
        pipeline_root="gs://zen-test-bucket/root", poll_interval=2.5, echo_logs=False
    )
    values.update(config)
    orch = VertexOrchestrator("vx", VertexOrchestratorConfig.model_validate(values), stack=None)
    orch._api = api
    return orch


def request(
    runs: RunStore, pipe: Any = P.linear_chain, run_id: str = "linear-chain-1", **params: Any
) -> RunRequest:
    spec = pipe.compile()
    values = pipe.resolve_parameters(params)
    run = RunRecord(run_id=run_id, pipeline=spec.name, spec_digest=spec.digest(), parameters=values)
    runs.write_spec(run_id, spec)
    runs.write_run(run)
    return RunRequest(spec=spec, run=run, runs=runs, spec_uri="", parameters=values)


def complete_all(runs: RunStore, req: RunRequest) -> None:
    for s in req.spec.steps:
        runs.write_step(
            StepRecord(run_id=req.run_id, step_id=s.id, status="completed", started_at=1, finished_at=2)
        )


# -- submitting and waiting -----------------------------------------------------------------


def test_submits_then_polls_on_its_own_interval(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi([state("PENDING"), state("RUNNING"), state("RUNNING"), state("SUCCEEDED")])
    orch = orchestrator(api)
    req = request(runs)
    complete_all(runs, req)
    assert orch.run(req) == "completed"
    build = api.called("build")[0]
    assert build["job_id"] == "linear-chain-1"
    assert build["parameter_values"] == {"zen_run_id": "linear-chain-1"}
    assert build["pipeline_root"] == "gs://zen-test-bucket/root"
    assert build["labels"] == {
        "team": "ml",
        "cost-center": "r-and-d",
        "zen-run-id": "linear-chain-1",
        "zen-pipeline": "linear_chain",
    }
    assert api.called("submit") == ["linear-chain-1"]
    assert len(api.called("get")) == 4
    assert sleeps == [2.5, 2.5, 2.5]
    record = runs.read_run(req.run_id)
    assert record.backend["vertex_job"] == JOB + "linear-chain-1"
    assert record.backend["vertex_console"] == console_url(JOB + "linear-chain-1")


def test_a_few_failed_polls_are_retried(runs: RunStore, sleeps: list[float]) -> None:
    from zen_vertex.orchestrator import POLL_ATTEMPTS
    from zen_vertex.vertex_api import VertexApiError

    api = FakeApi([state("RUNNING"), state("SUCCEEDED")])
    api.get_errors = [VertexApiError("503 unavailable")] * (POLL_ATTEMPTS - 1)
    req = request(runs)
    complete_all(runs, req)
    assert orchestrator(api).run(req) == "completed"
    api = FakeApi([state("RUNNING")])
    api.get_errors = [VertexApiError("403 permission denied")] * POLL_ATTEMPTS
    with pytest.raises(VertexApiError, match="403"):
        orchestrator(api).run(request(runs, run_id="linear-chain-2"))


def test_detached_returns_after_submitting(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi([state("RUNNING")])
    assert orchestrator(api, synchronous=False).run(request(runs)) == "running"
    assert api.called("get") == [] and sleeps == []


def test_a_failed_task_without_a_zen_record_gets_vertex_error(runs: RunStore, sleeps: list[float]) -> None:
    tasks = [
        TaskState("number", "SUCCEEDED"),
        TaskState("explode", "FAILED", "The replica workerpool0-0 exited with a non-zero status of 137."),
        TaskState("exit-handler-1", "FAILED", "child failed"),
    ]
    api = FakeApi([state("FAILED", "The DAG failed because some tasks failed.", tasks)])
    req = request(runs, P.failing, run_id="failing-1")
    runs.write_step(StepRecord(run_id=req.run_id, step_id="number", status="completed"))
    assert orchestrator(api).run(req) == "failed"
    steps = runs.read_steps(req.run_id)
    assert steps["explode"].status == "failed"
    assert "exited with a non-zero status of 137" in (steps["explode"].error or "")
    assert steps["explode"].backend == {"vertex_task": "explode"}
    assert steps["after_failure"].status == "skipped"
    assert runs.read_run(req.run_id).status == "failed"


def test_a_step_that_died_gets_vertex_error_added(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi([state("FAILED", "dag failed", [TaskState("explode", "FAILED", "out of memory")])])
    req = request(runs, P.failing, run_id="failing-2")
    # what the exit handler writes for a container that died without an outcome
    runs.write_step(
        StepRecord(run_id=req.run_id, step_id="explode", status="failed", error="step did not finish: gone")
    )
    orchestrator(api).run(req)
    error = runs.read_step(req.run_id, "explode").error  # type: ignore[union-attr]
    assert error == "step did not finish: gone; Vertex: out of memory"


def test_a_step_failure_zen_recorded_is_kept(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi([state("FAILED", "dag failed", [TaskState("explode", "FAILED", "exit status 1")])])
    req = request(runs, P.failing, run_id="failing-3")
    own = StepRecord(
        run_id=req.run_id,
        step_id="explode",
        status="failed",
        error="RuntimeError: boom",
        traceback="Traceback...",
    )
    runs.write_step(own)
    orchestrator(api).run(req)
    assert runs.read_step(req.run_id, "explode").error == "RuntimeError: boom"  # type: ignore[union-attr]


def test_a_job_failing_before_any_step_raises_its_error(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi([state("FAILED", "Service account lacks permission to pull the image")])
    with pytest.raises(ZenError, match="lacks permission"):
        orchestrator(api).run(request(runs))


def test_a_cancelled_job_is_a_stopped_run(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi(
        [state("RUNNING"), state("CANCELLING"), state("CANCELLED", "The pipeline job was cancelled.")]
    )
    req = request(runs)
    runs.write_step(StepRecord(run_id=req.run_id, step_id="number", status="running"))
    assert orchestrator(api).run(req) == "stopped"
    steps = runs.read_steps(req.run_id)
    assert steps["number"].status == "failed" and "stopped" in (steps["number"].error or "")
    assert steps["add"].status == "skipped"


def test_timeout_detaches_by_default(runs: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr("zen_vertex.orchestrator.time.monotonic", lambda: float(next(clock)))
    monkeypatch.setattr("zen_vertex.orchestrator.time.sleep", lambda s: None)
    api = FakeApi([state("RUNNING")])
    assert orchestrator(api, timeout=25).run(request(runs)) == "running"
    assert api.called("cancel") == []


def test_timeout_can_cancel_the_job(runs: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr("zen_vertex.orchestrator.time.monotonic", lambda: float(next(clock)))
    monkeypatch.setattr("zen_vertex.orchestrator.time.sleep", lambda s: None)
    api = FakeApi([state("RUNNING")])
    req = request(runs)
    runs.write_step(StepRecord(run_id=req.run_id, step_id="number", status="running"))
    with pytest.raises(VertexTimeoutError, match="did not end within 25s"):
        orchestrator(api, timeout=25, on_timeout="cancel").run(req)
    assert api.called("cancel") == [JOB + "linear-chain-1"]
    assert runs.read_step(req.run_id, "number").status == "failed"  # type: ignore[union-attr]


def test_interrupt_while_waiting_cancels_the_job(runs: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("zen_vertex.orchestrator.time.sleep", interrupt)
    api = FakeApi([state("RUNNING")])
    req = request(runs)
    with pytest.raises(KeyboardInterrupt):
        orchestrator(api).run(req)
    assert api.called("cancel") == [JOB + "linear-chain-1"]
    assert {r.status for r in runs.read_steps(req.run_id).values()} == {"skipped"}


def test_a_duplicate_job_id_fails_the_submission(runs: RunStore) -> None:
    api = FakeApi(submit_error=JobExistsError("submitting pipeline job linear-chain-1: it exists already"))
    with pytest.raises(JobExistsError, match="exists already"):
        orchestrator(api).run(request(runs))


def test_run_ids_that_are_not_job_ids_are_refused(runs: RunStore) -> None:
    with pytest.raises(ZenError, match="cannot be a Vertex pipeline job id"):
        orchestrator(FakeApi([state("RUNNING")])).run(request(runs, run_id="Not_A_Job_Id"))


# -- schedules and stopping --------------------------------------------------------------------


def test_a_schedule_setting_creates_a_schedule(runs: RunStore) -> None:
    api = FakeApi()
    req = request(runs, S.weekly, run_id="weekly-1")
    assert orchestrator(api).run(req) == "running"
    job, schedule, display = api.called("schedule")[0]
    assert schedule.cron == "TZ=Europe/Paris 0 6 * * 1" and schedule.max_run_count == 10
    assert display == "weekly"
    assert job["parameter_values"] == {"value": 7}  # each scheduled run gets its own zen run id
    assert "zen-run-id" not in job["labels"]
    assert api.called("submit") == []
    assert runs.read_run("weekly-1").backend["vertex_schedule"].endswith("/schedules/42")


def test_stop_cancels_the_job_and_completes_the_records(runs: RunStore, sleeps: list[float]) -> None:
    api = FakeApi([state("RUNNING"), state("CANCELLING")])
    orch = orchestrator(api)
    req = request(runs)
    runs.write_step(StepRecord(run_id=req.run_id, step_id="number", status="running"))
    record = req.run.model_copy(update={"backend": {"vertex_job": JOB + "linear-chain-1"}})
    orch.stop(record, runs)
    assert api.called("cancel") == [JOB + "linear-chain-1"]
    assert runs.read_step(req.run_id, "number").status == "failed"  # type: ignore[union-attr]
    assert runs.read_run(req.run_id).status == "stopped"


def test_stop_pauses_a_schedule(runs: RunStore) -> None:
    api = FakeApi()
    record = RunRecord(
        run_id="weekly-1", pipeline="weekly", spec_digest="x", backend={"vertex_schedule": "s/42"}
    )
    orchestrator(api).stop(record, runs)
    assert api.called("pause") == ["s/42"]


def test_stop_without_a_job_says_so(runs: RunStore) -> None:
    with pytest.raises(ZenError, match="nothing to stop"):
        orchestrator(FakeApi()).stop(RunRecord(run_id="r", pipeline="p", spec_digest="x"), runs)


# -- validation -------------------------------------------------------------------------------


def stack_with(store_flavor: str, store_config: dict[str, Any], **config: Any) -> Stack:
    manager = StackManager()
    manager.register_component("artifact_store", "s", store_flavor, store_config)
    manager.register_component("orchestrator", "v", "vertex", S.orchestrator_config(**config))
    manager.register_stack("v", {"orchestrator": "v", "artifact_store": "s"})
    manager.save()
    return Stack("v")


def test_a_local_store_is_refused(tmp_path: Any) -> None:
    stack = stack_with("local", {"path": str(tmp_path / "store"), "shared": True})
    with pytest.raises(StackError, match="cannot see the artifact store"):
        stack.orchestrator.validate(P.linear_chain.compile())


def test_a_pipeline_root_is_needed_off_cloud_storage() -> None:
    from types import SimpleNamespace

    orch = orchestrator(FakeApi(), pipeline_root=None)
    assert orch.pipeline_root(SimpleNamespace(url="gs://zen-bucket/zen")) == "gs://zen-bucket/zen/vertex"
    with pytest.raises(StackError, match="gs:// pipeline_root"):
        orch.pipeline_root(SimpleNamespace(url="s3://bucket/zen"))
    configured = orchestrator(FakeApi(), pipeline_root="gs://other/root")
    assert configured.pipeline_root(SimpleNamespace(url="s3://bucket/zen")) == "gs://other/root"


GCS = {"path": "gs://zen-bucket/zen", "credentials": "anonymous"}


def test_schedule_is_pipeline_level_only() -> None:
    with pytest.raises(PipelineDefinitionError, match="pipeline-level"):
        stack_with("gcs", GCS).orchestrator.validate(S.step_schedule.compile())


def test_invalid_step_settings_name_the_step_and_field() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"step 'kubernetes_gpu'.*accelerator_type"):
        stack_with("gcs", GCS).orchestrator.validate(S.bad_accelerator.compile())


def test_reserved_parameter_names_are_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match="reserved"):
        stack_with("gcs", GCS).orchestrator.validate(S.reserved_parameter.compile())


def test_compile_native_is_the_kfp_yaml() -> None:
    import yaml

    stack = stack_with("gcs", GCS)
    text, suffix = stack.orchestrator.compile_native(P.diamond.compile())
    assert suffix == ".yaml"
    docs = list(yaml.safe_load_all(text))
    assert len(docs) == 1 and docs[0]["pipelineInfo"]["name"] == "diamond"


def test_helpers() -> None:
    assert label_value("My Pipeline_v2!") == "my-pipeline_v2"
    assert len(label_value("x" * 100)) == 63
    assert console_url(JOB + "abc") == (
        "https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/abc"
        "?project=zen-test-project"
    )
    assert console_url("odd") == ""
