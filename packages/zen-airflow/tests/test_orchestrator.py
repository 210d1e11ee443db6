"""The orchestrator's own logic, without Airflow: images, stores, folders, records, the CLI."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import specs
from click.testing import CliRunner

from zen_airflow.cli import airflow as airflow_cli
from zen_airflow.orchestrator import AirflowOrchestrator
from zen_core import plugins
from zen_core.errors import StackError
from zen_core.orchestrator import RunRequest
from zen_core.progress import Progress
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P


@pytest.fixture
def stack(tmp_path, monkeypatch):
    """Make the active stack an airflow one; returns a function to (re)configure it."""
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()

    def configure(store=None, **config):
        manager = StackManager()
        store = store or {"path": str(tmp_path / "store")}
        manager.register_component("artifact_store", "af", "local", store, replace=True)
        config.setdefault("dags_folder", str(tmp_path / "dags"))
        config.setdefault("progress", "off")
        manager.register_component("orchestrator", "af", "airflow", config, replace=True)
        manager.register_stack("af", {"orchestrator": "af", "artifact_store": "af"}, replace=True)
        manager.set_active("af")
        manager.save()
        return Stack()

    configure()
    return configure


def python_without_airflow(tmp_path: Path) -> str:
    """An interpreter in which ``import airflow`` fails, as where it is not installed."""
    boot = tmp_path / "boot_without_airflow.py"
    boot.write_text(
        textwrap.dedent(
            """
            import runpy, sys
            class Block:
                def find_spec(self, name, path=None, target=None):
                    if name.split(".")[0] == "airflow":
                        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            sys.meta_path.insert(0, Block())
            sys.argv = sys.argv[1:]
            runpy.run_path(sys.argv[0], run_name="__main__")
            """
        )
    )
    script = tmp_path / "python-without-airflow"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{boot}" "$@"\n')
    script.chmod(0o755)
    return str(script)


def test_local_mode_without_airflow_says_what_to_install(stack, tmp_path):
    stack(airflow_python=python_without_airflow(tmp_path))
    with pytest.raises(
        StackError, match=r"needs Apache Airflow on this machine: pip install 'apache-airflow>=3.3.2,<3.4'"
    ):
        P.linear_chain.run()
    # the DAG files were written all the same: they are what a deployment needs
    assert (tmp_path / "dags" / "zen_linear_chain.py").exists()


def test_in_process_mode_without_airflow_says_what_to_install(stack, monkeypatch):
    stack(local_runner="in_process")
    for name in ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__LOAD_EXAMPLES"):
        monkeypatch.setenv(name, "")  # the runner sets these: restore them after the test
        monkeypatch.delenv(name)
    monkeypatch.setitem(sys.modules, "airflow", None)  # import airflow fails
    with pytest.raises(StackError, match="needs Apache Airflow on this machine"):
        P.linear_chain.run()


class _Hook:
    def __init__(self, images):
        self.images = images
        self.calls = 0

    def zen_build_images(self, spec, stack):
        self.calls += 1
        return self.images(spec) if callable(self.images) else self.images


def _builder(monkeypatch, images):
    hook = _Hook(images)
    monkeypatch.setattr(plugins, "plugin_manager", lambda: type("PM", (), {"hook": hook})())
    return hook


def test_container_steps_without_an_image_builder_name_zen_docker(stack, monkeypatch):
    stack()
    _builder(monkeypatch, None)
    spec = specs.diamond(settings={"airflow": {"operator": "docker"}})
    with pytest.raises(
        StackError, match=r"no image builder is installed: install zen-docker \(pip install zen-docker\)"
    ):
        Stack().orchestrator.deploy(spec)


def test_images_come_from_the_image_builder_hook(stack, monkeypatch, tmp_path):
    stack()
    hook = _builder(monkeypatch, lambda spec: {s.id: f"img:{s.id}" for s in spec.steps})
    spec = specs.diamond(train={"airflow": {"operator": "docker"}})
    files, _ = Stack().orchestrator.deploy(spec)
    assert hook.calls == 1
    tasks = {t["step"]: t for t in files.definition["tasks"]}
    assert tasks["train"]["image"] == "img:train" and tasks["load"]["image"] is None
    # containers read the spec from the artifact store, where the client put a copy
    store = tmp_path / "store"
    assert files.definition["spec_uri"] == f"{store}/airflow/specs/{spec.digest()}.json"
    assert (
        json.loads((store / "airflow" / "specs" / f"{spec.digest()}.json").read_text())["name"] == "diamond"
    )
    mounts = tasks["train"]["operator_kwargs"]["mounts"]
    assert mounts == [{"source": str(store), "target": str(store), "type": "bind"}]


def test_no_image_is_built_for_local_steps_or_when_compiling(stack, monkeypatch):
    stack()
    hook = _builder(monkeypatch, None)
    Stack().orchestrator.deploy(specs.diamond())
    text, suffix = Stack().orchestrator.compile_native(
        specs.diamond(settings={"airflow": {"operator": "docker"}})
    )
    assert hook.calls == 0
    assert suffix == ".json" and json.loads(text)["tasks"][0]["image"] is None


def test_pods_cannot_reach_a_local_store_unless_it_is_shared(stack, tmp_path):
    spec = specs.diamond(clean={"airflow": {"operator": "kubernetes_pod"}})
    stack()
    with pytest.raises(StackError, match="which Kubernetes pods cannot reach"):
        Stack().orchestrator.validate(spec)
    stack(store={"path": str(tmp_path / "store"), "shared": True})
    Stack().orchestrator.validate(spec)


def test_dags_folder_defaults_to_airflow_s_own(stack, tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    orch = AirflowOrchestrator(name="x", config=stack(dags_folder=None).orchestrator.config, stack=None)
    orch.config = orch.config.model_copy(update={"dags_folder": None})
    assert orch.dags_folder() == str(tmp_path / "home" / "dags")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "elsewhere"))
    assert orch.dags_folder() == str(tmp_path / "elsewhere")
    orch.config = orch.config.model_copy(update={"dags_folder": "gs://bucket/dags"})
    assert orch.dags_folder() == "gs://bucket/dags"


def test_what_airflow_decided_without_a_step_is_recorded(stack):
    """Skipped steps, and tasks that ended without the step recording a result."""
    orch = stack().orchestrator
    spec = P.failing.compile()
    runs = RunStore(Stack().artifact_store)
    run = RunRecord(run_id="r1", pipeline=spec.name, spec_digest=spec.digest())
    runs.write_run(run)
    runs.write_step(StepRecord(run_id="r1", step_id="number", status="completed"))
    runs.write_step(StepRecord(run_id="r1", step_id="explode", status="running", attempt=2, started_at=1.0))
    runs.write_step(StepRecord(run_id="r1", step_id="independent", status="completed"))
    files = orch.dag_files(spec)
    request = RunRequest(spec=spec, run=run, runs=runs, spec_uri="", parameters={})
    states = {
        "number": "success",
        "explode": "failed",
        "independent": "success",
        "independent_tail": None,
        "after_failure": "upstream_failed",
    }
    assert orch._reconcile(request, files, states, Progress()) == "failed"
    steps = runs.read_steps("r1")
    assert steps["explode"].status == "failed" and steps["explode"].attempt == 2
    assert steps["explode"].error is not None
    assert (
        "Airflow task 'explode' ended in state 'failed' without the step recording" in steps["explode"].error
    )
    assert steps["after_failure"].status == "skipped"
    assert steps["after_failure"].skipped_because == "upstream step 'explode' failed"
    assert steps["independent_tail"].status == "failed"
    assert "state 'None'" in (steps["independent_tail"].error or "")


def test_the_cli_writes_dag_files_without_running(stack, tmp_path, monkeypatch):
    stack()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_pipes.py").write_text("from zen_core.testing.pipelines import diamond\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    result = CliRunner().invoke(airflow_cli, ["write", "my_pipes:diamond", "--dags-folder", str(out)])
    assert result.exit_code == 0, result.output
    assert "DAG id: diamond" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "zen_diamond.json",
        "zen_diamond.py",
        "zen_diamond.spec.json",
    ]
    assert not (tmp_path / "store" / "runs").exists()  # nothing ran


def test_the_cli_is_registered_with_zen(stack):
    from zen_core.cli.main import cli

    result = CliRunner().invoke(cli, ["airflow", "write", "--help"])
    assert result.exit_code == 0 and "DAGs folder" in result.output


def test_zen_pipeline_compile_prints_the_dag_definition(stack, tmp_path):
    from zen_core.cli.main import cli

    target = "zen_core.testing.pipelines:diamond"
    result = CliRunner().invoke(cli, ["pipeline", "compile", target, "--flavor", "airflow"])
    assert result.exit_code == 0, result.output
    definition = json.loads(result.output)
    assert definition["dag_id"] == "diamond" and len(definition["tasks"]) == 4
    assert not (tmp_path / "dags").exists()  # compiling writes nothing
