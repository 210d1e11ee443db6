"""Generated DAGs in real Airflow: parsed by DagBag, serialized, rendered, run without zen.

The DAG files are the ones zen writes for a deployment; Airflow reads them with
the same DagBag its DAG processor uses, and serializes them as the processor
does before the scheduler sees them.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import zen_af_pipelines
from conftest import installed

from zen_airflow import dagfile
from zen_airflow.config import AirflowOrchestratorConfig
from zen_airflow.generate import build_dag_files, write_dag_files
from zen_core.artifacts.store import ArtifactStore
from zen_core.errors import RunFailedError, ZenError
from zen_core.pipelines import Pipeline
from zen_core.records import RunStore
from zen_core.spec import PipelineSpec
from zen_core.stacks import StackManager
from zen_core.testing import pipelines as P

HERE = Path(__file__).parent
HOSTILE = [
    'a"; import os; os.system("touch /tmp/pwned") #',
    "x'\n__import__('os').system('id')\n'",
    '"""\nraise SystemExit\n"""',
    "{{ dag_run.conf }}",
    "../../etc/passwd",
    "ünïcødé 🚀",
]
HAS_KPO = installed("airflow.providers.cncf.kubernetes")
HAS_DOCKER = installed("airflow.providers.docker")


def _step(
    step_id: str, upstream: tuple[str, ...] = (), settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": step_id,
        "name": step_id,
        "source": "zen_core.testing.pipelines:number",
        "code_hash": "0" * 16,
        "inputs": {
            f"i{n}": {"kind": "artifact", "step": u, "output": "output"} for n, u in enumerate(upstream)
        },
        "outputs": {"output": {"type": "int"}},
        "settings": settings or {},
    }


def hostile_spec() -> PipelineSpec:
    steps = [_step("root")] + [_step(h, ("root",)) for h in HOSTILE]
    return PipelineSpec.model_validate(
        {
            "name": HOSTILE[0],
            "source": "x:y",
            "steps": steps,
            "parameters": {h: {"type": "str", "default": h} for h in HOSTILE},
            "settings": {"airflow": {"pool": "default_pool", "operator_kwargs": {"doc": HOSTILE[1]}}},
        }
    )


def operators_spec() -> PipelineSpec:
    settings = {
        "docker": {"airflow": {"operator": "docker", "operator_kwargs": {"network_mode": "host"}}},
        "empty": {
            "airflow": {
                "operator": "airflow.providers.standard.operators.empty:EmptyOperator",
                "command_kwarg": None,
            }
        },
        "pod": {"airflow": {"operator": "kubernetes_pod", "operator_kwargs": {"namespace": "ml"}}},
    }
    names = ["empty", *(["docker"] if HAS_DOCKER else []), *(["pod"] if HAS_KPO else [])]
    steps = [_step(n, settings=settings[n]) for n in names]
    return PipelineSpec.model_validate({"name": "operators", "source": "x:y", "steps": steps})


def all_dag_files(store: str) -> list[Any]:
    config = AirflowOrchestratorConfig()
    pipelines = [p for p in vars(P).values() if isinstance(p, Pipeline)]
    pipelines += [zen_af_pipelines.times_out, zen_af_pipelines.nightly]
    specs = [p.compile() for p in pipelines] + [hostile_spec(), operators_spec()]
    images = {s.id: "docker.io/library/python:3.11-slim" for s in operators_spec().steps}
    every = []
    for spec in specs:
        interval = (
            AirflowOrchestratorConfig(schedule={"interval": "PT2H"}) if spec.name == "diamond" else config
        )
        every.append(
            build_dag_files(
                spec,
                interval,
                store_url=store,
                spec_uri=f"{store}/airflow/specs/{spec.digest()}.json",
                local_store=store,
                images=images if spec.name == "operators" else None,
            )
        )
    return every


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path_factory.mktemp("dagbag")
    generated = {}
    for files in all_dag_files("/srv/zen-store"):
        write_dag_files(files, str(folder))
        generated[files.dag_id] = files
    return DagBag(dag_folder=str(folder)), generated


def test_every_generated_dag_parses_without_import_errors(dagbag):
    bag, generated = dagbag
    assert bag.import_errors == {}
    assert sorted(bag.dags) == sorted(generated)
    assert len(generated) >= 14


def test_tasks_and_dependencies_follow_the_pipeline(dagbag):
    bag, generated = dagbag
    for dag_id, files in generated.items():
        dag = bag.dags[dag_id]
        assert sorted(dag.task_dict) == sorted(t["task_id"] for t in files.definition["tasks"])
        for task in files.definition["tasks"]:
            assert sorted(dag.task_dict[task["task_id"]].upstream_task_ids) == sorted(task["upstream"])
    diamond = bag.dags["diamond"]
    assert diamond.task_dict["combine"].upstream_task_ids == {"add", "multiply"}


def test_every_dag_serializes_as_the_dag_processor_stores_it(dagbag):
    from airflow.serialization.serialized_objects import DagSerialization

    bag, _ = dagbag
    for dag in bag.dags.values():
        restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        assert sorted(restored.task_dict) == sorted(dag.task_dict)


def test_parameters_schedules_and_task_arguments(dagbag):
    bag, _ = dagbag
    params = bag.dags["parameters"].params
    assert (params["start"], params["factor"]) == (2, 3)

    nightly = bag.dags["nightly"]
    assert nightly.timetable.expression == "15 3 * * *"
    assert nightly.start_date == dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    assert nightly.end_date == dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert nightly.catchup is False
    assert bag.dags["diamond"].timetable.delta == dt.timedelta(hours=2)
    assert bag.dags["linear_chain"].timetable.can_be_scheduled is False  # manual only

    flaky = bag.dags["retrying"].task_dict["flaky"]
    assert flaky.retries == 3
    assert flaky.retry_delay == dt.timedelta(seconds=0.1)
    assert flaky.retry_exponential_backoff == 2.0
    sleepy = bag.dags["times_out"].task_dict["sleepy"]
    assert sleepy.execution_timeout == dt.timedelta(seconds=3)
    assert "zen" in bag.dags["linear_chain"].tags


def test_hostile_names_parse_and_stay_data(dagbag):
    bag, generated = dagbag
    (files,) = [f for f in generated.values() if f.definition["pipeline"] == HOSTILE[0]]
    dag = bag.dags[files.dag_id]
    steps = {t["task_id"]: t["step"] for t in files.definition["tasks"]}
    assert sorted(steps.values()) == sorted(["root", *HOSTILE])
    assert {dag.params[h] for h in HOSTILE} == set(HOSTILE)
    assert dag.task_dict["root"].doc == HOSTILE[1]
    assert not Path("/tmp/pwned").exists()


@pytest.mark.skipif(not HAS_DOCKER, reason="needs apache-airflow-providers-docker")
def test_container_commands_render_to_the_entrypoint_arguments(dagbag):
    bag, generated = dagbag
    dag = bag.dags["operators"]
    task = dag.task_dict["docker"]
    context = {
        "task": task,
        "ti": SimpleNamespace(try_number=2),
        "dag_run": SimpleNamespace(run_id="scheduled__2025-01-01T00:00:00+00:00", conf={}),
        "params": {},
    }
    env = dag.get_template_env()
    rendered = task.render_template(task.command, context, jinja_env=env)
    definition = generated["operators"].definition
    t = next(t for t in definition["tasks"] if t["task_id"] == "docker")
    assert rendered == ["python", *dagfile.entrypoint_args(definition, t, definition["spec_uri"], context)]
    assert task.render_template(task.image, context, jinja_env=env) == "docker.io/library/python:3.11-slim"
    assert [m["Source"] for m in task.mounts] == ["/srv/zen-store"]
    if HAS_KPO:
        pod = dag.task_dict["pod"]
        context["task"] = pod
        t = next(t for t in definition["tasks"] if t["task_id"] == "pod")
        expected = dagfile.entrypoint_args(definition, t, definition["spec_uri"], context)
        assert pod.cmds == ["python"]
        assert pod.render_template(pod.arguments, context, jinja_env=env) == expected
        assert pod.namespace == "ml"


# -- runs ---------------------------------------------------------------------------------


def _use_stack(tmp_path: Path, **config: Any) -> RunStore:
    os.environ["ZEN_CONFIG_DIR"] = str(tmp_path / "cfg")
    manager = StackManager()
    manager.register_component("artifact_store", "af", "local", {"path": str(tmp_path / "store")})
    base = {"local_runner": "in_process", "progress": "plain", "source_root": str(HERE)}
    manager.register_component("orchestrator", "af", "airflow", {**base, **config})
    manager.register_stack("af", {"orchestrator": "af", "artifact_store": "af"})
    manager.set_active("af")
    manager.save()
    return RunStore(ArtifactStore(str(tmp_path / "store")))


@pytest.fixture
def zen_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from zen_core import plugins

    monkeypatch.setenv("ZEN_CONFIG_DIR", "")  # restored after the test
    monkeypatch.delenv("ZEN_STACK", raising=False)
    plugins.reset()


def test_a_run_airflow_starts_itself_is_recorded_under_a_derived_run_id(tmp_path, dags_folder):
    """As a schedule or the Airflow UI would start it: no zen client, no zen run id in the conf."""
    from airflow.dag_processing.dagbag import DagBag

    store = tmp_path / "store"
    files = build_dag_files(
        P.parameters.compile(), AirflowOrchestratorConfig(), store_url=str(store), spec_uri=None
    )
    write_dag_files(files, str(dags_folder))
    dag = DagBag(dag_folder=str(dags_folder / f"{files.stem}.py")).dags[files.dag_id]
    dag_run = dag.test(run_conf={"factor": 5})
    assert str(dag_run.state.value if hasattr(dag_run.state, "value") else dag_run.state) == "success"

    run_id = dagfile.zen_run_id(files.dag_id, dag_run.run_id, {})
    runs = RunStore(ArtifactStore(str(store)))
    assert runs.read_run(run_id).pipeline == "parameters"
    steps = runs.read_steps(run_id)
    assert {s.status for s in steps.values()} == {"completed"}
    with runs.store.open_read(runs.store.key_of_uri(steps["multiply"].outputs["output"].uri)) as f:
        assert f.read() == b"60"  # (2 + 10) * 5: the default start, the conf's factor


def test_execution_timeout_stops_the_step_and_its_process(tmp_path, zen_config):
    runs = _use_stack(tmp_path)
    with pytest.raises(RunFailedError) as info:
        zen_af_pipelines.times_out.run()
    steps = runs.read_steps(info.value.run_id)
    assert steps["sleepy"].status == "failed"
    # recorded by the killed step itself (SIGTERM), or else by the client after the run
    error = steps["sleepy"].error or ""
    assert "SIGTERM" in error or "without the step recording a result" in error
    assert steps["after_sleep"].status == "skipped"
    # the entrypoint process was killed with the task
    leftovers = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if info.value.run_id.encode() in cmdline.read_bytes():
                leftovers.append(cmdline)
        except OSError:
            continue
    assert leftovers == []


def test_a_missing_pool_is_reported_instead_of_waiting_forever(tmp_path, zen_config):
    _use_stack(tmp_path)
    with pytest.raises(ZenError, match=r"pool 'zen-no-such-pool' does not exist.*airflow pools set"):
        zen_af_pipelines.missing_pool.run()
