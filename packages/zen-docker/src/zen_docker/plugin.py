"""Registers zen-docker's flavors and its default image builder.

Imported whenever zen starts (even for ``zen --help``): only zen-core's light
modules are imported here, everything else is named by ``"module:attribute"``
strings or imported inside the hook when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zen_core.flavors import Flavor
from zen_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from zen_core.spec import PipelineSpec
    from zen_core.stacks import Stack


@hookimpl
def zen_register_flavors(registrar: Any) -> None:
    registrar.add(
        Flavor(
            name="local_docker",
            type="orchestrator",
            config="zen_docker.config:LocalDockerOrchestratorConfig",
            implementation="zen_docker.orchestrator:LocalDockerOrchestrator",
            description="Runs each step in its own container on the local Docker engine, in parallel.",
        )
    )
    registrar.add(
        Flavor(
            name="docker",
            type="image_builder",
            config="zen_docker.config:DockerImageBuilderConfig",
            implementation="zen_docker.builder:DockerImageBuilder",
            description="Builds step images through the Docker API that DOCKER_HOST points at.",
            settings="zen_docker.settings:DockerSettings",
        )
    )
    registrar.add(
        Flavor(
            name="default",
            type="container_registry",
            config="zen_docker.config:ContainerRegistryConfig",
            implementation="zen_docker.registry:ContainerRegistry",
            description="Any registry speaking the Docker Registry HTTP API v2.",
        )
    )


@hookimpl
def zen_register_cli_commands(registrar: Any) -> None:
    # zen-core has no command groups for these component types yet; a built-in group
    # of the same name takes precedence over these once it exists.
    registrar.add(
        "",
        "container-registry",
        "zen_docker.cli:container_registry",
        "Manage container registries and their flavors.",
    )
    registrar.add(
        "", "image-builder", "zen_docker.cli:image_builder", "Manage image builders and their flavors."
    )


@hookimpl(trylast=True)
def zen_build_images(spec: PipelineSpec, stack: Stack) -> dict[str, str] | None:
    """The default builder: the stack's image builder, else Docker with default settings."""
    from .builder import build_images_for_stack

    return build_images_for_stack(spec, stack)
