"""The kubeflow orchestrator through the real kfp client, against a local KFP API server.

The server (fake_kfp_server.py) accepts what the kfp client sends (packages,
uploads, runs, recurring runs) and executes every run with KFP's local executor
on the Docker API, so submit, wait, failure, stop, detach and schedules are
exercised end to end: kfp.Client -> HTTP -> kfp.local -> containers -> zen's
artifact store.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fake_kfp_server import FakeKfpServer
from kfp_engine import step_image

from zen_core import plugins
from zen_core.errors import RunFailedError
from zen_core.pipelines import pipeline
from zen_core.records import RunStore
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P
from zen_core.testing.pipelines import number, slow_number

WAIT = 300  # seconds any one wait may take


@pipeline
def sleepy(seconds: float = 120.0) -> None:
    number(slow_number(value=1, seconds=seconds))


@pipeline(settings={"kubeflow": {"schedule": {"interval_seconds": 3600}}})
def scheduled(value: int = 7) -> None:
    number(value=value)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kfp-store")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store_dir: Path) -> Any:
    from kfp_engine import docker_problem

    if docker_problem():
        pytest.skip(docker_problem() or "")
    srv = FakeKfpServer(tmp_path_factory.mktemp("kfp-server"), mounts=[str(store_dir)]).start()
    yield srv
    srv.stop()


@pytest.fixture
def stack(server: FakeKfpServer, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()

    def configure(**config: Any) -> None:
        manager = StackManager()
        manager.register_component(
            "artifact_store", "kfp", "local", {"path": str(store_dir), "shared": True}, replace=True
        )
        values = {"host": server.url, "poll_interval": 0.5, "echo_logs": False, **config}
        image = step_image()
        if image:
            values.setdefault("image", image)
        manager.register_component("orchestrator", "kfp", "kubeflow", values, replace=True)
        manager.register_stack("kfp", {"orchestrator": "kfp", "artifact_store": "kfp"}, replace=True)
        manager.set_active("kfp")
        manager.save()

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


def test_submit_and_wait(stack: Any, server: FakeKfpServer) -> None:
    result = P.parameters.run(start=5, factor=4)
    assert result.status == "completed"
    assert result.load("multiply") == (5 + 10) * 4
    run = runs().read_run(result.run_id)
    kfp_run = server.runs[run.backend["kfp_run_id"]]
    assert kfp_run.body["runtime_config"]["parameters"] == {
        "start": 5,
        "factor": 4,
        "zen_run_id": result.run_id,
    }
    assert kfp_run.body["display_name"] == result.run_id
    assert server.experiments and next(iter(server.experiments.values()))["display_name"] == "parameters"


def test_failure_reports_the_failing_step(stack: Any, server: FakeKfpServer) -> None:
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    assert set(info.value.failed_steps) == {"explode"}
    assert "conformance failure on purpose" in info.value.tracebacks["explode"]
    steps = runs().read_steps(info.value.run_id)
    assert steps["after_failure"].status == "skipped"
    assert steps["independent_tail"].status == "completed"
    run = runs().read_run(info.value.run_id)
    assert run.status == "failed"
    assert server.runs[run.backend["kfp_run_id"]].failed == ["explode"]


def test_stop_terminates_the_run(stack: Any, server: FakeKfpServer) -> None:
    stack(synchronous=False)
    result = sleepy.run()
    assert result.status == "running"
    wait_for(
        lambda: (r := runs().read_step(result.run_id, "slow_number")) and r.status == "running", "the step"
    )
    run = runs().read_run(result.run_id)
    Stack().orchestrator.stop(run, runs())
    kfp = server.wait_run(run.backend["kfp_run_id"], timeout=WAIT)
    assert kfp["state"] == "CANCELED"
    steps = runs().read_steps(result.run_id)
    assert steps["slow_number"].status == "failed" and "stopped" in (steps["slow_number"].error or "")
    assert steps["number"].status == "skipped"
    assert runs().read_run(result.run_id).status == "stopped"


def test_detached_run_is_completed_by_its_exit_handler(stack: Any, server: FakeKfpServer) -> None:
    stack(synchronous=False)
    result = P.diamond.run(enable_cache=False)
    assert result.status == "running"
    kfp_run_id = runs().read_run(result.run_id).backend["kfp_run_id"]
    assert server.wait_run(kfp_run_id)["state"] == "SUCCEEDED"
    run = runs().read_run(result.run_id)  # written in the container, nobody waited
    assert run.status == "completed" and run.finished_at is not None
    assert {r.status for r in runs().read_steps(result.run_id).values()} == {"completed"}


def test_wait_timeout_leaves_the_run_going(stack: Any, server: FakeKfpServer) -> None:
    stack(timeout=1)
    result = sleepy.run(seconds=3.0)
    assert result.status == "running"
    kfp_run_id = runs().read_run(result.run_id).backend["kfp_run_id"]
    assert server.wait_run(kfp_run_id)["state"] == "SUCCEEDED"
    assert runs().read_run(result.run_id).status == "completed"


def test_upload_then_run_the_version(stack: Any, server: FakeKfpServer) -> None:
    stack(submit="upload")
    first = P.linear_chain.run(enable_cache=False)
    second = P.linear_chain.run(enable_cache=False)
    assert first.load("multiply") == second.load("multiply") == 6
    pipelines = [p for p in server.pipelines.values() if p["display_name"] == "linear-chain"]
    assert len(pipelines) == 1
    versions = [v for v in server.versions.values() if v["pipeline_id"] == pipelines[0]["pipeline_id"]]
    assert len(versions) == 2  # the pipeline's first version, then zen's content-named one, reused
    used = {
        server.runs[runs().read_run(r.run_id).backend["kfp_run_id"]].body["pipeline_version_reference"][
            "pipeline_version_id"
        ]
        for r in (first, second)
    }
    assert len(used) == 1


def test_schedule_runs_recorded_as_their_own_zen_runs(stack: Any, server: FakeKfpServer) -> None:
    result = scheduled.run()
    assert result.status == "running"
    record = runs().read_run(result.run_id)
    rid = record.backend["kfp_recurring_run_id"]
    triggered = wait_for(
        lambda: [r for r in server.kfp_runs() if r.body.get("recurring_run_id") == rid], "a scheduled run"
    )
    kfp = server.wait_run(triggered[0].run_id)
    assert kfp["state"] == "SUCCEEDED"
    # KFP names the zen run after its run id; kfp.local, which executes it here, has ids of its own
    started = [r for r in runs().list_runs() if r.run_id.startswith("scheduled-kfp-")]
    assert len(started) == 1
    assert started[0].status == "completed"
    assert runs().read_step(started[0].run_id, "number").status == "completed"  # type: ignore[union-attr]
    Stack().orchestrator.stop(record, runs())
    assert server.recurring[rid]["status"] == "DISABLED"
