"""``KubeflowSettings``: per-pipeline and per-step options of the KFP compiler.

Given under the ``"kubeflow"`` key (zen-vertex reuses the model under its own key)::

    @pipeline(settings={"kubeflow": {"node_selector": {"pool": "cpu"}}})
    def training(): ...

    @step(settings={"kubeflow": {"cpu_request": "2", "memory_limit": "8Gi",
                                 "accelerator_type": "nvidia.com/gpu", "accelerator_count": 1}})
    def fit(...): ...

A step's effective settings are the pipeline's with the step's fields laid over
them, field by field (a step's ``env`` replaces the pipeline's ``env`` as a whole).
This module imports pydantic only: it is loaded to validate settings before
anything is compiled or submitted.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SETTINGS_KEY = "kubeflow"

# the same forms the KFP SDK accepts (kfp.dsl.PipelineTask.set_cpu_request & co.)
_CPU = re.compile(r"^([0-9]*[.])?[0-9]+m?$")
_MEMORY = re.compile(r"^[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki|k|m)?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _k8s_name(value: str) -> str:
    if not _K8S_NAME.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes object name (lowercase letters, digits, '-', '.')")
    return value


def _env_mapping(value: dict[str, str]) -> dict[str, str]:
    """A non-empty key -> environment variable name mapping (secrets, config maps)."""
    if not value:
        raise ValueError("name at least one key")
    for env in value.values():
        if not _ENV_NAME.match(env):
            raise ValueError(f"{env!r} is not an environment variable name")
    return value


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path")
    return value


class Toleration(_Model):
    """A Kubernetes toleration of the step's pod."""

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, ge=0)


class SecretAsEnv(_Model):
    """Keys of a Kubernetes secret exposed as environment variables."""

    secret_name: str
    keys: dict[str, str] = Field(description="secret key -> environment variable name")
    optional: bool = False

    _name = field_validator("secret_name")(_k8s_name)
    _keys = field_validator("keys")(_env_mapping)


class ConfigMapAsEnv(_Model):
    """Keys of a config map exposed as environment variables."""

    config_map_name: str
    keys: dict[str, str] = Field(description="config map key -> environment variable name")
    optional: bool = False

    _name = field_validator("config_map_name")(_k8s_name)
    _keys = field_validator("keys")(_env_mapping)


class SecretVolume(_Model):
    """A Kubernetes secret mounted as files."""

    secret_name: str
    mount_path: str
    optional: bool = False

    _name = field_validator("secret_name")(_k8s_name)
    _path = field_validator("mount_path")(_absolute)


class ConfigMapVolume(_Model):
    """A config map mounted as files."""

    config_map_name: str
    mount_path: str
    optional: bool = False

    _name = field_validator("config_map_name")(_k8s_name)
    _path = field_validator("mount_path")(_absolute)


class PvcMount(_Model):
    """An existing PersistentVolumeClaim mounted into the step's container."""

    pvc_name: str
    mount_path: str

    _name = field_validator("pvc_name")(_k8s_name)
    _path = field_validator("mount_path")(_absolute)


class EmptyDir(_Model):
    """A scratch volume living as long as the pod (``medium='Memory'`` for tmpfs)."""

    volume_name: str
    mount_path: str
    medium: Literal["", "Memory"] | None = None
    size_limit: str | None = None

    _name = field_validator("volume_name")(_k8s_name)
    _path = field_validator("mount_path")(_absolute)

    @field_validator("size_limit")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and not _QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity like 1Gi")
        return value


class Schedule(_Model):
    """A recurring run: a cron expression or a fixed interval (pipeline level only)."""

    cron: str | None = Field(
        default=None,
        description="KFP cron expression with 6 fields, seconds first: '0 0 * * * *' is hourly.",
    )
    interval_seconds: int | None = Field(default=None, ge=1)
    start_time: str | None = Field(default=None, description="RFC 3339 time of the first run.")
    end_time: str | None = Field(default=None, description="RFC 3339 time after which no run starts.")
    max_concurrency: int = Field(default=1, ge=1, le=10)
    catchup: bool = Field(default=False, description="Backfill every interval missed while paused.")
    name: str | None = Field(default=None, description="Recurring run name; default: the pipeline's.")

    @model_validator(mode="after")
    def _one_trigger(self) -> Schedule:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("set exactly one of 'cron' and 'interval_seconds'")
        if self.cron is not None and len(self.cron.split()) != 6:
            raise ValueError(
                f"cron {self.cron!r} must have 6 fields (second minute hour day month weekday), "
                "as KFP's scheduler reads it"
            )
        return self


class KubeflowSettings(_Model):
    """What a pipeline or step asks of Kubeflow Pipelines (``settings={"kubeflow": {...}}``)."""

    cpu_request: str | None = Field(default=None, description="e.g. '500m' or '2'.")
    cpu_limit: str | None = None
    memory_request: str | None = Field(default=None, description="e.g. '512Mi' or '4G'.")
    memory_limit: str | None = None
    accelerator_type: str | None = Field(default=None, description="e.g. 'nvidia.com/gpu'.")
    accelerator_count: int | None = Field(
        default=None, ge=0, description="Accelerators of accelerator_type; default 1 when a type is set."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables of the step.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    secrets_as_env: list[SecretAsEnv] = Field(default_factory=list)
    secrets_as_volume: list[SecretVolume] = Field(default_factory=list)
    config_maps_as_env: list[ConfigMapAsEnv] = Field(default_factory=list)
    config_maps_as_volume: list[ConfigMapVolume] = Field(default_factory=list)
    pvc_mounts: list[PvcMount] = Field(default_factory=list)
    empty_dirs: list[EmptyDir] = Field(default_factory=list)
    pod_labels: dict[str, str] = Field(default_factory=dict)
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    image_pull_secrets: list[str] = Field(default_factory=list)
    image_pull_policy: Literal["Always", "Never", "IfNotPresent"] | None = None
    timeout: int | None = Field(
        default=None, ge=1, description="Seconds the step's pod may run (activeDeadlineSeconds)."
    )
    retry_max_duration: int | None = Field(
        default=None, ge=1, description="Seconds after which KFP stops retrying (default 3600)."
    )
    schedule: Schedule | None = Field(
        default=None, description="Pipeline level only: submit a recurring run instead of one run."
    )

    @field_validator("cpu_request", "cpu_limit")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        if value is not None and not _CPU.match(value):
            raise ValueError(f"{value!r} is not a CPU amount: a number, or an integer followed by 'm'")
        return value

    @field_validator("memory_request", "memory_limit")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value):
            raise ValueError(
                f"{value!r} is not a memory amount: an integer, optionally followed by one of "
                "E, Ei, P, Pi, T, Ti, G, Gi, M, Mi, K, Ki"
            )
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value

    @field_validator("image_pull_secrets")
    @classmethod
    def _pull_secrets(cls, value: list[str]) -> list[str]:
        return [_k8s_name(v) for v in value]

    @model_validator(mode="after")
    def _accelerator(self) -> KubeflowSettings:
        if self.accelerator_count and not self.accelerator_type:
            raise ValueError("accelerator_count needs accelerator_type")
        return self


def merged_settings(spec: Any, step_id: str | None = None, key: str = SETTINGS_KEY) -> KubeflowSettings:
    """The pipeline's ``key`` settings with a step's laid over them, field by field."""
    merged = dict(spec.settings.get(key, {}))
    if step_id is not None:
        merged.update(spec.step(step_id).settings.get(key, {}))
    return KubeflowSettings.model_validate(merged)
