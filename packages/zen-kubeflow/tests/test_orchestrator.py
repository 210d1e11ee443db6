"""The kubeflow orchestrator against a stand-in kfp client that executes the IR in-process.

``MiniKfp`` reads the compiled package the orchestrator submits and runs its tasks
like KFP does (dependency order, a failed task's dependents not run, retries, the
exit handler last), calling each task's launcher with the executor input KFP would
give it. The real kfp client against a KFP API server is in tests-integration/kubeflow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from zen_core.errors import RunFailedError, StackError
from zen_core.records import RunStore
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P
from zen_kubeflow import launcher
from zen_kubeflow.orchestrator import KubeflowOrchestrator

IMAGE = "zen-steps:test"


class MiniKfp:
    """Enough of kfp.Client for the orchestrator, executing runs synchronously."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.runs: dict[str, Any] = {}
        self.packages: dict[str, str] = {}
        self.versions: list[Any] = []
        self.pipeline_id: str | None = None
        self.fail_task_without_record: str | None = None

    def create_experiment(self, name: str, namespace: str | None = None) -> Any:
        self.calls.append(("create_experiment", {"name": name}))
        return SimpleNamespace(experiment_id="exp-1")

    def get_pipeline_id(self, name: str) -> str | None:
        return self.pipeline_id

    def upload_pipeline(self, path: str, pipeline_name: str, namespace: str | None = None) -> Any:
        self.calls.append(("upload_pipeline", {"name": pipeline_name}))
        self.pipeline_id = "pl-1"
        self.versions.append(SimpleNamespace(display_name=pipeline_name, pipeline_version_id="v-1"))
        self.packages["v-1"] = Path(path).read_text()
        return SimpleNamespace(pipeline_id="pl-1")

    def list_pipeline_versions(self, pipeline_id: str, page_size: int = 10) -> Any:
        return SimpleNamespace(pipeline_versions=list(self.versions))

    def upload_pipeline_version(self, path: str, pipeline_version_name: str, pipeline_id: str) -> Any:
        vid = f"v-{len(self.versions) + 1}"
        self.calls.append(("upload_pipeline_version", {"name": pipeline_version_name}))
        self.versions.append(SimpleNamespace(display_name=pipeline_version_name, pipeline_version_id=vid))
        self.packages[vid] = Path(path).read_text()
        return SimpleNamespace(pipeline_version_id=vid)

    def run_pipeline(self, experiment_id: str, job_name: str, params: dict[str, Any], **kw: Any) -> Any:
        self.calls.append(("run_pipeline", {"job_name": job_name, "params": params, **kw}))
        path = kw.get("pipeline_package_path")
        text = Path(path).read_text() if path else self.packages[kw["version_id"]]
        run_id = f"kfp-{len(self.runs) + 1}"
        self.runs[run_id] = execute(text, params, run_id, self.fail_task_without_record)
        return SimpleNamespace(run_id=run_id)

    def create_recurring_run(self, **kw: Any) -> Any:
        self.calls.append(("create_recurring_run", kw))
        return SimpleNamespace(recurring_run_id="rr-1")

    def get_run(self, run_id: str) -> Any:
        return self.runs[run_id]

    def terminate_run(self, run_id: str) -> None:
        self.calls.append(("terminate_run", {"run_id": run_id}))

    def disable_recurring_run(self, recurring_run_id: str) -> None:
        self.calls.append(("disable_recurring_run", {"id": recurring_run_id}))


