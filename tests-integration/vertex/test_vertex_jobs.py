"""The vertex orchestrator end to end, through the local Vertex service.

What is submitted (checked against what the SDK built), and how each way a job ends
becomes a zen run state: success, a failing step, a job failing before any step, a
cancel while the client waits, a duplicate job id, a timeout (detach or cancel), and a
schedule. The ``gcs`` store is also used by the ``local`` orchestrator.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fake_vertex import FakeVertex
from vertex_engine import PROJECT, SERVICE_ACCOUNT, orchestrator_config, store_config

from zen_core import plugins
from zen_core.errors import RunFailedError, ZenError
from zen_core.orchestrator import RunRequest
from zen_core.pipelines import pipeline
from zen_core.records import RunStore
from zen_core.run import RunResult
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P
from zen_core.testing.pipelines import number, slow_number
from zen_vertex.orchestrator import VertexTimeoutError
from zen_vertex.vertex_api import JobExistsError, VertexApi

WAIT = 300  # seconds any one wait may take


@pipeline
def sleepy(seconds: float = 120.0) -> None:
    number(slow_number(value=1, seconds=seconds))


@pipeline
def single(value: int = 3) -> None:
    number(value=value)


@pipeline(settings={"vertex": {"schedule": {"cron": "TZ=Europe/Paris 0 6 * * 1", "max_run_count": 3}}})
def weekly(value: int = 7) -> None:
    number(value=value)


@pytest.fixture
def stack(vertex: FakeVertex, image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``stack(**orchestrator config)`` (re)registers and activates the vertex stack."""
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()

    def configure(**config: Any) -> Stack:
        manager = StackManager()
        manager.register_component(
            "artifact_store", "gcs", "gcs", store_config(f"jobs/{tmp_path.name}"), replace=True
        )
        values = {**orchestrator_config(vertex, image), **config}
        manager.register_component("orchestrator", "vx", "vertex", values, replace=True)
        manager.register_stack("vx", {"orchestrator": "vx", "artifact_store": "gcs"}, replace=True)
        manager.set_active("vx")
        manager.save()
        return Stack()

    configure()
    return configure


def runs() -> RunStore:
    return RunStore(Stack().artifact_store)


def wait_for(check: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def job_of(vertex: FakeVertex, run_id: str) -> Any:
    return vertex.jobs[runs().read_run(run_id).backend["vertex_job"]]


def test_what_is_submitted_is_what_the_sdk_built(stack: Any, vertex: FakeVertex) -> None:
    result = P.parameters.run(start=5, factor=4)
    assert result.status == "completed" and result.load("multiply") == (5 + 10) * 4
    job = job_of(vertex, result.run_id)
    assert job.state == "PIPELINE_STATE_SUCCEEDED"
    body = job.body
    assert body["labels"] == {"team": "zen-tests", "zen-run-id": result.run_id, "zen-pipeline": "parameters"}
    assert body["runtimeConfig"] == {
        "gcsOutputDirectory": f"{Stack().artifact_store.url}/vertex",
        "parameterValues": {"start": 5, "factor": 4, "zen_run_id": result.run_id},
    }
    assert body["serviceAccount"] == SERVICE_ACCOUNT and body["displayName"] == result.run_id
    # the wire body is exactly the SDK's message the golden tests pin down
    orch = Stack().orchestrator
    spec = runs().read_spec(result.run_id)
    request = RunRequest(
        spec=spec,
        run=runs().read_run(result.run_id),
        runs=runs(),
        spec_uri="",
        parameters={"start": 5, "factor": 4},
    )
    assert VertexApi.body(orch.prepare(request, orch.compile(spec))) == body
    assert job.name == f"projects/{PROJECT}/locations/europe-west4/pipelineJobs/{result.run_id}"
    states = {t["taskName"]: t["state"] for t in job.tasks.values()}
    assert states == {
        "number": "SUCCEEDED",
        "add": "SUCCEEDED",
        "multiply": "SUCCEEDED",
        "zen-finalize": "SUCCEEDED",
    }


def test_a_failing_step_fails_the_job_and_the_run(stack: Any, vertex: FakeVertex) -> None:
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    assert set(info.value.failed_steps) == {"explode"}
    assert "conformance failure on purpose" in info.value.tracebacks["explode"]
    steps = runs().read_steps(info.value.run_id)
    assert steps["after_failure"].status == "skipped"
    assert steps["independent_tail"].status == "completed"
    assert runs().read_run(info.value.run_id).status == "failed"
    job = job_of(vertex, info.value.run_id)
    assert job.state == "PIPELINE_STATE_FAILED"
    assert job.error["message"].endswith("The failed tasks are: [explode].")
    failed = [t for t in job.tasks.values() if t["state"] == "FAILED"]
    assert [t["taskName"] for t in failed] == ["explode"]
    assert "conformance failure on purpose" in failed[0]["error"]["message"]


def test_a_job_failing_before_any_step_reports_vertex_error(stack: Any, vertex: FakeVertex) -> None:
    # an image nobody can pull (a closed port on this machine): no step ever starts
    stack(image="127.0.0.1:9/zen-missing:0")
    with pytest.raises(ZenError, match=r"Vertex pipeline job .* failed: The pipeline job failed") as info:
        single.run()
    run = next(r for r in runs().list_runs() if r.pipeline == "single")
    assert run.status == "failed" and "Vertex pipeline job" in (run.error or "")
    assert runs().read_step(run.run_id, "number").status == "skipped"  # type: ignore[union-attr]
    assert job_of(vertex, run.run_id).state == "PIPELINE_STATE_FAILED"
    assert str(info.value)


def test_cancel_while_the_client_waits(stack: Any, vertex: FakeVertex) -> None:
    outcome: dict[str, Any] = {}

    def client() -> None:
        try:
            outcome["result"] = sleepy.run(seconds=120.0)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=client)
    thread.start()
    try:
        run = wait_for(
            lambda: next((r for r in runs().list_runs() if r.pipeline == "sleepy"), None), "the run"
        )
        wait_for(
            lambda: (r := runs().read_step(run.run_id, "slow_number")) and r.status == "running",
            "the slow step",
        )
        record = runs().read_run(run.run_id)
        Stack().orchestrator.stop(record, runs())
    finally:
        thread.join(timeout=WAIT)
    assert not thread.is_alive()
    result: RunResult = outcome["result"]
    assert result.status == "stopped"
    assert job_of(vertex, result.run_id).state == "PIPELINE_STATE_CANCELLED"
    steps = runs().read_steps(result.run_id)
    assert steps["slow_number"].status == "failed" and "stopped" in (steps["slow_number"].error or "")
    assert steps["number"].status == "skipped"
    assert runs().read_run(result.run_id).status == "stopped"


