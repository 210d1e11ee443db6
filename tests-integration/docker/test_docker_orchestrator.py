"""The ``local_docker`` orchestrator on a real engine: the zen-core conformance suite, and
what only containers can get wrong (a process that dies, per-step images)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zen_core.errors import RunFailedError
from zen_core.records import RunStore
from zen_core.stacks import Stack, StackManager
from zen_core.testing.conformance import STACK, OrchestratorConformance
from zen_docker.builder import DockerImageBuilder


class TestLocalDockerConformance(OrchestratorConformance):
    orchestrator_flavor = "local_docker"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"progress": "plain", "max_parallelism": 4}

    @pytest.fixture(autouse=True)
    def _with_registry(
        self, _conformance_stack: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: str
    ) -> None:
        # the conformance pipelines live in zen_core.testing: an empty build context will do
        context = tmp_path / "context"
        context.mkdir()
        monkeypatch.chdir(context)
        manager = StackManager()
        manager.register_component(
            "container_registry", STACK, "default", {"uri": registry, "insecure": True}
        )
        manager.register_stack(
            STACK,
            {"orchestrator": STACK, "artifact_store": STACK, "container_registry": STACK},
            replace=True,
        )
        manager.save()


CRASHING = """
import os
from zen_core import pipeline, step


@step
def fine() -> int:
    return 1


@step
def crash(x: int) -> int:
    os.write(2, b"about to vanish\\n")  # straight to the container's stderr, as a crash would
    os._exit(3)


@step
def after(x: int) -> int:
    return x


@pipeline
def crashing() -> None:
    after(crash(fine()))
"""

PER_STEP = """
import os
from zen_core import pipeline, step


@step(settings={"docker": {"environment": {"GREETING": "hello from step settings"}}})
def greet() -> str:
    return os.environ["GREETING"]


@step
def plain() -> str:
    return os.environ.get("GREETING", "no greeting")


@pipeline(settings={"docker": {"environment": {"PIPELINE_LEVEL": "yes"}}})
def greetings() -> None:
    greet()
    plain()
"""


def test_a_dead_step_process_becomes_a_failed_record(project, docker_stack):
    mod = project.module("crashpipe", CRASHING)
    with pytest.raises(RunFailedError) as info:
        mod.crashing()
    steps = RunStore(Stack().artifact_store).read_steps(info.value.run_id)
    assert steps["fine"].status == "completed"
    crashed = steps["crash"]
    assert crashed.status == "failed"
    assert "exited with code 3" in (crashed.error or "")
    assert "about to vanish" in (crashed.traceback or "")
    assert crashed.backend["exit_code"] == 3
    assert steps["after"].status == "skipped"
    assert set(info.value.failed_steps) == {"crash"}


def test_steps_with_their_own_settings_get_their_own_image(project, docker_stack):
    mod = project.module("greetpipe", PER_STEP)
    spec = mod.greetings.compile()
    images = DockerImageBuilder(stack=Stack()).build_images(spec)
    assert images["greet"] != images["plain"]
    result = mod.greetings()
    assert result.load("greet") == "hello from step settings"
    assert result.load("plain") == "no greeting"


def test_invalid_docker_settings_fail_before_anything_runs(project, docker_stack):
    mod = project.module(
        "badsettings",
        PER_STEP.replace(
            '{"PIPELINE_LEVEL": "yes"}', '{"PIPELINE_LEVEL": "yes"}, "apt_packages": ["Not A Package"]'
        ),
    )
    from zen_core.errors import PipelineDefinitionError

    with pytest.raises(PipelineDefinitionError, match="apt_packages"):
        mod.greetings()
    assert RunStore(Stack().artifact_store).list_runs() == []


SLOW = """
import time
from zen_core import pipeline, step


@step
def slow() -> int:
    time.sleep(120)
    return 1


@step
def after(x: int) -> int:
    return x


@pipeline
def sleepy() -> None:
    after(slow())
"""


def test_stop_interrupts_the_client_and_removes_the_containers(project, docker_stack, docker_client):
    import os
    import subprocess
    import sys
    import time

    project.module("slowpipe", SLOW)
    client = subprocess.Popen(
        [sys.executable, "-c", "import slowpipe; slowpipe.sleepy()"],
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": str(project.root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runs = RunStore(Stack().artifact_store)
    deadline = time.monotonic() + 300
    run = None
    while time.monotonic() < deadline and client.poll() is None:
        found = runs.list_runs()
        if found:
            record = runs.read_step(found[0].run_id, "slow")
            if record is not None and record.status == "running":
                run = found[0]
                break
        time.sleep(0.5)
    assert run is not None, client.communicate()[0] if client.poll() is not None else "the step never started"
    started = time.monotonic()
    Stack().orchestrator.stop(run, runs)
    output = client.communicate(timeout=60)[0]
    assert time.monotonic() - started < 30, output
    assert runs.read_run(run.run_id).status == "stopped", output
    assert (
        runs.read_step(run.run_id, "after") is None
        or runs.read_step(run.run_id, "after").status != "completed"
    )
    assert docker_client.containers.list(all=True, filters={"label": f"zen.run_id={run.run_id}"}) == []