def execute(text: str, params: dict[str, Any], job_id: str, broken_task: str | None) -> Any:
    """Run a compiled package's tasks the way KFP does; return a V2beta1Run-like object."""
    ir = next(yaml.safe_load_all(text))
    root_inputs = ir["root"]["inputDefinitions"]["parameters"]
    values = {n: p.get("defaultValue") for n, p in root_inputs.items()}
    values.update(params)
    executors = ir["deploymentSpec"]["executors"]
    components = ir["components"]
    body = components["comp-exit-handler-1"]["dag"]["tasks"]

    def call(task: dict[str, Any], extra: dict[str, Any]) -> int:
        inputs = {}
        for name, src in task["inputs"]["parameters"].items():
            if "runtimeValue" in src:
                inputs[name] = src["runtimeValue"]["constant"]
            elif "componentInputParameter" in src:
                inputs[name] = values[src["componentInputParameter"].removeprefix("pipelinechannel--")]
        inputs.update(extra)
        label = components[task["componentRef"]["name"]]["executorLabel"]
        args = [a for a in executors[label]["container"]["args"]]
        args = [
            json.dumps({"inputs": {"parameterValues": inputs}})
            if a == "{{$}}"
            else a.replace("{{$.pipeline_job_uuid}}", job_id)
            for a in args
        ]
        return launcher.main(args)

    state: dict[str, str] = {}
    details = []
    pending = list(body)
    while pending:
        name = next(n for n in pending if all(d in state for d in body[n].get("dependentTasks", [])))
        pending.remove(name)
        task = body[name]
        if any(state[d] != "SUCCEEDED" for d in task.get("dependentTasks", [])):
            state[name] = "SKIPPED"
            continue
        if name == broken_task:  # the pod never started: nothing recorded
            state[name] = "FAILED"
            details.append(
                SimpleNamespace(
                    display_name=task["taskInfo"]["name"],
                    state="FAILED",
                    task_id="t-1",
                    error=SimpleNamespace(message="ImagePullBackOff"),
                )
            )
            continue
        tries = task.get("retryPolicy", {}).get("maxRetryCount", 0) + 1
        for _ in range(tries):
            code = call(task, {})
            if code == 0:
                break
        state[name] = "SUCCEEDED" if code == 0 else "FAILED"
        details.append(
            SimpleNamespace(display_name=task["taskInfo"]["name"], state=state[name], task_id=name)
        )
    overall = "SUCCEEDED" if all(s == "SUCCEEDED" for s in state.values()) else "FAILED"
    fin = ir["root"]["dag"]["tasks"]["zen-finalize"]
    call(fin, {"status": {"state": overall, "error": {}}})
    return SimpleNamespace(
        run_id=job_id,
        state=overall,
        error=SimpleNamespace(message="" if overall == "SUCCEEDED" else "a task failed"),
        run_details=SimpleNamespace(task_details=details),
    )


