"""Flavors: the kinds of stack component a package can provide."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import FlavorNotFoundError

ComponentType = Literal["orchestrator", "artifact_store", "container_registry", "image_builder"]
COMPONENT_TYPES: tuple[str, ...] = ("orchestrator", "artifact_store", "container_registry", "image_builder")

#: Where the first-party flavors live, so a missing one names the package to install.
KNOWN_PACKAGES: dict[tuple[str, str], str] = {
    ("orchestrator", "local"): "zen-local",
    ("orchestrator", "local_docker"): "zen-docker",
    ("orchestrator", "kubernetes"): "zen-k8s",
    ("orchestrator", "kubeflow"): "zen-kubeflow",
    ("orchestrator", "vertex"): "zen-vertex",
    ("orchestrator", "airflow"): "zen-airflow",
    ("orchestrator", "github"): "zen-github",
    ("artifact_store", "gcs"): "zen-vertex",
    ("image_builder", "docker"): "zen-docker",
    ("container_registry", "default"): "zen-docker",
}


@dataclass(frozen=True)
class Flavor:
    """A flavor of a stack component.

    ``config`` and ``implementation`` are ``"module:Class"`` strings imported only
    when the flavor is used; ``settings`` optionally names a pydantic model for the
    per-step ``settings={"<flavor name>": {...}}`` this flavor understands.
    """

    name: str
    type: ComponentType
    config: str
    implementation: str
    description: str = ""
    settings: str | None = None
    package: str = field(default="", compare=False)
    version: str = field(default="", compare=False)

    def load_config_class(self) -> Any:
        from .sources import load_source

        return load_source(self.config)

    def load_implementation(self) -> Any:
        from .sources import load_source

        return load_source(self.implementation)

    def load_settings_class(self) -> Any:
        from .sources import load_source

        return load_source(self.settings) if self.settings else None

    def validate_config(self, values: dict[str, Any]) -> Any:
        """The config model for ``values``; errors name the flavor and each bad field."""
        from pydantic import ValidationError

        from .errors import StackError

        cls = self.load_config_class()
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(config)'}: {e['msg']}" for e in exc.errors()
            )
            raise StackError(f"invalid config for {self.type} flavor '{self.name}': {problems}") from None


def missing_flavor_error(component_type: str, name: str, available: list[str]) -> FlavorNotFoundError:
    package = KNOWN_PACKAGES.get((component_type, name))
    hint = (
        f"install it with: pip install {package}"
        if package
        else "no known package provides it; check the name or install the plugin that does"
    )
    have = ", ".join(sorted(available)) or "none"
    return FlavorNotFoundError(
        f"{component_type.replace('_', ' ')} flavor '{name}' is not installed ({hint}). "
        f"Installed {component_type} flavors: {have}"
    )
