"""The built-in artifact store flavors: ``local`` (a folder) and ``fsspec`` (any URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .store import ArtifactStore


class LocalArtifactStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Folder holding artifacts and run records.")
    shared: bool = Field(
        default=False,
        description="Declare that every machine running steps sees this folder at the same "
        "path (a network mount, self-hosted runners on one host). Flavors whose steps run "
        "elsewhere refuse a local store unless it is declared shared.",
    )

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return str(Path(value).expanduser().resolve())


class FsspecArtifactStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="fsspec URL of the store root, e.g. s3://bucket/zen.")
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options for the fsspec filesystem. Keep secrets in the environment, "
        "not here: this file is stored in plain text.",
    )

    @field_validator("url")
    @classmethod
    def _has_protocol(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a URL with a protocol, e.g. s3://bucket/path")
        return value.rstrip("/")


def local_store(name: str, config: LocalArtifactStoreConfig, stack: Any) -> ArtifactStore:
    return ArtifactStore(config.path, shared=config.shared)


def fsspec_store(name: str, config: FsspecArtifactStoreConfig, stack: Any) -> ArtifactStore:
    return ArtifactStore(config.url, **config.storage_options)
