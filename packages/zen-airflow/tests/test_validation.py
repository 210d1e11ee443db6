"""Bad settings and configs are refused before anything is written, naming the field."""

from __future__ import annotations

import pytest
import specs

from zen_airflow.config import AirflowSchedule
from zen_airflow.generate import build_dag_files
from zen_airflow.orchestrator import AirflowOrchestrator
from zen_core import pipeline, step
from zen_core.errors import PipelineDefinitionError, StackError
from zen_core.plugins import flavor_registry


def flavor():
    return flavor_registry().get("orchestrator", "airflow")


def orchestrator(**config):
    return AirflowOrchestrator(name="af", config=flavor().validate_config(config), stack=None)


def test_the_flavor_is_registered_with_its_settings():
    fl = flavor()
    assert fl.package == "zen-airflow"
    assert fl.load_settings_class().__name__ == "AirflowSettings"


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"operator": "bash"}, "operator", "is not an operator"),
        ({"operator": "os:system()"}, "operator", "is not an operator"),
        ({"operator_kwargs": {"task_id": "x"}}, "operator_kwargs", "set by zen"),
        ({"operator_kwargs": {"not valid": 1}}, "operator_kwargs", "not a keyword argument"),
        (
            {"operator": "docker", "operator_kwargs": {"image": "x"}},
            "operator_kwargs",
            "'image' is set by zen",
        ),
        ({"operator_kwargs": {"python_callable": "x"}}, "operator_kwargs", "'python_callable' is set"),
        (
            {"operator": "a.b:Op", "command_kwarg": "argv", "operator_kwargs": {"argv": []}},
            "operator_kwargs",
            "'argv' is set by zen for operator 'a.b:Op'",
        ),
        ({"retries": -1}, "retries", "greater than or equal to 0"),
        ({"execution_timeout": 0}, "execution_timeout", "positive"),
        ({"pool": "a\nb"}, "pool", "single line"),
        ({"pool_slots": 0}, "pool_slots", "greater than or equal to 1"),
        ({"retry_delay": "soon"}, "retry_delay", "duration"),
        ({"dag_id": "has space"}, "dag_id", "is not a DAG id"),
        ({"schedule": {"cron": "every day"}}, "schedule.cron", "is not a cron expression"),
        ({"schedule": {"cron": "@daily", "interval": 60}}, "schedule", "exactly one of"),
        ({"schedule": {"interval": -5}}, "schedule.interval", "positive"),
        ({"schedule": {"cron": "@daily", "catchup": True}}, "schedule", "catchup needs a start_date"),
        (
            {"schedule": {"cron": "@daily", "start_date": "2025-02-01", "end_date": "2025-01-01"}},
            "schedule",
            "end_date must be after start_date",
        ),
        ({"unknown": 1}, "unknown", "Extra inputs are not permitted"),
    ],
)
def test_pipeline_settings_errors_name_the_field(settings, field, message):
    spec = specs.diamond(settings={"airflow": settings})
    with pytest.raises(PipelineDefinitionError) as info:
        orchestrator().validate(spec)
    text = str(info.value)
    assert "pipeline 'diamond'" in text and "invalid 'airflow' settings" in text
    assert f"{field}:" in text and message in text


def test_step_settings_errors_name_the_step():
    spec = specs.diamond(train={"airflow": {"retries": "many"}})
    with pytest.raises(PipelineDefinitionError, match=r"step 'train': invalid 'airflow' settings: retries:"):
        orchestrator().validate(spec)


@pytest.mark.parametrize("key", ["schedule", "dag_id"])
def test_dag_wide_settings_are_refused_on_a_step(key):
    value = {"schedule": {"cron": "@daily"}, "dag_id": "x"}[key]
    spec = specs.diamond(clean={"airflow": {key: value}})
    with pytest.raises(PipelineDefinitionError, match=rf"step 'clean'.*'{key}' applies to the whole DAG"):
        orchestrator().validate(spec)


@step(settings={"airflow": {"pool_slots": "two"}})
def one() -> int:
    return 1


@pipeline
def bad_settings() -> None:
    one()


