"""Golden files: the generated DAG file and DAG definitions, reviewed like code.

Regenerate after an intended change with ``ZEN_UPDATE_GOLDEN=1 pytest`` and read
the diff.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import fake_airflow
import pytest
import specs

from zen_airflow.config import AirflowOrchestratorConfig
from zen_airflow.generate import DagFiles, build_dag_files, dag_file_source, write_dag_files

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ZEN_UPDATE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with ZEN_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def config(**values) -> AirflowOrchestratorConfig:
    return AirflowOrchestratorConfig.model_validate(values)


def linear() -> DagFiles:
    spec = specs.spec(
        "linear",
        [
            specs.step("load"),
            specs.step("train", upstream=("load",), retry={"max_retries": 2, "delay": 30, "backoff": 2}),
            specs.step("evaluate", upstream=("train",)),
        ],
        parameters={
            "epochs": {"type": "int", "default": 10},
            "rate": {"type": "Optional[float]", "default": None},
            "dataset": {"type": "str", "required": True},
        },
    )
    return build_dag_files(spec, config(), store_url=specs.STORE, spec_uri=None)


def scheduled() -> DagFiles:
    spec = specs.diamond(
        settings={
            "airflow": {
                "schedule": {
                    "cron": "30 2 * * 1-5",
                    "start_date": "2025-01-01T00:00:00",
                    "end_date": "2026-01-01T00:00:00+01:00",
                    "catchup": True,
                },
                "pool": "training",
                "queue": "gpu",
            }
        },
        train={"airflow": {"execution_timeout": 3600, "retries": 5, "retry_delay": "PT1M", "pool_slots": 2}},
    )
    cfg = config(dag_id_prefix="team_", tags=["ml", "nightly"], max_active_runs=1, source_root="/opt/project")
    return build_dag_files(spec, cfg, store_url="s3://bucket/zen", spec_uri=None, source_root="/opt/project")


def interval() -> DagFiles:
    spec = specs.spec("every_six_hours", [specs.step("only")])
    return build_dag_files(spec, config(schedule={"interval": "PT6H"}), store_url=specs.STORE, spec_uri=None)


def operators() -> DagFiles:
    spec = specs.diamond(
        settings={"airflow": {"operator": "docker", "operator_kwargs": {"network_mode": "host"}}},
        load={"airflow": {"operator": "local", "python": "/opt/venv/bin/python"}},
        features={
            "airflow": {
                "operator": "kubernetes_pod",
                "operator_kwargs": {"namespace": "ml", "service_account_name": "zen"},
            }
        },
        train={
            "airflow": {
                "operator": "fake_airflow:CustomOperator",
                "operator_kwargs": {"cluster": "a100"},
                "command_kwarg": "entrypoint",
                "image_kwarg": "container_image",
            }
        },
    )
    images = {s.id: f"registry.example/zen:{s.id}" for s in spec.steps}
    return build_dag_files(
        spec,
        config(),
        store_url=specs.STORE,
        spec_uri=f"{specs.STORE}/airflow/specs/{spec.digest()}.json",
        local_store=specs.STORE,
        images=images,
    )


CASES = {"linear": linear, "scheduled": scheduled, "interval": interval, "operators": operators}


def test_the_dag_file_is_the_same_code_for_every_pipeline():
    check_golden("dag_file.py", dag_file_source())
    for make in CASES.values():
        assert make().dag_file == dag_file_source()


@pytest.mark.parametrize("case", sorted(CASES))
def test_definition(case):
    files = CASES[case]()
    check_golden(f"{case}.json", files.definition_json)


def test_generation_is_deterministic():
    for make in CASES.values():
        assert make().files() == make().files()


def test_files_are_named_after_the_dag_id(tmp_path):
    files = scheduled()
    assert files.dag_id == "team_diamond"
    written = write_dag_files(files, str(tmp_path))
    assert [Path(p).name for p in written] == [
        "zen_team_diamond.spec.json",
        "zen_team_diamond.json",
        "zen_team_diamond.py",  # last: Airflow may parse it as soon as it appears
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in written)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_dags_build(case, tmp_path, monkeypatch):
    """The DAG file builds the DAG its definition describes (with stand-in Airflow classes)."""
    fake_airflow.install(monkeypatch)
    files = CASES[case]()
    write_dag_files(files, str(tmp_path))
    dag = runpy.run_path(str(tmp_path / f"{files.stem}.py"))["dag"]
    assert dag.dag_id == files.dag_id
    assert list(dag.tasks) == [t["task_id"] for t in files.definition["tasks"]]
    for task in files.definition["tasks"]:
        assert dag.tasks[task["task_id"]].upstream == task["upstream"]
