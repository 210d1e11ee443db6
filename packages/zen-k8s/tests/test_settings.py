"""Settings and config validation: errors name the field; pipeline and step settings merge."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zen_core.errors import PipelineDefinitionError
from zen_core.pipelines import pipeline
from zen_core.stacks import Stack
from zen_core.steps import step
from zen_k8s.config import KubernetesOrchestratorConfig
from zen_k8s.settings import KubernetesSettings, settings_for_step


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cpu_request", "two"),
        ("memory_limit", "4GB"),
        ("gpus", -1),
        ("node_selector", {"bad key!": "x"}),
        ("labels", {"team": "not valid!"}),
        ("env", {"1BAD": "x"}),
        ("env_from_secrets", ["Not_A_Secret"]),
        ("image_pull_policy", "Sometimes"),
        ("tolerations", [{"operator": "Maybe"}]),
        ("volumes", [{"emptyDir": {}}]),
        ("pod_spec_overrides", {"restartPolicy": "OnFailure"}),
        ("secret_env", {"TOKEN": {"secret": "s"}}),
        ("active_deadline_seconds", 0),
        ("unknown_field", 1),
    ],
)
def test_invalid_settings_name_the_field(field, value):
    with pytest.raises(ValidationError) as info:
        KubernetesSettings.model_validate({field: value})
    assert field in str(info.value)


def test_valid_quantities():
    s = KubernetesSettings(cpu_request="500m", cpu_limit="2", memory_request="1.5Gi", memory_limit="1e9")
    assert s.memory_request == "1.5Gi"


@step(settings={"kubernetes": {"memory_limit": "8Gi", "node_selector": {"pool": "big"}}})
def heavy(x: int) -> int:
    return x


@step
def light() -> int:
    return 1


@pipeline(settings={"kubernetes": {"memory_limit": "1Gi", "cpu_request": "250m"}})
def mixed() -> None:
    heavy(light())


def test_step_settings_lay_over_pipeline_settings():
    spec = mixed.compile()
    assert settings_for_step(spec, "light").memory_limit == "1Gi"
    h = settings_for_step(spec, "heavy")
    assert (h.memory_limit, h.cpu_request, h.node_selector) == ("8Gi", "250m", {"pool": "big"})


@step(settings={"kubernetes": {"tolerations": [{"key": "gpu", "operator": "Sometimes"}]}})
def badly_set() -> int:
    return 1


@pipeline
def bad() -> None:
    badly_set()


def test_orchestrator_validate_names_pipeline_step_and_field(k8s_env):
    with pytest.raises(PipelineDefinitionError) as info:
        Stack().orchestrator.validate(bad.compile())
    text = str(info.value)
    assert "pipeline 'bad'" in text and "step 'badly_set'" in text and "tolerations" in text


def test_config_defaults_and_checks():
    cfg = KubernetesOrchestratorConfig()
    assert (cfg.namespace, cfg.mode, cfg.wait, cfg.service_account) == (
        "default",
        "cluster",
        True,
        "zen-orchestrator",
    )
    with pytest.raises(ValidationError, match="cannot detach"):
        KubernetesOrchestratorConfig(mode="client", wait=False)
    with pytest.raises(ValidationError, match="in_cluster"):
        KubernetesOrchestratorConfig(in_cluster=True, context="x")
    with pytest.raises(ValidationError):
        KubernetesOrchestratorConfig(max_parallelism=0)
