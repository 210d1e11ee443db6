"""The compiled pipeline: a plain-JSON, deterministic, versioned description.

A :class:`PipelineSpec` is everything a backend needs to run a pipeline: which
steps exist, where their code lives, what feeds each input, and their settings.
The same code always compiles to the same bytes (see :meth:`PipelineSpec.to_json`),
so specs can be diffed, hashed and golden-tested.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

#: Bumped when the spec's shape changes incompatibly; readers refuse other versions.
SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArtifactInput(_Model):
    """An input fed by another step's named output."""

    kind: Literal["artifact"] = "artifact"
    step: str
    output: str


class LiteralInput(_Model):
    """An input given a literal JSON value when the pipeline was defined."""

    kind: Literal["literal"] = "literal"
    value: Any


class ParameterInput(_Model):
    """An input bound to a pipeline parameter, resolved when the run starts."""

    kind: Literal["parameter"] = "parameter"
    name: str


class ArtifactListInput(_Model):
    """A list input fed by several steps' outputs, in order (a fan-in)."""

    kind: Literal["artifact_list"] = "artifact_list"
    items: list[ArtifactInput]


InputSpec = Annotated[
    Union[ArtifactInput, ArtifactListInput, LiteralInput, ParameterInput],
    Field(discriminator="kind"),
]


class OutputSpec(_Model):
    """One named output; ``type`` is the annotation as ``module.qualname``."""

    type: str


class RetrySpec(_Model):
    """Retry policy: ``max_retries`` extra attempts, waiting ``delay * backoff**n``."""

    max_retries: int = Field(default=0, ge=0)
    delay: float = Field(default=0.0, ge=0)
    backoff: float = Field(default=1.0, ge=1)

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2 is the first retry)."""
        return self.delay * (self.backoff ** max(0, attempt - 2))


class StepSpec(_Model):
    """One invocation of a step in the pipeline."""

    id: str
    name: str
    source: str
    code_hash: str
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)
    enable_cache: bool = True
    retry: RetrySpec = Field(default_factory=RetrySpec)
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def upstream(self) -> list[str]:
        """Ids of the steps that must finish before this one: data edges and ``after``."""
        ups = set(self.after)
        for i in self.inputs.values():
            if isinstance(i, ArtifactInput):
                ups.add(i.step)
            elif isinstance(i, ArtifactListInput):
                ups.update(a.step for a in i.items)
        return sorted(ups)


class ParameterSpec(_Model):
    """A pipeline parameter: its type and default (``required`` if it has none)."""

    type: str
    default: Any = None
    required: bool = False


class PipelineSpec(_Model):
    """A compiled pipeline. Steps are listed in a deterministic topological order."""

    schema_version: str = SCHEMA_VERSION
    name: str
    source: str
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    steps: list[StepSpec]
    enable_cache: bool = True
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def step(self, step_id: str) -> StepSpec:
        """The step with this invocation id; ``KeyError`` naming it if absent."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"pipeline '{self.name}' has no step '{step_id}'")

    def to_json(self) -> str:
        """Canonical JSON: fixed field order and separators, so the same code gives the same bytes."""
        # Not sort_keys: the order of a step's outputs is the order of its return tuple.
        # Every mapping here is filled in a deterministic order by the compiler.
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> PipelineSpec:
        data = json.loads(text)
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"pipeline spec schema version {version!r} is not supported "
                f"(this zen-core reads version {SCHEMA_VERSION!r})"
            )
        return cls.model_validate(data)

    def digest(self) -> str:
        """A short content hash of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
