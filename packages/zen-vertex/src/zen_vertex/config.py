"""Configuration of the ``vertex`` orchestrator and the ``gcs`` artifact store.

Pydantic only: this module is imported to validate a stack before anything of
Google's is. Secrets never go in these models (the stack file is plain text):
credentials are named by a file path or an environment variable, or come from
Application Default Credentials.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# project ids are 6-30 characters; legacy domain-scoped ones look like "example.com:my-project"
_PROJECT = re.compile(r"^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_LOCATION = re.compile(r"^[a-z]+(?:-[a-z]+)+[0-9]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_SERVICE_ACCOUNT = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_NETWORK = re.compile(r"^projects/[^/]+/global/networks/[^/]+$")
_KMS_KEY = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
# https://cloud.google.com/resource-manager/docs/labels-overview#requirements
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
#: label keys zen sets on every job it submits
ZEN_LABELS = ("zen-run-id", "zen-pipeline")


def check_gs_url(value: str, what: str = "path") -> str:
    """A ``gs://bucket[/prefix]`` URL with a valid bucket name, without a trailing '/'."""
    value = value.rstrip("/")
    if not value.startswith(("gs://", "gcs://")):
        raise ValueError(f"{what} must be a gs:// URL (gs://bucket or gs://bucket/prefix), not {value!r}")
    rest = value.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"{bucket!r} is not a Cloud Storage bucket name")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise ValueError(f"{value!r} has an empty, '.' or '..' path component")
    return value


def check_credentials(value: str) -> str:
    if value in ("default", "anonymous"):
        return value
    if not value.strip():
        raise ValueError("name 'default', 'anonymous' or the path of a credentials file")
    return value


def check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


