"""``DockerSettings``: how the image a step runs in is made.

Given per pipeline and per step under the ``"docker"`` key::

    @pipeline(settings={"docker": {"requirements": ["scikit-learn==1.5.2"]}})
    def training(): ...

    @step(settings={"docker": {"apt_packages": ["libgomp1"]}})
    def fit(...): ...

A step's effective settings are the pipeline's with the step's fields laid over
them (field by field, as for every flavor's settings). Steps whose effective
settings are equal share one image.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zen_core.spec import PipelineSpec

SETTINGS_KEY = "docker"

_IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_APT_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(?::[a-z0-9]+)?(?:=[A-Za-z0-9.+~:\-]+)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
_DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


class DockerSettings(BaseModel):
    """Image settings of a pipeline or step (``settings={"docker": {...}}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --8<-- [start:fields]
    image: str | None = Field(
        default=None,
        description="A prebuilt image to run as is: nothing is built. It must contain zen-core "
        "(and the stack's zen packages) and the step code.",
    )
    parent_image: str | None = Field(
        default=None,
        description="The image to build on; default python:<client major.minor>-slim. "
        "Pin it by digest (name@sha256:...) for reproducible images.",
    )
    dockerfile: str | None = Field(
        default=None,
        description="A Dockerfile of yours, built first (with build_context_root as its "
        "context); the zen image is then built on top of it. Excludes parent_image.",
    )
    build_context_root: str | None = Field(
        default=None,
        description="Folder whose code goes into the image (and the context of `dockerfile`); "
        "default: the current working directory.",
    )
    copy_source: bool = Field(
        default=True,
        description="Copy the code under build_context_root into the image (the working "
        "directory, on the import path). Turn off when the code is installed as a package.",
    )
    dockerignore: str | None = Field(
        default=None,
        description="A .dockerignore-style file of paths to leave out of the code copy; "
        "default: build_context_root/.dockerignore when it exists.",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="More .dockerignore patterns, applied after the file's ('!' re-includes).",
    )
    requirements: list[str] | str | None = Field(
        default=None,
        description="Python requirements: a list of requirement lines, or the path of a "
        "requirements file (relative to build_context_root).",
    )
    apt_packages: list[str] = Field(default_factory=list, description="Debian packages to apt-get install.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables set in the image (also while requirements install).",
    )
    build_args: dict[str, str] = Field(
        default_factory=dict, description="Build arguments (ARG) passed to both builds."
    )
    platform: str | None = Field(default=None, description="Target platform, e.g. linux/amd64.")
    image_name: str | None = Field(
        default=None,
        description="Repository name under the container registry; default 'zen'. The tag is "
        "always the content hash.",
    )
    zen_packages: list[str] = Field(
        default_factory=list,
        description="More distributions to install like the stack's zen packages (at the "
        "client's version, or built from the checkout in development mode), e.g. a plugin "
        "providing materializers or lifecycle hooks.",
    )
    install_stack_packages: bool = Field(
        default=True,
        description="Install zen-core and the packages of the stack's orchestrator and artifact "
        "store. Turn off only when the parent image already has them.",
    )
    dev_mode: bool | None = Field(
        default=None,
        description="Build the zen packages' wheels from this checkout and install them from the "
        "build context. Default: for each package installed from a local folder or wheel. "
        "ZEN_DOCKER_DEV_MODE=1/0 overrides.",
    )
    # --8<-- [end:fields]

    @field_validator("image", "parent_image")
    @classmethod
    def _image_ref(cls, value: str | None) -> str | None:
        if value is not None and not _IMAGE_REF.match(value):
            raise ValueError(f"{value!r} is not an image reference (name[:tag][@digest])")
        return value

    @field_validator("image_name")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not _REPOSITORY.match(value):
            raise ValueError(
                f"{value!r} is not a repository name: lowercase letters, digits and . _ - /, without a tag"
            )
        return value

    @field_validator("apt_packages")
    @classmethod
    def _apt(cls, values: list[str]) -> list[str]:
        for v in values:
            if not _APT_PACKAGE.match(v):
                raise ValueError(f"{v!r} is not a Debian package name (name[=version])")
        return values

    @field_validator("environment", "build_args")
    @classmethod
    def _env(cls, values: dict[str, str]) -> dict[str, str]:
        for k, v in values.items():
            if not _ENV_NAME.match(k):
                raise ValueError(f"{k!r} is not a valid variable name")
            if "\n" in v or "\r" in v or "\0" in v:
                raise ValueError(f"the value of {k} must be a single line")
        return values

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: list[str] | str | None) -> list[str] | str | None:
        if isinstance(value, str):
            if not value.strip() or "\n" in value:
                raise ValueError("a requirements file path must be a single non-empty line")
        elif value is not None:
            for line in value:
                if "\n" in line or "\r" in line or not line.strip():
                    raise ValueError(f"requirement {line!r} must be one non-empty line")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None) -> str | None:
        if value is not None and not _PLATFORM.match(value):
            raise ValueError(f"{value!r} is not a platform like linux/amd64 or linux/arm64/v8")
        return value

    @field_validator("zen_packages")
    @classmethod
    def _dists(cls, values: list[str]) -> list[str]:
        for v in values:
            if not _DIST_NAME.match(v):
                raise ValueError(f"{v!r} is not a distribution name")
        return values

    @model_validator(mode="after")
    def _exclusive(self) -> DockerSettings:
        if self.dockerfile and self.parent_image:
            raise ValueError(
                "set either 'dockerfile' or 'parent_image': the image built from the "
                "dockerfile is the parent image"
            )
        return self


def merged_settings(spec: PipelineSpec, step_id: str | None = None) -> dict[str, Any]:
    """The raw ``docker`` settings of the pipeline, with a step's laid over them."""
    merged = dict(spec.settings.get(SETTINGS_KEY, {}))
    if step_id is not None:
        merged.update(spec.step(step_id).settings.get(SETTINGS_KEY, {}))
    return merged


def settings_for_step(spec: PipelineSpec, step_id: str) -> DockerSettings:
    return DockerSettings.model_validate(merged_settings(spec, step_id))


def validate_spec_settings(spec: PipelineSpec) -> None:
    """Raise ``PipelineDefinitionError`` naming the scope and field of bad ``docker`` settings."""
    from pydantic import ValidationError

    from zen_core.errors import PipelineDefinitionError

    scopes: list[tuple[str, str | None]] = [("pipeline", None)] + [
        (f"step '{s.id}'", s.id) for s in spec.steps
    ]
    for where, step_id in scopes:
        try:
            DockerSettings.model_validate(merged_settings(spec, step_id))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(settings)'}: {e['msg']}" for e in exc.errors()
            )
            raise PipelineDefinitionError(
                f"pipeline '{spec.name}', {where}: invalid '{SETTINGS_KEY}' settings: {problems}"
            ) from None
