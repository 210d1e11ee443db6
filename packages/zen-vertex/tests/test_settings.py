"""Per-step Vertex settings: validation, merging, and the accelerators Vertex knows."""

from __future__ import annotations

import pytest
import vertex_samples as S
from pydantic import ValidationError

from zen_vertex.compiler import kubeflow_settings
from zen_vertex.settings import ACCELERATOR_TYPES, VertexSchedule, VertexSettings, merged_settings


def test_defaults_are_empty() -> None:
    s = VertexSettings()
    assert s.cpu_limit is None and s.env == {} and s.schedule is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cpu_limit": "two"}, "not a CPU amount"),
        ({"memory_limit": "lots"}, "not a memory amount"),
        ({"accelerator_type": "nvidia.com/gpu"}, "not a Vertex accelerator type"),
        ({"accelerator_count": 2}, "accelerator_count needs accelerator_type"),
        ({"accelerator_type": "NVIDIA_L4", "accelerator_count": 0}, "greater than or equal to 1"),
        ({"env": {"A-B": "1"}}, "not an environment variable name"),
        ({"node_selector": {"a": "b"}}, "Extra inputs are not permitted"),
        ({"cpu_request": "1"}, "Extra inputs are not permitted"),
        ({"schedule": {"cron": "0 0 * * * *"}}, "not a 5-field cron"),
        ({"schedule": {"interval_seconds": 60}}, "cron"),
    ],
)
def test_invalid_settings(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VertexSettings.model_validate(values)


def test_cron_with_a_time_zone() -> None:
    assert VertexSchedule(cron="TZ=America/New_York  1 * * * *").cron == "TZ=America/New_York 1 * * * *"
    assert VertexSchedule(cron="CRON_TZ=Europe/Paris 0 6 * * MON-FRI").cron.startswith("CRON_TZ=")
    with pytest.raises(ValidationError):
        VertexSchedule(cron="Europe/Paris 0 6 * * 1")


def test_step_settings_lay_over_the_pipeline_settings() -> None:
    spec = S.rich.compile()
    fit = merged_settings(spec, "fit")
    assert fit.cpu_limit == "8" and fit.env == {"STEP_LEVEL": "1"}
    evaluate = merged_settings(spec, "evaluate")
    assert evaluate.cpu_limit == "2" and evaluate.memory_limit == "4Gi"
    assert evaluate.env == {"PIPELINE_LEVEL": "1"}
    assert merged_settings(spec).cpu_limit == "2"


def test_compiler_settings_carry_only_what_vertex_runs() -> None:
    k = kubeflow_settings(merged_settings(S.rich.compile(), "fit"))
    assert k.model_dump(exclude_defaults=True) == {
        "cpu_limit": "8",
        "memory_limit": "32G",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 2,
        "env": {"STEP_LEVEL": "1"},
        "retry_max_duration": 1800,
    }


def test_accelerator_types_are_the_sdks() -> None:
    from google.cloud.aiplatform_v1.types import AcceleratorType

    known = [t.name for t in AcceleratorType if t.name != "ACCELERATOR_TYPE_UNSPECIFIED"]
    assert sorted(known) == sorted(ACCELERATOR_TYPES)
