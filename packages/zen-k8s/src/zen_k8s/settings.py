"""``KubernetesSettings``: how a step's pod looks, per pipeline and per step.

Given under the ``"kubernetes"`` key::

    @pipeline(settings={"kubernetes": {"node_selector": {"pool": "cpu"}}})
    def training(): ...

    @step(settings={"kubernetes": {"gpus": 1, "memory_limit": "16Gi"}})
    def fit(...): ...

A step's effective settings are the pipeline's with the step's fields laid over
them (field by field). The same model configures the orchestrator Job's own pod
(the orchestrator's ``orchestrator_pod`` config). Only pydantic is imported here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zen_core.spec import PipelineSpec

from .names import is_dns1123_label, is_dns1123_subdomain, is_label_key, is_label_value

SETTINGS_KEY = "kubernetes"

_QUANTITY = re.compile(
    r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_RESOURCE_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
ImagePullPolicy = Literal["Always", "IfNotPresent", "Never"]


class Toleration(BaseModel):
    """A pod toleration (the fields of the Kubernetes ``Toleration`` object)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    key: str | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, alias="tolerationSeconds")

    def manifest(self) -> dict[str, Any]:
        out: dict[str, Any] = {"operator": self.operator}
        for name, value in (
            ("key", self.key),
            ("value", self.value),
            ("effect", self.effect),
            ("tolerationSeconds", self.toleration_seconds),
        ):
            if value is not None:
                out[name] = value
        return out


