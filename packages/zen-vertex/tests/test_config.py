"""Orchestrator and artifact store configs: what is accepted, and errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest
import vertex_samples as S

from zen_core.errors import StackError
from zen_core.plugins import flavor_registry
from zen_vertex.config import GcsArtifactStoreConfig, VertexOrchestratorConfig


def validate(ctype: str, name: str, values: dict[str, Any]) -> Any:
    return flavor_registry().get(ctype, name).validate_config(values)


def test_minimal_and_full_orchestrator_configs() -> None:
    minimal = validate("orchestrator", "vertex", {"project": "my-project"})
    assert minimal.location == "us-central1" and minimal.credentials == "default"
    assert minimal.synchronous and minimal.poll_interval == 10 and minimal.timeout is None
    assert minimal.transport() is None
    full = validate("orchestrator", "vertex", S.orchestrator_config())
    assert full.encryption_key.endswith("/cryptoKeys/jobs")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("project", "My Project", "not a project id"),
        ("location", "europe", "not a Google Cloud region"),
        ("pipeline_root", "s3://bucket/root", "must be a gs:// URL"),
        ("pipeline_root", "gs://B/root", "not a Cloud Storage bucket name"),
        ("service_account", "steps", "not a service account e-mail"),
        ("network", "my-vpc", "projects/<project number>/global/networks/<name>"),
        ("encryption_key", "my-key", "keyRings"),
        ("labels", {"Team": "ml"}, "label key 'Team'"),
        ("labels", {"team": "Machine Learning"}, "label 'team': value"),
        ("labels", {"zen-run-id": "x"}, "set by zen"),
        ("environment", {"1BAD": "x"}, "not an environment variable name"),
        ("poll_interval", 0, "greater than 0"),
        ("on_timeout", "explode", "'detach' or 'cancel'"),
        ("api_transport", "carrier-pigeon", "'grpc' or 'rest'"),
    ],
)
def test_bad_orchestrator_config_names_flavor_and_field(field: str, value: Any, message: str) -> None:
    values = {"project": "my-project", field: value}
    with pytest.raises(StackError) as info:
        validate("orchestrator", "vertex", values)
    text = str(info.value)
    assert "orchestrator flavor 'vertex'" in text and f"{field}:" in text and message in text


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(StackError, match="credential_json"):
        validate("orchestrator", "vertex", {"project": "my-project", "credential_json": "{}"})


def test_rest_is_the_transport_of_a_plain_http_endpoint() -> None:
    cfg = VertexOrchestratorConfig(project="my-project", api_endpoint="http://127.0.0.1:8080/")
    assert cfg.api_endpoint == "http://127.0.0.1:8080" and cfg.transport() == "rest"
    grpc = VertexOrchestratorConfig(
        project="my-project", api_endpoint="vertex.example.com", api_transport="grpc"
    )
    assert grpc.transport() == "grpc"


def test_gcs_store_config() -> None:
    cfg = validate("artifact_store", "gcs", {"path": "gcs://my-bucket/zen/"})
    assert cfg.path == "gs://my-bucket/zen" and cfg.credentials == "default"
    for bad, message in [
        ("/data/zen", "must be a gs:// URL"),
        ("gs://x/zen", "not a Cloud Storage bucket name"),
        ("gs://my-bucket/a//b", "empty"),
        ("gs://my-bucket/../b", "'..'"),
    ]:
        with pytest.raises(StackError, match=message):
            validate("artifact_store", "gcs", {"path": bad})
    with pytest.raises(StackError, match="token_env"):
        validate("artifact_store", "gcs", {"path": "gs://my-bucket", "token_env": "not valid"})


def test_the_stack_file_stores_only_names_of_secrets() -> None:
    from zen_core.stacks import StackManager

    manager = StackManager()
    manager.register_component(
        "artifact_store", "b", "gcs", {"path": "gs://my-bucket/zen", "token_env": "GCS_TOKEN"}
    )
    manager.save()
    text = manager.path.read_text()
    assert "GCS_TOKEN" in text
    assert GcsArtifactStoreConfig.model_fields.keys() == {"path", "project", "credentials", "token_env"}
