"""The DAG file's code, without Airflow: what it builds, run ids, and running a step."""

from __future__ import annotations

import datetime as dt
import functools
import json
import runpy
from pathlib import Path
from types import SimpleNamespace

import fake_airflow
import pytest
import test_golden

from zen_airflow import dagfile
from zen_airflow.config import AirflowOrchestratorConfig
from zen_airflow.generate import build_dag_files, write_dag_files
from zen_core.artifacts.store import ArtifactStore
from zen_core.names import validate_name
from zen_core.records import RunRecord, RunStore
from zen_core.testing import pipelines as P


def load_dag(files, folder: Path, monkeypatch):
    fake_airflow.install(monkeypatch)
    write_dag_files(files, str(folder))
    return runpy.run_path(str(folder / f"{files.stem}.py"))["dag"]


def context(run_id="manual__2025-01-01T00:00:00+00:00", conf=None, params=None, try_number=1, task_id="t"):
    return {
        "dag_run": SimpleNamespace(run_id=run_id, conf=conf or {}),
        "params": params or {},
        "ti": SimpleNamespace(try_number=try_number),
        "task": SimpleNamespace(task_id=task_id),
    }


# -- what the DAG file builds -------------------------------------------------------


def test_operators_get_the_entrypoint_command_and_image(tmp_path, monkeypatch):
    files = test_golden.operators()
    dag = load_dag(files, tmp_path, monkeypatch)
    load, clean, features, train = (dag.tasks[t] for t in ("load", "clean", "features", "train"))

    assert type(load).__name__ == "PythonOperator"
    call = load.kwargs["python_callable"]
    assert isinstance(call, functools.partial) and call.func.__name__ == "run_step"
    assert call.args[1]["python"] == "/opt/venv/bin/python"
    assert "network_mode" not in load.kwargs  # the pipeline's docker kwargs are not the local step's

    command = ["python", *dagfile.ENTRYPOINT_TEMPLATE]
    assert type(clean).__name__ == "DockerOperator"
    assert clean.kwargs["image"] == dagfile.IMAGE_TEMPLATE
    assert clean.kwargs["command"] == command
    assert clean.kwargs["network_mode"] == "host"
    assert clean.kwargs["auto_remove"] == "force"
    (mount,) = clean.kwargs["mounts"]
    assert (mount.source, mount.target, mount.type) == ("/srv/zen-store", "/srv/zen-store", "bind")

    assert type(features).__name__ == "KubernetesPodOperator"
    assert features.kwargs["cmds"] == ["python"]
    assert features.kwargs["arguments"] == command[1:]
    assert features.kwargs["namespace"] == "ml"

    assert type(train).__name__ == "CustomOperator"
    assert train.kwargs["entrypoint"] == command
    assert train.kwargs["container_image"] == dagfile.IMAGE_TEMPLATE
    assert train.kwargs["cluster"] == "a100"
    assert "command" not in train.kwargs and "image" not in train.kwargs
    assert train.upstream == ["clean", "features"]


def test_templates_only_call_zen_macros():
    """Container commands are constant templates: no pipeline value is ever rendered by Jinja."""
    for arg in (*dagfile.ENTRYPOINT_TEMPLATE, dagfile.IMAGE_TEMPLATE):
        if "{{" in arg:
            assert arg.startswith("{{ zen_") or arg == "{{ ti.try_number }}"


def test_macros_render_what_the_local_operator_runs(tmp_path, monkeypatch):
    files = test_golden.operators()
    dag = load_dag(files, tmp_path, monkeypatch)
    macros = dag.kwargs["user_defined_macros"]
    ctx = context(conf={"zen_run_id": "zen-run-1"}, params={"unused": 1}, try_number=3, task_id="clean")
    task = ctx["task"]
    rendered = {
        "{{ zen_arg(task, 'store') }}": macros["zen_arg"](task, "store"),
        "{{ zen_spec(dag_run) }}": macros["zen_spec"](ctx["dag_run"]),
        "{{ zen_run_id(dag_run) }}": macros["zen_run_id"](ctx["dag_run"]),
        "{{ zen_arg(task, 'step') }}": macros["zen_arg"](task, "step"),
        "{{ zen_params(params) }}": macros["zen_params"](ctx["params"]),
        "{{ ti.try_number }}": "3",
    }
    argv = [rendered.get(a, a) for a in dagfile.ENTRYPOINT_TEMPLATE]
    clean = next(t for t in files.definition["tasks"] if t["task_id"] == "clean")
    assert argv == dagfile.entrypoint_args(files.definition, clean, files.definition["spec_uri"], ctx)
    assert macros["zen_arg"](task, "image") == "registry.example/zen:clean"
    # a run zen triggered reads the spec zen stored with it; one Airflow started, the DAG's
    assert argv[argv.index("--spec") + 1] == "/srv/zen-store/runs/zen-run-1/spec.json"
    own = macros["zen_spec"](SimpleNamespace(run_id="scheduled__x", conf={}))
    assert own == files.definition["spec_uri"]