@pytest.fixture
def kfp_stack(zen_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An active stack with a kubeflow orchestrator whose client is MiniKfp."""
    fake = MiniKfp()
    monkeypatch.setattr(KubeflowOrchestrator, "client", lambda self: fake)

    def configure(**config: Any) -> None:
        manager = StackManager()
        manager.register_component(
            "artifact_store", "s", "local", {"path": str(tmp_path / "store"), "shared": True}, replace=True
        )
        manager.register_component(
            "orchestrator", "kfp", "kubeflow", {"image": IMAGE, "poll_interval": 0.01, **config}, replace=True
        )
        manager.register_stack("kfp", {"orchestrator": "kfp", "artifact_store": "s"}, replace=True)
        manager.set_active("kfp")
        manager.save()

    configure()
    fake.configure = configure  # type: ignore[attr-defined]
    return fake


def runs() -> RunStore:
    return RunStore(Stack().artifact_store)


def test_run_submits_with_run_id_and_parameters_and_waits(kfp_stack: MiniKfp) -> None:
    result = P.parameters.run(start=5)
    assert result.status == "completed"
    assert result.load("multiply") == (5 + 10) * 3
    ((_, call),) = [c for c in kfp_stack.calls if c[0] == "run_pipeline"]
    assert call["params"] == {"start": 5, "factor": 3, "zen_run_id": result.run_id}
    assert call["enable_caching"] is False
    run = runs().read_run(result.run_id)
    assert run.backend["kfp_run_id"] == "kfp-1"
    assert ("create_experiment", {"name": "parameters"}) in kfp_stack.calls


def test_failure_is_reported_with_failed_and_skipped_steps(kfp_stack: MiniKfp) -> None:
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    assert set(info.value.failed_steps) == {"explode"}
    steps = runs().read_steps(info.value.run_id)
    assert steps["after_failure"].status == "skipped"
    assert steps["independent_tail"].status == "completed"
    assert runs().read_run(info.value.run_id).status == "failed"


def test_a_task_kfp_reports_failed_without_a_record_gets_kfps_error(kfp_stack: MiniKfp) -> None:
    kfp_stack.fail_task_without_record = "add-2"
    with pytest.raises(RunFailedError) as info:
        P.linear_chain.run()
    rec = runs().read_step(info.value.run_id, "add_2")
    assert rec is not None and rec.status == "failed"
    assert rec.error == "KFP task failed: ImagePullBackOff"
    assert runs().read_step(info.value.run_id, "multiply").status == "skipped"  # type: ignore[union-attr]


def test_retries_are_kfp_retries_with_zen_attempts(kfp_stack: MiniKfp) -> None:
    result = P.retrying.run()
    assert result.steps["flaky"].attempt == 3


def test_detached_run_returns_running(kfp_stack: MiniKfp) -> None:
    kfp_stack.configure(synchronous=False)  # type: ignore[attr-defined]
    result = P.linear_chain.run()
    assert result.status == "running"


def test_upload_mode_reuses_an_unchanged_version(kfp_stack: MiniKfp) -> None:
    kfp_stack.configure(submit="upload")  # type: ignore[attr-defined]
    P.linear_chain.run()
    P.linear_chain.run()
    uploads = [c for c in kfp_stack.calls if c[0].startswith("upload")]
    assert [c[0] for c in uploads] == ["upload_pipeline", "upload_pipeline_version"]
    runs_ = [c[1] for c in kfp_stack.calls if c[0] == "run_pipeline"]
    assert runs_[0]["version_id"] == runs_[1]["version_id"] == "v-2"
    assert "pipeline_package_path" not in runs_[0]


def test_schedule_creates_a_recurring_run(kfp_stack: MiniKfp, zen_config: Path) -> None:
    from zen_core.pipelines import pipeline
    from zen_core.testing.pipelines import number

    @pipeline(name="hourly", settings={"kubeflow": {"schedule": {"cron": "0 0 * * * *"}}})
    def hourly(value: int = 4) -> None:
        number(value=value)

    hourly.source = "zen_core.testing.pipelines:linear_chain"  # type: ignore[attr-defined]
    result = hourly.run()
    assert result.status == "running"
    ((_, call),) = [c for c in kfp_stack.calls if c[0] == "create_recurring_run"]
    assert call["cron_expression"] == "0 0 * * * *"
    assert call["params"] == {"value": 4}  # no zen_run_id: each KFP run gets its own
    assert call["no_catchup"] is True
    run = runs().read_run(result.run_id)
    assert run.backend["kfp_recurring_run_id"] == "rr-1"
    Stack().orchestrator.stop(run, runs())
    assert ("disable_recurring_run", {"id": "rr-1"}) in kfp_stack.calls


def test_stop_terminates_the_kfp_run(kfp_stack: MiniKfp) -> None:
    kfp_stack.configure(synchronous=False)  # type: ignore[attr-defined]
    result = P.linear_chain.run()
    run = runs().read_run(result.run_id)
    Stack().orchestrator.stop(run, runs())
    assert ("terminate_run", {"run_id": "kfp-1"}) in kfp_stack.calls


def test_local_store_must_be_shared(kfp_stack: MiniKfp, tmp_path: Path) -> None:
    manager = StackManager()
    manager.register_component("artifact_store", "s", "local", {"path": str(tmp_path / "x")}, replace=True)
    manager.save()
    with pytest.raises(StackError, match="shared"):
        P.linear_chain.run()


def test_step_level_schedule_is_refused(kfp_stack: MiniKfp) -> None:
    from zen_core.errors import PipelineDefinitionError
    from zen_core.spec import PipelineSpec

    spec = P.linear_chain.compile()
    data = json.loads(spec.to_json())
    data["steps"][0]["settings"] = {"kubeflow": {"schedule": {"interval_seconds": 60}}}
    with pytest.raises(PipelineDefinitionError, match="pipeline-level"):
        Stack().orchestrator.validate(PipelineSpec.model_validate(data))


def test_images_come_from_the_builder_hook_when_no_image_is_configured(
    kfp_stack: MiniKfp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zen_core import plugins
    from zen_core.hookspecs import hookimpl

    class Builder:
        @hookimpl
        def zen_build_images(self, spec: Any, stack: Any) -> dict[str, str]:
            return {s.id: f"built/{s.id}:1" for s in spec.steps}

    kfp_stack.configure(image=None)  # type: ignore[attr-defined]
    orchestrator = Stack().orchestrator
    spec = P.diamond.compile()
    with pytest.raises(StackError, match="zen-docker"):
        orchestrator.images(spec)
    plugins.plugin_manager().register(Builder())
    assert orchestrator.images(spec)["combine"] == "built/combine:1"


def test_credentials_hook_and_token_env(zen_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kfp

    made: list[dict[str, Any]] = []
    monkeypatch.setattr(kfp, "Client", lambda **kw: made.append(kw) or SimpleNamespace())
    from zen_kubeflow.config import KubeflowOrchestratorConfig

    o = KubeflowOrchestrator("k", KubeflowOrchestratorConfig(host="http://h", token_env="KFP_TOKEN"), None)
    with pytest.raises(StackError, match="KFP_TOKEN"):
        o.client()
    monkeypatch.setenv("KFP_TOKEN", "t0k")
    o.client()
    assert made[-1]["existing_token"] == "t0k" and made[-1]["host"] == "http://h"
    module = textwrap.dedent(
        """
        def token():
            return "from-hook"
        """
    )
    (Path(zen_config.parent) / "kfp_creds.py").write_text(module)
    monkeypatch.syspath_prepend(str(zen_config.parent))
    o = KubeflowOrchestrator("k", KubeflowOrchestratorConfig(credentials="kfp_creds:token"), None)
    o.client()
    assert made[-1]["existing_token"] == "from-hook"


def test_zen_pipeline_compile_flavor_kubeflow(zen_config: Path, tmp_path: Path) -> None:
    manager = StackManager()
    manager.register_component("artifact_store", "s", "fsspec", {"url": "memory://zen"})
    manager.register_component("orchestrator", "k", "kubeflow", {"image": IMAGE})
    manager.register_stack("k", {"orchestrator": "k", "artifact_store": "s"})
    manager.set_active("k")
    manager.save()
    out = tmp_path / "p.yaml"
    env = {**os.environ, "ZEN_CONFIG_DIR": str(zen_config)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zen_core.cli.main",
            "pipeline",
            "compile",
            "zen_core.testing.pipelines:diamond",
            "--flavor",
            "kubeflow",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    ir = next(yaml.safe_load_all(out.read_text()))
    assert ir["pipelineInfo"]["name"] == "diamond"
    assert ir["deploymentSpec"]["executors"]["exec-zen-step"]["container"]["args"][2] == "memory://zen"


def test_plugin_registers_without_importing_kfp() -> None:
    code = (
        "import sys\n"
        "from zen_core.plugins import flavor_registry\n"
        "f = flavor_registry().get('orchestrator', 'kubeflow')\n"
        "assert f.package == 'zen-kubeflow', f.package\n"
        "assert f.load_settings_class().__name__ == 'KubeflowSettings'\n"
        "heavy = ('kfp', 'kubernetes', 'google', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == "[]"
