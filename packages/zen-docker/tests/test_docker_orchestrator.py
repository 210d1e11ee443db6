"""The local_docker orchestrator against a fake engine whose containers run the entrypoint
in-process: scheduling, retries, failures, container options, and the conformance suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from zen_core.errors import RunFailedError
from zen_core.records import RunStore
from zen_core.stacks import Stack
from zen_core.testing import pipelines as P
from zen_core.testing.conformance import OrchestratorConformance


class TestConformanceOnAFakeEngine(OrchestratorConformance):
    """The whole zen-core suite, every step through containers.run -> the entrypoint."""

    orchestrator_flavor = "local_docker"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"progress": "plain", "max_parallelism": 4}

    @pytest.fixture(autouse=True)
    def _fake_engine(self, _conformance_stack: None, engine: Any, tmp_path: Path, monkeypatch: Any) -> None:
        context = tmp_path / "context"
        context.mkdir()
        monkeypatch.chdir(context)


def runs() -> RunStore:
    return RunStore(Stack().artifact_store)


def test_containers_get_the_entrypoint_the_store_mount_and_labels(engine, make_stack):
    store = make_stack(registry=True, environment={"FROM_CONFIG": "1"}, forward_env=["ZEN_TEST_SECRET"])
    os.environ["ZEN_TEST_SECRET"] = "s3cret"
    try:
        result = P.linear_chain.run()
    finally:
        del os.environ["ZEN_TEST_SECRET"]
    assert result.load("multiply") == 6
    assert len(engine.containers) == 4
    c = engine.containers[0]
    assert c.command[:3] == ["python", "-m", "zen_core.entrypoint"]
    assert c.command[3:] == [
        "--store",
        str(store),
        "--run-id",
        result.run_id,
        "--step",
        "number",
        "--attempt",
        "1",
    ]
    assert c.options["volumes"] == {str(store): {"bind": str(store), "mode": "rw"}}
    assert c.options["labels"] == {"zen.run_id": result.run_id, "zen.step_id": "number"}
    assert c.options["environment"] == {
        "FROM_CONFIG": "1",
        "ZEN_TEST_SECRET": "s3cret",
        "ZEN_STEP_ATTEMPT": "1",
    }
    assert c.options["detach"] is True
    assert "user" not in c.options
    assert all(c.removed for c in engine.containers)
    assert {c.image for c in engine.containers} == engine.registry  # the image that was pushed


def test_user_host_maps_to_the_clients_ids(engine, make_stack):
    make_stack(registry=False, user="host", remove_containers=False)
    P.linear_chain.run()
    assert engine.containers[0].options["user"] == f"{os.getuid()}:{os.getgid()}"
    assert not any(c.removed for c in engine.containers)


def test_no_cache_is_passed_on(engine, make_stack):
    make_stack(registry=False)
    P.linear_chain.run(enable_cache=False)
    assert all(c.command[-1] == "--no-cache" for c in engine.containers)


def test_retries_start_a_container_per_attempt(engine, make_stack):
    make_stack(registry=False)
    result = P.retrying.run()
    attempts = [c.command[-1] for c in engine.containers if c.options["labels"]["zen.step_id"] == "flaky"]
    assert attempts == ["1", "2", "3"]
    assert result.steps["flaky"].attempt == 3


def test_a_container_that_dies_is_recorded_as_failed_with_its_output(engine, make_stack):
    make_stack(registry=False)
    engine.container_exit = (137, b"starting\nKilled\n")
    with pytest.raises(RunFailedError) as info:
        P.linear_chain.run()
    steps = runs().read_steps(info.value.run_id)
    rec = steps["number"]
    assert rec.status == "failed"
    assert (
        rec.error == "step container exited with code 137 (killed (SIGKILL: out of memory, timeout or stop))"
    )
    assert rec.traceback == "starting\nKilled"
    assert rec.backend["exit_code"] == 137
    assert runs().read_logs(info.value.run_id, "number") == "starting\nKilled\n"
    assert {steps[s].status for s in ("add", "add_2", "multiply")} == {"skipped"}


def test_a_missing_image_fails_the_step_not_the_client(engine, make_stack, monkeypatch):
    make_stack(registry=False)
    from zen_docker import orchestrator

    monkeypatch.setattr(
        orchestrator, "build_images", lambda spec, stack: dict.fromkeys((s.id for s in spec.steps), "gone:1")
    )
    with pytest.raises(RunFailedError) as info:
        P.linear_chain.run()
    rec = runs().read_steps(info.value.run_id)["number"]
    assert rec.error.startswith("could not run the step container from gone:1")


def test_stop_removes_the_runs_containers(engine, make_stack):
    make_stack(registry=False, remove_containers=False)
    result = P.linear_chain.run()
    orch = Stack().orchestrator
    orch.stop(result.run, runs())
    assert all(c.removed for c in engine.containers)
