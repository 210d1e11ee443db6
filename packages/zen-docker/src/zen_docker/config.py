"""Configuration of zen-docker's stack components (pydantic only: cheap to import)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_REGISTRY_URI = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USER = re.compile(r"^(?:host|[A-Za-z0-9_.\-]+(?::[A-Za-z0-9_.\-]+)?)$")


# --8<-- [start:registry]
class ContainerRegistryConfig(BaseModel):
    """Where images are pushed and looked up: the ``default`` container registry flavor."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(
        description="Registry host with an optional port and namespace, e.g. "
        "127.0.0.1:5000, ghcr.io/my-team or europe-docker.pkg.dev/project/repo."
    )
    username_env: str = Field(
        default="ZEN_REGISTRY_USERNAME",
        description="Environment variable holding the user name (no credentials when unset).",
    )
    password_env: str = Field(
        default="ZEN_REGISTRY_PASSWORD",
        description="Environment variable holding the password or token. Credentials are read "
        "from the environment only, never stored in the stack file.",
    )
    insecure: bool = Field(
        default=False,
        description="The registry speaks plain HTTP or has an untrusted certificate (a local "
        "registry). The engine must allow it too: Docker's insecure-registries, podman's "
        "registries.conf; Docker allows 127.0.0.0/8 by default.",
    )

    # --8<-- [end:registry]

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        for scheme in ("https://", "http://"):
            if value.startswith(scheme):
                value = value[len(scheme) :]
        if not _REGISTRY_URI.match(value):
            raise ValueError(f"{value!r} is not a registry address like host[:port][/namespace]")
        return value

    @field_validator("username_env", "password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


# --8<-- [start:builder]
class DockerImageBuilderConfig(BaseModel):
    """The ``docker`` image builder: builds through whatever Docker API ``DOCKER_HOST`` names."""

    model_config = ConfigDict(extra="forbid")

    output: Literal["stream", "summary", "off"] = Field(
        default="stream",
        description="'stream' shows build and push output as it happens; 'summary' only why a "
        "build was done or skipped and how it went; 'off' nothing (errors still raise).",
    )
    dev_mode: bool | None = Field(
        default=None,
        description="Default of the 'dev_mode' docker setting for this stack (None: detect).",
    )
    pull_parent: bool = Field(default=False, description="Always pull a newer parent image before building.")
    timeout: int = Field(default=3600, ge=10, description="Seconds one Docker API call may take.")
    cache_dir: str | None = Field(
        default=None,
        description="Where development-mode wheels are cached; default "
        "$ZEN_DOCKER_CACHE_DIR, else ~/.cache/zen/docker.",
    )
    # --8<-- [end:builder]


# --8<-- [start:orchestrator]
class LocalDockerOrchestratorConfig(BaseModel):
    """The ``local_docker`` orchestrator: one container per step on the local engine."""

    model_config = ConfigDict(extra="forbid")

    max_parallelism: int = Field(default=4, ge=1, le=256, description="Most step containers at once.")
    fail_fast: bool = Field(
        default=False,
        description="Stop starting new steps as soon as one fails (running ones finish).",
    )
    progress: Literal["auto", "rich", "plain", "off"] = Field(
        default="auto", description="Live progress: a table on a terminal, lines otherwise."
    )
    echo_logs: bool = Field(default=True, description="Show what each step printed when it ends.")
    environment: dict[str, str] = Field(
        default_factory=dict, description="Environment variables set in every step container."
    )
    forward_env: list[str] = Field(
        default_factory=list,
        description="Names of client environment variables copied into step containers when set "
        "(credentials of a remote artifact store, for example).",
    )
    user: str | None = Field(
        default=None,
        description="User the steps run as: 'uid[:gid]', a name known in the image, or 'host' "
        "for the client's own uid:gid (files written to a mounted artifact store are then "
        "owned by you). Default: the image's user (root in python images).",
    )
    network_mode: str | None = Field(
        default=None,
        description="Docker network mode of step containers, e.g. 'host' to reach services on the "
        "client's 127.0.0.1. Default: the engine's bridge network.",
    )
    step_timeout: float | None = Field(
        default=None, gt=0, description="Seconds a step container may run before it is killed."
    )
    remove_containers: bool = Field(
        default=True, description="Remove each step container once its outcome is recorded."
    )
    # --8<-- [end:orchestrator]

    @field_validator("forward_env")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        for v in values:
            if not _ENV_NAME.match(v):
                raise ValueError(f"{v!r} is not an environment variable name")
        return values

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not _USER.match(value):
            raise ValueError(f"{value!r} is not 'uid[:gid]', a user name or 'host'")
        return value