def test_settings_errors_are_raised_when_the_pipeline_runs(tmp_path, monkeypatch):
    """Through the public API: nothing is written when settings are wrong."""
    from zen_core.stacks import StackManager

    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "cfg"))
    manager = StackManager()
    manager.register_component("artifact_store", "s", "local", {"path": str(tmp_path / "store")})
    manager.register_component("orchestrator", "s", "airflow", {"dags_folder": str(tmp_path / "dags")})
    manager.register_stack("s", {"orchestrator": "s", "artifact_store": "s"})
    manager.save()

    with pytest.raises(PipelineDefinitionError, match=r"step 'one': invalid 'airflow' settings: pool_slots:"):
        bad_settings.run(stack="s")
    assert not (tmp_path / "dags").exists()
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"mode": "rest"}, "(config)", "mode 'rest' needs api_url"),
        ({"mode": "rest", "api_url": "ftp://x"}, "api_url", "is not an http(s) URL"),
        ({"mode": "cloud"}, "mode", "'local' or 'rest'"),
        ({"poll_interval": 0}, "poll_interval", "greater than 0"),
        ({"token_env": "MY-TOKEN"}, "token_env", "not an environment variable name"),
        ({"tags": ["x" * 101]}, "tags", "longer than 100"),
        ({"dag_id_prefix": "a b"}, "dag_id_prefix", "letters, digits"),
        ({"schedule": {"cron": "61 * * *"}}, "schedule.cron", "is not a cron expression"),
        ({"local_runner": "thread"}, "local_runner", "'subprocess' or 'in_process'"),
        ({"step_defaults": {"operator": "nope"}}, "step_defaults", "operator: Value error"),
        ({"step_defaults": {"schedule": {"cron": "@daily"}}}, "step_defaults", "not a step setting"),
    ],
)
def test_config_errors_name_the_flavor_and_field(config, field, message):
    with pytest.raises(StackError) as info:
        flavor().validate_config(config)
    text = str(info.value)
    assert "invalid config for orchestrator flavor 'airflow'" in text
    assert f"{field}:" in text and message in text


@pytest.mark.parametrize(
    "values",
    [
        {"cron": "0 3 * * *"},
        {"cron": "@daily"},
        {"cron": "*/15 9-17 * * mon-fri"},
        {"interval": 3600},
        {"interval": "PT6H", "start_date": "2025-01-01", "catchup": True},
    ],
)
def test_valid_schedules(values):
    AirflowSchedule.model_validate(values)


def test_naive_dates_are_utc():
    schedule = AirflowSchedule.model_validate({"cron": "@daily", "start_date": "2025-01-01T06:00:00"})
    assert schedule.start_date is not None and schedule.start_date.isoformat() == "2025-01-01T06:00:00+00:00"


def test_a_scheduled_dag_needs_parameter_defaults():
    spec = specs.spec(
        "p",
        [specs.step("a")],
        parameters={"x": {"type": "int", "required": True}},
        settings={"airflow": {"schedule": {"cron": "@daily"}}},
    )
    with pytest.raises(PipelineDefinitionError, match="parameter 'x' has no default, but a scheduled DAG"):
        orchestrator().validate(spec)
    # fine without a schedule: the run supplies the value
    build_dag_files(
        specs.spec("p", [specs.step("a")], parameters={"x": {"type": "int", "required": True}}),
        orchestrator().config,
        store_url="/s",
        spec_uri=None,
    )


def test_the_run_id_conf_key_is_not_a_parameter_name():
    spec = specs.spec("p", [specs.step("a")], parameters={"zen_run_id": {"type": "str", "default": "x"}})
    with pytest.raises(PipelineDefinitionError, match="'zen_run_id' is reserved"):
        orchestrator().validate(spec)


def test_stack_defaults_are_overridden_by_pipeline_and_step():
    orch = orchestrator(step_defaults={"operator": "docker", "operator_kwargs": {"user": "1"}, "queue": "q"})
    spec = specs.diamond(settings={"airflow": {"queue": "p"}}, load={"airflow": {"operator": "local"}})
    clean = orch.step_settings(spec, "clean")
    assert (clean.operator, clean.operator_kwargs, clean.queue) == ("docker", {"user": "1"}, "p")
    load = orch.step_settings(spec, "load")
    assert (load.operator, load.operator_kwargs, load.queue) == ("local", {}, "p")


def test_a_step_with_another_operator_does_not_inherit_operator_arguments():
    spec = specs.diamond(
        settings={
            "airflow": {"operator": "docker", "operator_kwargs": {"network_mode": "host"}, "pool": "p"}
        },
        load={"airflow": {"operator": "local"}},
        clean={"airflow": {"operator_kwargs": {"user": "1000"}}},
    )
    orch = orchestrator()
    load = orch.step_settings(spec, "load")
    assert (load.operator, load.operator_kwargs, load.pool) == ("local", {}, "p")
    clean = orch.step_settings(spec, "clean")
    assert (clean.operator, clean.operator_kwargs) == ("docker", {"user": "1000"})  # replaced, not merged
    assert orch.step_settings(spec, "train").operator_kwargs == {"network_mode": "host"}