def test_task_arguments(tmp_path, monkeypatch):
    files = test_golden.scheduled()
    dag = load_dag(files, tmp_path, monkeypatch)
    train = dag.tasks["train"].kwargs
    assert train["retries"] == 5
    assert train["retry_delay"] == dt.timedelta(minutes=1)
    assert train["execution_timeout"] == dt.timedelta(hours=1)
    assert (train["pool"], train["pool_slots"], train["queue"]) == ("training", 2, "gpu")
    assert train["do_xcom_push"] is False
    load = dag.tasks["load"].kwargs
    assert (load["retries"], load["pool"]) == (0, "training")
    assert "execution_timeout" not in load


def test_dag_arguments_and_schedules(tmp_path, monkeypatch):
    dag = load_dag(test_golden.scheduled(), tmp_path / "a", monkeypatch)
    kw = dag.kwargs
    assert kw["schedule"] == "30 2 * * 1-5"
    assert kw["start_date"] == dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    assert kw["end_date"] == dt.datetime(2025, 12, 31, 23, tzinfo=dt.timezone.utc)
    assert kw["catchup"] is True
    assert kw["max_active_runs"] == 1
    assert kw["tags"] == ["zen", "ml", "nightly"]
    assert kw["description"].startswith("zen pipeline diamond (definition ")

    kw = load_dag(test_golden.interval(), tmp_path / "b", monkeypatch).kwargs
    assert kw["schedule"] == dt.timedelta(hours=6)
    assert kw["start_date"] is None and kw["catchup"] is False
    assert "max_active_runs" not in kw  # Airflow's own default

    kw = load_dag(test_golden.linear(), tmp_path / "c", monkeypatch).kwargs
    assert kw["schedule"] is None


def test_pipeline_parameters_become_dag_params(tmp_path, monkeypatch):
    params = load_dag(test_golden.linear(), tmp_path, monkeypatch).kwargs["params"]
    assert params["epochs"].default == 10 and params["epochs"].schema == {"type": "integer"}
    assert params["rate"].default is None and params["rate"].schema == {"type": ["null", "number"]}
    assert params["dataset"].default is fake_airflow.Param.NOTSET  # required: no default
    assert params["dataset"].schema == {"type": "string"}


def test_a_custom_operator_must_be_an_operator(tmp_path, monkeypatch):
    spec = test_golden.specs.spec(
        "custom",
        [test_golden.specs.step("a", settings={"airflow": {"operator": "fake_airflow:NotAnOperator"}})],
    )
    files = build_dag_files(spec, AirflowOrchestratorConfig(), store_url="/s", spec_uri=None)
    with pytest.raises(TypeError, match="not an Airflow operator class"):
        load_dag(files, tmp_path, monkeypatch)


