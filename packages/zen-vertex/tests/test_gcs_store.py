"""The gcs artifact store: credentials from a path, the environment or ADC; never stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from zen_core.errors import StackError
from zen_vertex.config import GcsArtifactStoreConfig
from zen_vertex.gcs import HNS_ENV, gcs_store, storage_options


def config(**values: object) -> GcsArtifactStoreConfig:
    return GcsArtifactStoreConfig.model_validate({"path": "gs://zen-bucket/zen", **values})


def test_anonymous_and_project() -> None:
    assert storage_options(config(credentials="anonymous", project="my-project")) == {
        "project": "my-project",
        "token": "anon",
    }


def test_a_key_file_is_passed_by_path(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}")
    assert storage_options(config(credentials=str(key))) == {"token": str(key)}
    with pytest.raises(StackError, match="does not exist"):
        storage_options(config(credentials=str(tmp_path / "missing.json")))


def test_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCS_TOKEN", "ya29.secret-token")
    token = storage_options(config(token_env="GCS_TOKEN"))["token"]
    assert token.token == "ya29.secret-token"
    monkeypatch.setenv("GCS_TOKEN", json.dumps({"type": "service_account", "project_id": "p"}))
    assert storage_options(config(token_env="GCS_TOKEN"))["token"]["type"] == "service_account"
    monkeypatch.setenv("GCS_TOKEN", "{not json")
    with pytest.raises(StackError, match="neither an access token nor JSON"):
        storage_options(config(token_env="GCS_TOKEN"))
    monkeypatch.delenv("GCS_TOKEN")
    with pytest.raises(StackError, match="GCS_TOKEN"):
        storage_options(config(token_env="GCS_TOKEN"))


def test_default_credentials_missing_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    with pytest.raises(StackError, match="Application Default Credentials"):
        storage_options(config())


def test_the_store_opens_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HNS_ENV, raising=False)
    store = gcs_store("b", config(credentials="anonymous"), None)
    assert store.url == "gs://zen-bucket/zen" and not store.is_local
    assert store.uri(store.key("runs", "r1")) == "gs://zen-bucket/zen/runs/r1"
    assert os.environ[HNS_ENV] == "false"


def test_orchestrator_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from google.auth.credentials import AnonymousCredentials

    from zen_vertex.vertex_api import load_credentials

    assert isinstance(load_credentials("anonymous"), AnonymousCredentials)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    with pytest.raises(StackError, match="no Google credentials"):
        load_credentials("default")
    with pytest.raises(StackError, match="cannot load Google credentials"):
        load_credentials(str(tmp_path / "missing.json"))


AUDIENCE = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/ci"


def test_orchestrator_credential_files(tmp_path: Path) -> None:
    from google.auth import identity_pool
    from google.oauth2.credentials import Credentials

    from zen_vertex.vertex_api import load_credentials

    user = tmp_path / "user.json"
    user.write_text(
        json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"})
    )
    assert isinstance(load_credentials(str(user)), Credentials)
    federation = tmp_path / "wif.json"
    federation.write_text(
        json.dumps(
            {
                "type": "external_account",
                "audience": AUDIENCE,
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "token_url": "https://sts.googleapis.com/v1/token",
                "credential_source": {"file": str(tmp_path / "token")},
            }
        )
    )
    assert isinstance(load_credentials(str(federation)), identity_pool.Credentials)
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"type": "impersonated_service_account"}))
    with pytest.raises(StackError, match="is not one of"):
        load_credentials(str(odd))