class SecretKeyRef(BaseModel):
    """One key of a Secret, for an environment variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(description="Name of the Secret (in the run's namespace).")
    key: str = Field(description="Key inside the Secret.")
    optional: bool = False

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not is_dns1123_subdomain(value):
            raise ValueError(f"{value!r} is not a Secret name (DNS-1123 subdomain)")
        return value


# --8<-- [start:settings]
class KubernetesSettings(BaseModel):
    """Pod settings of a step (``settings={"kubernetes": {...}}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- resources ------------------------------------------------------------------
    cpu_request: str | None = Field(default=None, description="CPU request, e.g. '500m' or '2'.")
    cpu_limit: str | None = Field(default=None, description="CPU limit.")
    memory_request: str | None = Field(default=None, description="Memory request, e.g. '512Mi'.")
    memory_limit: str | None = Field(default=None, description="Memory limit, e.g. '4Gi'.")
    gpus: int = Field(default=0, ge=0, description="GPUs (a limit of `gpu_resource`).")
    gpu_resource: str = Field(
        default="nvidia.com/gpu", description="The extended resource GPUs are requested as."
    )
    # -- placement ------------------------------------------------------------------
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the pod needs.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Pod tolerations.")
    affinity: dict[str, Any] = Field(
        default_factory=dict, description="A Kubernetes Affinity object (nodeAffinity, podAffinity, ...)."
    )
    # -- metadata -------------------------------------------------------------------
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the Job and its pod.")
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Annotations of the Job and its pod. They are readable by anyone who can "
        "list pods: never put secrets here.",
    )
    # -- environment ----------------------------------------------------------------
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables (plain values).")
    secret_env: dict[str, SecretKeyRef] = Field(
        default_factory=dict,
        description="Environment variables read from Secret keys: {VAR: {secret, key}}.",
    )
    env_from_secrets: list[str] = Field(
        default_factory=list, description="Secrets whose every key becomes an environment variable."
    )
    # -- storage --------------------------------------------------------------------
    volumes: list[dict[str, Any]] = Field(default_factory=list, description="Pod volumes (Kubernetes form).")
    volume_mounts: list[dict[str, Any]] = Field(
        default_factory=list, description="Mounts of those volumes in the step container."
    )
    # -- image ----------------------------------------------------------------------
    image: str | None = Field(
        default=None, description="Run this step in this prebuilt image instead of the one built for it."
    )
    image_pull_policy: ImagePullPolicy | None = Field(
        default=None, description="Default: the orchestrator's `image_pull_policy`."
    )
    image_pull_secrets: list[str] = Field(
        default_factory=list, description="Secrets holding registry credentials."
    )
    service_account: str | None = Field(
        default=None, description="Service account of the pod (default: the orchestrator's setting)."
    )
    # -- lifetime -------------------------------------------------------------------
    active_deadline_seconds: int | None = Field(
        default=None, gt=0, description="Seconds the Job may run before Kubernetes stops it (fails the step)."
    )
    backoff_limit: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Times Kubernetes restarts the pod after an infrastructure failure (OOM kill, "
        "eviction, node loss) within one attempt (the Job's backoffLimit). A step that raises is "
        "never restarted this way: its @step(retries=...) policy applies, one Job per attempt.",
    )
    ttl_seconds_after_finished: int | None = Field(
        default=None,
        ge=0,
        description="Delete the step Job this long after it finished. Default: kept until the run's "
        "orchestrator Job is deleted (client mode: the orchestrator's ttl_seconds_after_finished).",
    )
    pending_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a pod may be unschedulable or unable to start its container "
        "(ErrImagePull, ImagePullBackOff, CreateContainerConfigError, ...) before the step fails "
        "with that reason. Default: the orchestrator's `pending_timeout`.",
    )
    # -- anything else --------------------------------------------------------------
    pod_spec_overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Merged into the generated pod spec last: dicts merge key by key, lists of "
        "objects with a 'name' merge item by item (so {'containers': [{'name': 'step', ...}]} "
        "changes the step container), other values replace.",
    )
    # --8<-- [end:settings]

    @field_validator("cpu_request", "cpu_limit", "memory_request", "memory_limit")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and not _QUANTITY.match(str(value)):
            raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)")
        return value

    @field_validator("gpu_resource")
    @classmethod
    def _resource_name(cls, value: str) -> str:
        if not _RESOURCE_NAME.match(value):
            raise ValueError(f"{value!r} is not a resource name like nvidia.com/gpu")
        return value

    @field_validator("node_selector", "labels")
    @classmethod
    def _labels(cls, values: dict[str, str]) -> dict[str, str]:
        for k, v in values.items():
            if not is_label_key(k):
                raise ValueError(f"{k!r} is not a valid label key")
            if not is_label_value(v):
                raise ValueError(
                    f"{v!r} (for {k}) is not a valid label value (63 characters of [A-Za-z0-9_.-])"
                )
        return values

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, values: dict[str, str]) -> dict[str, str]:
        for k in values:
            if not is_label_key(k):
                raise ValueError(f"{k!r} is not a valid annotation key")
        return values

    @field_validator("env", "secret_env")
    @classmethod
    def _env(cls, values: dict[str, Any]) -> dict[str, Any]:
        for k in values:
            if not _ENV_NAME.match(k):
                raise ValueError(f"{k!r} is not a valid environment variable name")
        return values

    @field_validator("env_from_secrets", "image_pull_secrets")
    @classmethod
    def _secret_names(cls, values: list[str]) -> list[str]:
        for v in values:
            if not is_dns1123_subdomain(v):
                raise ValueError(f"{v!r} is not a Secret name (DNS-1123 subdomain)")
        return values

    @field_validator("service_account")
    @classmethod
    def _service_account(cls, value: str | None) -> str | None:
        if value is not None and not is_dns1123_subdomain(value):
            raise ValueError(f"{value!r} is not a service account name (DNS-1123 subdomain)")
        return value

    @field_validator("volumes", "volume_mounts")
    @classmethod
    def _named(cls, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for v in values:
            name = v.get("name")
            if not isinstance(name, str) or not is_dns1123_label(name):
                raise ValueError(f"every volume and mount needs a DNS-1123 'name', got {v!r}")
        return values

    @field_validator("pod_spec_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "restartPolicy" in value and value["restartPolicy"] != "Never":
            raise ValueError(
                "restartPolicy must stay 'Never': zen retries steps itself (one Job per attempt) "
                "and restarts pods only through `backoff_limit`"
            )
        return value


def merged_settings(spec: PipelineSpec, step_id: str | None = None) -> dict[str, Any]:
    """The raw ``kubernetes`` settings of the pipeline, with a step's laid over them."""
    merged = dict(spec.settings.get(SETTINGS_KEY, {}))
    if step_id is not None:
        merged.update(spec.step(step_id).settings.get(SETTINGS_KEY, {}))
    return merged


def settings_for_step(spec: PipelineSpec, step_id: str) -> KubernetesSettings:
    return KubernetesSettings.model_validate(merged_settings(spec, step_id))
