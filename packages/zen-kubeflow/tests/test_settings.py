"""Validation of KubeflowSettings and the orchestrator config."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from zen_kubeflow.config import KubeflowOrchestratorConfig
from zen_kubeflow.settings import KubeflowSettings, Schedule, merged_settings


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"cpu_request": "1m5"}, "cpu_request"),
        ({"cpu_limit": "two"}, "cpu_limit"),
        ({"memory_limit": "1.5Gi"}, "memory_limit"),
        ({"memory_request": "4GB"}, "memory_request"),
        ({"accelerator_count": 1}, "accelerator_count needs accelerator_type"),
        ({"env": {"1BAD": "x"}}, "env"),
        ({"pvc_mounts": [{"pvc_name": "Data", "mount_path": "/d"}]}, "pvc_name"),
        ({"pvc_mounts": [{"pvc_name": "data", "mount_path": "d"}]}, "mount_path"),
        ({"secrets_as_env": [{"secret_name": "s", "keys": {}}]}, "keys"),
        ({"tolerations": [{"operator": "Maybe"}]}, "operator"),
        ({"timeout": 0}, "timeout"),
        ({"gpu": 1}, "gpu"),
    ],
)
def test_invalid_settings_name_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        KubeflowSettings.model_validate(values)
    assert field in str(info.value)


def test_valid_settings() -> None:
    s = KubeflowSettings(cpu_request="0.5", memory_limit="2Gi", accelerator_type="nvidia.com/gpu")
    assert s.accelerator_count is None


@pytest.mark.parametrize(
    "values",
    [{}, {"cron": "0 0 * * * *", "interval_seconds": 60}, {"cron": "0 * * * *"}],
)
def test_schedule_needs_one_trigger_with_six_cron_fields(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(values)


def test_step_settings_lay_over_pipeline_settings_field_by_field() -> None:
    from zen_core.spec import PipelineSpec, StepSpec

    spec = PipelineSpec(
        name="p",
        source="m:p",
        steps=[
            StepSpec(id="a", name="a", source="m:a", code_hash="0", settings={"kubeflow": {"cpu_limit": "2"}})
        ],
        settings={"kubeflow": {"cpu_limit": "1", "env": {"A": "1"}}},
    )
    merged = merged_settings(spec, "a")
    assert merged.cpu_limit == "2" and merged.env == {"A": "1"}
    assert merged_settings(spec).cpu_limit == "1"


def test_config_defaults_validate_from_nothing() -> None:
    # `zen pipeline compile --flavor kubeflow` makes the orchestrator from an empty config
    config = KubeflowOrchestratorConfig.model_validate({})
    assert config.host is None and config.submit == "package" and config.synchronous


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"token_env": "has space"}, "token_env"),
        ({"credentials": "no_colon"}, "credentials"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"submit": "zip"}, "submit"),
        ({"store_pvc": "Bad_Name"}, "store_pvc"),
        ({"token": "secret"}, "token"),
    ],
)
def test_invalid_config(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        KubeflowOrchestratorConfig.model_validate(values)
    assert field in str(info.value)


def test_host_trailing_slash_dropped() -> None:
    assert KubeflowOrchestratorConfig(host="http://127.0.0.1:8888/").host == "http://127.0.0.1:8888"


@pytest.mark.parametrize("model", ["SecretAsEnv", "ConfigMapAsEnv"])
def test_env_mappings_need_keys_and_valid_variable_names(model: str) -> None:
    from zen_kubeflow import settings

    cls = getattr(settings, model)
    name_field = "secret_name" if model == "SecretAsEnv" else "config_map_name"
    assert cls(**{name_field: "creds", "keys": {"token": "API_TOKEN"}}).keys == {"token": "API_TOKEN"}
    with pytest.raises(ValidationError, match="name at least one key"):
        cls(**{name_field: "creds", "keys": {}})
    with pytest.raises(ValidationError, match="'not-a-var' is not an environment variable name"):
        cls(**{name_field: "creds", "keys": {"token": "not-a-var"}})