def check_labels(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 64 - len(ZEN_LABELS):
        raise ValueError(f"at most {64 - len(ZEN_LABELS)} labels (Vertex allows 64; zen sets {ZEN_LABELS})")
    for key, val in value.items():
        if not _LABEL_KEY.match(key):
            raise ValueError(
                f"label key {key!r}: 1-63 lowercase letters, digits, '_' or '-', starting with a letter"
            )
        if not _LABEL_VALUE.match(val):
            raise ValueError(
                f"label {key!r}: value {val!r} may hold 0-63 lowercase letters, digits, '_', '-'"
            )
    return value


class VertexOrchestratorConfig(BaseModel):
    """Where and how pipelines run on Vertex AI Pipelines."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(description="Google Cloud project id the pipeline jobs run in.")
    location: str = Field(default="us-central1", description="Vertex AI region, e.g. europe-west4.")
    pipeline_root: str | None = Field(
        default=None,
        description="gs:// folder where Vertex keeps the jobs' own outputs. Default: "
        "<artifact store>/vertex when the artifact store is on Cloud Storage.",
    )
    service_account: str | None = Field(
        default=None,
        description="Service account the steps run as (default: the project's Compute Engine "
        "default service account). It needs read/write access to the artifact store's bucket.",
    )
    network: str | None = Field(
        default=None,
        description="VPC network the jobs are peered with: projects/<number>/global/networks/<name>.",
    )
    encryption_key: str | None = Field(
        default=None,
        description="Cloud KMS key protecting the jobs (customer-managed encryption): "
        "projects/P/locations/L/keyRings/R/cryptoKeys/K.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels of every pipeline job (zen adds zen-run-id, zen-pipeline)."
    )
    credentials: str = Field(
        default="default",
        description="'default' (Application Default Credentials), 'anonymous' (local emulators "
        "only), or the path of a credentials file (service account key, user credentials, "
        "workload identity federation config). The file stays where it is: only its path is stored.",
    )
    api_endpoint: str | None = Field(
        default=None,
        description="Override of the Vertex AI API endpoint, e.g. a private service connect "
        "endpoint or http://127.0.0.1:PORT for a local test service. "
        "Default: <location>-aiplatform.googleapis.com.",
    )
    api_transport: Literal["grpc", "rest"] | None = Field(
        default=None, description="SDK transport; default: rest for an http:// endpoint, else the SDK's."
    )
    synchronous: bool = Field(
        default=True, description="Wait for the job to end; otherwise return once it is submitted."
    )
    poll_interval: float = Field(default=10.0, gt=0, le=600, description="Seconds between two status polls.")
    timeout: float | None = Field(default=None, gt=0, description="Stop waiting after this many seconds.")
    on_timeout: Literal["detach", "cancel"] = Field(
        default="detach",
        description="When the timeout passes: 'detach' leaves the job running (zen reports the run "
        "as running; the job's exit handler records how it ends), 'cancel' cancels the job and "
        "fails the run.",
    )
    cancel_timeout: float = Field(
        default=300.0, gt=0, description="Seconds `zen run stop` waits for a cancelled job to end."
    )
    image: str | None = Field(
        default=None,
        description="Run every step in this image instead of building images (it must hold zen-core, "
        "gcsfs and the pipeline's code). Default: the image builder plugin's images (zen-docker).",
    )
    python: str = Field(default="python", description="The Python executable in the step images.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables of every step and of the exit handler. Not for secrets: "
        "they are visible in the job; use Secret Manager from the step instead.",
    )
    echo_logs: bool = Field(default=True, description="Print step outcomes while waiting.")

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not _PROJECT.match(value):
            raise ValueError(f"{value!r} is not a project id (6-30 lowercase letters, digits, '-')")
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        if not _LOCATION.match(value):
            raise ValueError(f"{value!r} is not a Google Cloud region such as us-central1")
        return value

    @field_validator("pipeline_root")
    @classmethod
    def _root(cls, value: str | None) -> str | None:
        return None if value is None else check_gs_url(value, "pipeline_root")

    @field_validator("service_account")
    @classmethod
    def _sa(cls, value: str | None) -> str | None:
        if value is not None and not _SERVICE_ACCOUNT.match(value):
            raise ValueError(f"{value!r} is not a service account e-mail")
        return value

    @field_validator("network")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is not None and not _NETWORK.match(value):
            raise ValueError(f"{value!r} is not projects/<project number>/global/networks/<name>")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        if value is not None and not _KMS_KEY.match(value):
            raise ValueError(f"{value!r} is not projects/P/locations/L/keyRings/R/cryptoKeys/K")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        check_labels(value)
        taken = sorted(set(value) & set(ZEN_LABELS))
        if taken:
            raise ValueError(f"label(s) {', '.join(taken)} are set by zen")
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: str) -> str:
        return check_credentials(value)

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or " " in value):
            raise ValueError(f"{value!r} is not a host[:port] or URL")
        return value.rstrip("/") if value else value

    @field_validator("environment")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            check_env_name(name)
        return value

    def transport(self) -> str | None:
        """The SDK transport: REST for a plain-http endpoint (gRPC would need TLS there)."""
        if self.api_transport:
            return self.api_transport
        if self.api_endpoint and self.api_endpoint.startswith("http://"):
            return "rest"
        return None


class GcsArtifactStoreConfig(BaseModel):
    """An artifact store in a Cloud Storage bucket (fsspec's gcsfs)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="gs://bucket or gs://bucket/prefix holding artifacts and run records.")
    project: str | None = Field(default=None, description="Project billed for requests (requester pays).")
    credentials: str = Field(
        default="default",
        description="'default' (Application Default Credentials), 'anonymous' (public buckets, "
        "local emulators), or the path of a service account key file (only the path is stored).",
    )
    token_env: str | None = Field(
        default=None,
        description="Environment variable holding the credentials instead: an OAuth2 access token, "
        "or the JSON of a service account key. Read when the store is opened, never stored.",
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_gs_url(value).replace("gcs://", "gs://", 1)

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT.match(value):
            raise ValueError(f"{value!r} is not a project id")
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: str) -> str:
        return check_credentials(value)

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        return check_env_name(value)