def test_an_unknown_definition_format_is_refused(tmp_path):
    (tmp_path / "zen_x.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ValueError, match="format 99"):
        dagfile.load_definition(str(tmp_path / "zen_x.py"))


# -- run ids ------------------------------------------------------------------------


AIRFLOW_RUN_IDS = [
    "manual__2025-01-01T00:00:00+00:00",
    "scheduled__2025-01-01T00:00:00+00:00",
    "backfill__2025-01-01T02:30:00.123456+00:00",
    "my custom run/../../etc",
    "..",
    "-",
    "ünïcødé 🚀",
    "x" * 500,
    "a\nb\0c",
]


@pytest.mark.parametrize("airflow_run_id", AIRFLOW_RUN_IDS)
def test_derived_run_ids_are_safe_names(airflow_run_id):
    run_id = dagfile.zen_run_id("my_dag", airflow_run_id, None)
    assert validate_name(run_id, "run id") == run_id
    assert run_id == dagfile.zen_run_id("my_dag", airflow_run_id, {})  # deterministic


def test_derived_run_ids_are_unique_per_dag_and_run():
    ids = {dagfile.zen_run_id(dag, run, None) for dag in ("a", "b") for run in AIRFLOW_RUN_IDS}
    assert len(ids) == 2 * len(AIRFLOW_RUN_IDS)
    # runs whose ids only differ in characters that get replaced still differ
    assert dagfile.zen_run_id("a", "x:1", None) != dagfile.zen_run_id("a", "x+1", None)


def test_a_run_zen_triggered_keeps_zen_s_run_id():
    assert dagfile.zen_run_id("d", "manual__x", {"zen_run_id": "train-20250101-000000-abc123"}) == (
        "train-20250101-000000-abc123"
    )


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "x" * 200, 42, "$(rm -rf)", ".hidden"])
def test_an_unsafe_run_id_in_the_conf_is_refused(bad):
    with pytest.raises(ValueError, match="zen_run_id"):
        dagfile.zen_run_id("d", "manual__x", {"zen_run_id": bad})


def test_only_pipeline_parameters_are_passed():
    params = {"start": 5, "factor": 2, "zen_run_id": "r", "other": "x"}
    assert json.loads(dagfile.step_params(["factor", "start"], params)) == {"start": 5, "factor": 2}


# -- the local operator, for real: a DAG run Airflow started by itself ----------------------


def _run_tasks(files, folder: Path, airflow_run_id: str, conf: dict, params: dict) -> list[str]:
    """Call each task's callable in order, as Airflow would; returns the failed task ids."""
    definition = dagfile.load_definition(str(folder / f"{files.stem}.py"))
    failed: list[str] = []
    for task in definition["tasks"]:
        if any(u in failed for u in task["upstream"]):
            failed.append(task["task_id"])  # upstream_failed
            continue
        try:
            dagfile.run_step(
                definition,
                task,
                str(folder),
                **context(airflow_run_id, conf, params, task_id=task["task_id"]),
            )
        except RuntimeError:
            failed.append(task["task_id"])
    return failed


def test_a_scheduled_run_records_steps_under_the_derived_run_id(tmp_path):
    store = tmp_path / "store"
    files = build_dag_files(
        P.parameters.compile(), AirflowOrchestratorConfig(), store_url=str(store), spec_uri=None
    )
    write_dag_files(files, str(tmp_path / "dags"))
    airflow_run_id = "scheduled__2025-03-01T00:00:00+00:00"
    assert _run_tasks(files, tmp_path / "dags", airflow_run_id, {}, {"start": 4, "factor": 10}) == []

    run_id = dagfile.zen_run_id("parameters", airflow_run_id, {})
    runs = RunStore(ArtifactStore(str(store)))
    steps = runs.read_steps(run_id)
    assert {s: r.status for s, r in steps.items()} == dict.fromkeys(
        ["number", "add", "multiply"], "completed"
    )
    assert runs.read_run(run_id).pipeline == "parameters"
    with runs.store.open_read(runs.store.key_of_uri(steps["multiply"].outputs["output"].uri)) as f:
        assert json.load(f) == (4 + 10) * 10


def test_a_failing_step_fails_its_task_and_records_the_attempt(tmp_path):
    """A run zen triggered: the task reads the spec zen stored with the run."""
    store = tmp_path / "store"
    spec = P.failing.compile()
    runs = RunStore(ArtifactStore(str(store)))
    runs.write_spec("r1", spec)
    runs.write_run(RunRecord(run_id="r1", pipeline=spec.name, spec_digest=spec.digest()))
    files = build_dag_files(spec, AirflowOrchestratorConfig(), store_url=str(store), spec_uri=None)
    write_dag_files(files, str(tmp_path / "dags"))
    definition = dagfile.load_definition(str(tmp_path / "dags" / f"{files.stem}.py"))
    (tmp_path / "dags" / files.definition["spec_file"]).unlink()  # not the one used
    explode = next(t for t in definition["tasks"] if t["step"] == "explode")
    with pytest.raises(RuntimeError, match=r"zen step 'explode' failed \(entrypoint exit code 1\)"):
        dagfile.run_step(
            definition, explode, str(tmp_path / "dags"), **context(conf={"zen_run_id": "r1"}, try_number=2)
        )
    record = runs.read_step("r1", "explode")
    assert record is not None and record.status == "failed" and record.attempt == 2
