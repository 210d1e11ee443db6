"""Configuration of the ``kubeflow`` orchestrator (pydantic only: cheap to import)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SOURCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class KubeflowOrchestratorConfig(BaseModel):
    """Where and how pipelines are submitted to Kubeflow Pipelines."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(
        default=None,
        description="The KFP API endpoint, e.g. https://kubeflow.example.com/pipeline or "
        "http://127.0.0.1:8888 (a port-forward). Default: $KF_PIPELINES_ENDPOINT, else what the "
        "kfp client finds itself (in-cluster service, kubeconfig proxy).",
    )
    namespace: str | None = Field(
        default=None, description="The user namespace (profile) of a multi-user Kubeflow deployment."
    )
    token_env: str | None = Field(
        default=None,
        description="Environment variable holding a bearer token for the KFP API. Tokens are read "
        "from the environment only, never stored in the stack file.",
    )
    credentials: str | None = Field(
        default=None,
        description="'module:callable' returning the credentials: a token string or a "
        "kfp.client.TokenCredentialsBase (e.g. ServiceAccountTokenVolumeCredentials). Called "
        "each time a client is made.",
    )
    ssl_ca_cert: str | None = Field(default=None, description="CA bundle to verify the KFP endpoint with.")
    verify_ssl: bool = Field(default=True, description="Verify the KFP endpoint's TLS certificate.")
    experiment: str | None = Field(
        default=None,
        description="KFP experiment the runs go into (created if missing); default: the pipeline name.",
    )
    submit: Literal["package", "upload"] = Field(
        default="package",
        description="'package' sends the compiled pipeline with each run; 'upload' first uploads it as a "
        "version of a KFP pipeline named like the zen pipeline (reused when unchanged), so it is "
        "listed under Pipelines in the KFP UI and can be run from there.",
    )
    synchronous: bool = Field(
        default=True, description="Wait for the run to end; otherwise return once it is submitted."
    )
    poll_interval: float = Field(default=5.0, gt=0, le=600, description="Seconds between two status polls.")
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="Stop waiting after this many seconds. The run goes on in KFP, zen reports it "
        "as running, and its exit handler records how it ends.",
    )
    service_account: str | None = Field(
        default=None, description="Kubernetes service account of the run's pods."
    )
    image: str | None = Field(
        default=None,
        description="Run every step in this image instead of building images (it must contain "
        "zen-core and the pipeline's code). Default: the image builder plugin's images (zen-docker).",
    )
    python: str = Field(default="python", description="The Python executable in the step images.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables of every step (and of the run's exit handler), e.g. the "
        "settings of the artifact store's filesystem. Secrets belong in secrets_as_env settings.",
    )
    store_pvc: str | None = Field(
        default=None,
        description="A PersistentVolumeClaim holding a shared `local` artifact store: mounted at the "
        "store's path in every step.",
    )
    local: bool = Field(
        default=False,
        description="Run the compiled pipeline on this machine with KFP's local executor "
        "(kfp.local DockerRunner, on the Docker API that DOCKER_HOST names) instead of a KFP "
        "server. A shared `local` artifact store is mounted into the containers at its path.",
    )
    local_network_mode: str | None = Field(
        default=None,
        description="Docker network mode of the step containers in local mode, e.g. 'host' to "
        "reach an artifact store served on this machine's 127.0.0.1.",
    )
    echo_logs: bool = Field(
        default=True,
        description="Show what happens while waiting: step outcomes (and, in local mode, the "
        "executor's output).",
    )

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("credentials")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is not None and not _SOURCE.match(value):
            raise ValueError(f"{value!r} is not a 'module:callable' reference")
        return value

    @field_validator("environment")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value

    @field_validator("store_pvc")
    @classmethod
    def _pvc(cls, value: str | None) -> str | None:
        if value is not None and not _K8S_NAME.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes object name")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value
