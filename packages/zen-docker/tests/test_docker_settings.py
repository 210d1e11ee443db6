"""DockerSettings and the component configs: what is accepted, and how errors read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zen_core.errors import PipelineDefinitionError, StackError
from zen_core.pipelines import pipeline
from zen_core.stacks import StackManager
from zen_core.steps import step
from zen_docker.config import ContainerRegistryConfig, LocalDockerOrchestratorConfig
from zen_docker.settings import DockerSettings, merged_settings, settings_for_step, validate_spec_settings


def test_defaults_build_from_the_client_python_with_the_code():
    s = DockerSettings()
    assert s.image is None and s.parent_image is None and s.dockerfile is None
    assert s.copy_source and s.install_stack_packages
    assert s.requirements is None and s.apt_packages == [] and s.environment == {}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"apt_packages": ["git; rm -rf /"]}, "apt_packages"),
        ({"apt_packages": ["Git"]}, "apt_packages"),
        ({"environment": {"1BAD": "x"}}, "environment"),
        ({"environment": {"GOOD": "two\nlines"}}, "environment"),
        ({"build_args": {"A-B": "x"}}, "build_args"),
        ({"platform": "amd64"}, "platform"),
        ({"image_name": "My/Image"}, "image_name"),
        ({"image_name": "zen:tag"}, "image_name"),
        ({"image": "has space:1"}, "image"),
        ({"requirements": ["numpy\nscipy"]}, "requirements"),
        ({"requirements": ""}, "requirements"),
        ({"zen_packages": ["not a name"]}, "zen_packages"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_values_name_their_field(values, field):
    with pytest.raises(ValidationError) as info:
        DockerSettings.model_validate(values)
    assert field in str(info.value)


def test_valid_values():
    s = DockerSettings.model_validate(
        {
            "apt_packages": ["git", "libgomp1", "curl=7.88.1-10+deb12u5", "libc6:amd64"],
            "environment": {"PIP_INDEX_URL": "https://example.org/simple", "QUOTED": 'say "hi" $HOME'},
            "platform": "linux/arm64/v8",
            "image_name": "team/zen-steps",
            "requirements": "requirements/prod.txt",
            "image": "ghcr.io/acme/zen@sha256:" + "a" * 64,
        }
    )
    assert s.platform == "linux/arm64/v8"


def test_dockerfile_and_parent_image_exclude_each_other():
    with pytest.raises(ValidationError, match="either 'dockerfile' or 'parent_image'"):
        DockerSettings(dockerfile="Dockerfile", parent_image="python:3.11-slim")


@step(settings={"docker": {"apt_packages": ["git"], "environment": {"B": "step"}}})
def with_settings() -> int:
    return 1


@step
def without_settings() -> int:
    return 2


@pipeline(settings={"docker": {"requirements": ["numpy"], "environment": {"A": "pipeline"}}})
def configured() -> None:
    with_settings()
    without_settings()


def test_step_settings_lie_over_the_pipelines_field_by_field():
    spec = configured.compile()
    assert merged_settings(spec) == {"requirements": ["numpy"], "environment": {"A": "pipeline"}}
    s = settings_for_step(spec, "with_settings")
    assert s.requirements == ["numpy"]  # inherited
    assert s.apt_packages == ["git"]
    assert s.environment == {"B": "step"}  # a field is replaced, not merged
    assert settings_for_step(spec, "without_settings").environment == {"A": "pipeline"}


@step(settings={"docker": {"apt_packages": ["Bad Name"]}})
def bad_step() -> int:
    return 1


@pipeline
def badly_configured() -> None:
    bad_step()


def test_spec_validation_names_pipeline_step_and_field():
    with pytest.raises(PipelineDefinitionError) as info:
        validate_spec_settings(badly_configured.compile())
    message = str(info.value)
    assert "pipeline 'badly_configured'" in message
    assert "step 'bad_step'" in message
    assert "'docker' settings" in message and "apt_packages" in message


def test_registry_config():
    assert ContainerRegistryConfig(uri="https://ghcr.io/acme/").uri == "ghcr.io/acme"
    assert ContainerRegistryConfig(uri="127.0.0.1:5000").uri == "127.0.0.1:5000"
    with pytest.raises(ValidationError):
        ContainerRegistryConfig(uri="not a registry")
    with pytest.raises(ValidationError):
        ContainerRegistryConfig(uri="r.io", password_env="NOT-A-NAME")


def test_orchestrator_config():
    assert LocalDockerOrchestratorConfig().max_parallelism == 4
    assert LocalDockerOrchestratorConfig(user="host").user == "host"
    assert LocalDockerOrchestratorConfig(user="1000:1000").user == "1000:1000"
    with pytest.raises(ValidationError):
        LocalDockerOrchestratorConfig(user="root; rm")
    with pytest.raises(ValidationError):
        LocalDockerOrchestratorConfig(forward_env=["A B"])


def test_component_config_errors_name_the_flavor():
    manager = StackManager()
    with pytest.raises(StackError, match=r"container_registry flavor 'default'.*uri"):
        manager.register_component("container_registry", "r", "default", {})
    with pytest.raises(StackError, match=r"orchestrator flavor 'local_docker'.*max_parallelism"):
        manager.register_component("orchestrator", "o", "local_docker", {"max_parallelism": 0})
