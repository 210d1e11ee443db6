"""``VertexSettings``: what a pipeline or a step asks of Vertex AI Pipelines.

Given under the ``"vertex"`` key, per pipeline and per step; a step's fields are laid
over the pipeline's, field by field (a step's ``env`` replaces the pipeline's)::

    @pipeline(settings={"vertex": {"schedule": {"cron": "0 6 * * 1"}}})
    def training(): ...

    @step(settings={"vertex": {"cpu_limit": "8", "memory_limit": "32G",
                               "accelerator_type": "NVIDIA_L4", "accelerator_count": 1}})
    def fit(...): ...

Vertex picks each step's machine from its limits (the smallest machine type that has
them); resource *requests* and Kubernetes options (node selectors, volumes, secrets)
do not exist on Vertex, so they are not settings here. Pydantic only: cheap to import.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SETTINGS_KEY = "vertex"

#: ``AcceleratorType`` of google-cloud-aiplatform 2.7 (aiplatform_v1); a unit test keeps the two equal.
ACCELERATOR_TYPES: tuple[str, ...] = (
    "NVIDIA_TESLA_K80",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_A100",
    "NVIDIA_A100_80GB",
    "NVIDIA_L4",
    "NVIDIA_H100_80GB",
    "NVIDIA_H100_MEGA_80GB",
    "NVIDIA_H200_141GB",
    "NVIDIA_B200",
    "NVIDIA_GB200",
    "NVIDIA_RTX_PRO_6000",
    "TPU_V2",
    "TPU_V3",
    "TPU_V4_POD",
    "TPU_V5_LITEPOD",
)

# the forms kfp's PipelineTask.set_cpu_limit / set_memory_limit accept
_CPU = re.compile(r"^([0-9]*[.])?[0-9]+m?$")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CRON_TZ = re.compile(r"^(?:CRON_TZ|TZ)=[A-Za-z0-9_+\-/]+$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/\-?LW#]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VertexSchedule(_Model):
    """A Vertex pipeline job schedule: the pipeline runs on a cron (pipeline level only)."""

    cron: str = Field(
        description="Standard 5-field cron (minute hour day month weekday), optionally prefixed "
        "with a time zone: 'TZ=Europe/Paris 0 6 * * 1'."
    )
    display_name: str | None = Field(default=None, description="Schedule name; default: the pipeline's.")
    start_time: str | None = Field(default=None, description="RFC 3339 time of the first run.")
    end_time: str | None = Field(default=None, description="RFC 3339 time after which no run starts.")
    max_run_count: int | None = Field(default=None, ge=1, description="Stop after this many runs.")
    max_concurrent_run_count: int = Field(default=1, ge=1, le=100)
    allow_queueing: bool = Field(
        default=False, description="Queue a run due while max_concurrent_run_count runs are going."
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        words = value.split()
        if words and _CRON_TZ.match(words[0]):
            words = words[1:]
        if len(words) != 5 or not all(_CRON_FIELD.match(w) for w in words):
            raise ValueError(
                f"{value!r} is not a 5-field cron expression (minute hour day month weekday), "
                "optionally prefixed with TZ=<zone>"
            )
        return " ".join(value.split())

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not 0 < len(value) <= 128:
            raise ValueError("a display name has 1 to 128 characters")
        return value


class VertexSettings(_Model):
    """Per-pipeline and per-step options of the ``vertex`` orchestrator."""

    cpu_limit: str | None = Field(default=None, description="CPUs of the step's machine, e.g. '4' or '500m'.")
    memory_limit: str | None = Field(default=None, description="Memory of the step's machine, e.g. '16G'.")
    accelerator_type: str | None = Field(default=None, description=f"One of {', '.join(ACCELERATOR_TYPES)}.")
    accelerator_count: int | None = Field(
        default=None, ge=1, description="Accelerators of accelerator_type; default 1 when a type is set."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables of the step.")
    retry_max_duration: int | None = Field(
        default=None, ge=1, description="Seconds after which Vertex stops retrying a step (default 3600)."
    )
    schedule: VertexSchedule | None = Field(
        default=None, description="Pipeline level only: create a pipeline job schedule instead of one run."
    )

    @field_validator("cpu_limit")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        if value is not None and not _CPU.match(value):
            raise ValueError(f"{value!r} is not a CPU amount: a number, or an integer followed by 'm'")
        return value

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value):
            raise ValueError(
                f"{value!r} is not a memory amount: a number followed by one of "
                "E, Ei, P, Pi, T, Ti, G, Gi, M, Mi, K, Ki"
            )
        return value

    @field_validator("accelerator_type")
    @classmethod
    def _accelerator(cls, value: str | None) -> str | None:
        if value is not None and value not in ACCELERATOR_TYPES:
            raise ValueError(
                f"{value!r} is not a Vertex accelerator type; use one of {', '.join(ACCELERATOR_TYPES)}"
            )
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value

    @model_validator(mode="after")
    def _count_needs_type(self) -> VertexSettings:
        if self.accelerator_count and not self.accelerator_type:
            raise ValueError("accelerator_count needs accelerator_type")
        return self


def merged_settings(spec: Any, step_id: str | None = None) -> VertexSettings:
    """The pipeline's ``vertex`` settings with a step's laid over them, field by field."""
    merged = dict(spec.settings.get(SETTINGS_KEY, {}))
    if step_id is not None:
        merged.update(spec.step(step_id).settings.get(SETTINGS_KEY, {}))
    return VertexSettings.model_validate(merged)