def test_a_duplicate_job_id_fails_the_run(
    stack: Any, vertex: FakeVertex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("zen_core.run.new_run_id", lambda name: "single-duplicate-id")
    stack(synchronous=False)
    first = single.run()
    assert first.status == "running"
    name = runs().read_run(first.run_id).backend["vertex_job"]
    with pytest.raises(JobExistsError, match="exists already"):
        single.run(value=4)
    run = runs().read_run("single-duplicate-id")
    assert run.status == "failed" and "exists already" in (run.error or "")
    assert len([j for j in vertex.jobs if j.endswith("/single-duplicate-id")]) == 1
    assert vertex.wait_job(name, WAIT).state == "PIPELINE_STATE_SUCCEEDED"


def test_timeout_detaches_and_the_exit_handler_completes_the_run(stack: Any, vertex: FakeVertex) -> None:
    stack(timeout=1)
    result = sleepy.run(seconds=3.0)
    assert result.status == "running"
    job = vertex.wait_job(runs().read_run(result.run_id).backend["vertex_job"], WAIT)
    assert job.state == "PIPELINE_STATE_SUCCEEDED"
    run = runs().read_run(result.run_id)  # written in the exit handler's container: nobody waited
    assert run.status == "completed" and run.finished_at is not None


def test_timeout_can_cancel_the_job(stack: Any, vertex: FakeVertex) -> None:
    stack(timeout=1, on_timeout="cancel")
    with pytest.raises(VertexTimeoutError, match="did not end within 1s"):
        sleepy.run(seconds=120.0)
    run = next(r for r in runs().list_runs() if r.pipeline == "sleepy")
    assert run.status == "failed" and "VertexTimeoutError" in (run.error or "")
    assert job_of(vertex, run.run_id).state == "PIPELINE_STATE_CANCELLED"
    assert all(r.status in ("failed", "skipped") for r in runs().read_steps(run.run_id).values())


def test_a_schedule_starts_runs_until_paused(stack: Any, vertex: FakeVertex) -> None:
    result = weekly.run()
    assert result.status == "running"
    name = runs().read_run(result.run_id).backend["vertex_schedule"]
    schedule = vertex.schedules[name]
    assert schedule["cron"] == "TZ=Europe/Paris 0 6 * * 1" and schedule["maxRunCount"] == "3"
    job_body = schedule["createPipelineJobRequest"]["pipelineJob"]
    assert job_body["runtimeConfig"]["parameterValues"] == {"value": 7}
    assert "zen-run-id" not in job_body["labels"]
    jobs = wait_for(lambda: vertex.scheduled_jobs(name), "a scheduled job")
    assert vertex.wait_job(jobs[0].name, WAIT).state == "PIPELINE_STATE_SUCCEEDED"
    started = [r for r in runs().list_runs() if r.run_id.startswith("weekly-kfp-")]
    assert len(started) == 1 and started[0].status == "completed"
    assert runs().read_step(started[0].run_id, "number").status == "completed"  # type: ignore[union-attr]
    Stack().orchestrator.stop(runs().read_run(result.run_id), runs())
    assert vertex.schedules[name]["state"] == "PAUSED"


def test_the_gcs_store_serves_the_local_orchestrator(
    emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()
    manager = StackManager()
    manager.register_component("artifact_store", "gcs", "gcs", store_config(f"local/{tmp_path.name}"))
    manager.register_stack("lg", {"orchestrator": "default", "artifact_store": "gcs"})
    manager.set_active("lg")
    manager.save()
    result = P.diamond.run()
    assert result.load("combine") == 406
    uri = result.steps["combine"].outputs["output"].uri
    assert uri.startswith("gs://zen-it/local/")
    import gcsfs

    assert gcsfs.GCSFileSystem(token="anon", skip_instance_cache=True).exists(uri)
