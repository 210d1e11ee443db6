"""``zen container-registry ...`` and ``zen image-builder ...`` (register, list, flavors)."""

from __future__ import annotations

from zen_core.cli.components import make_component_group

container_registry = make_component_group("container_registry", "container-registry")
image_builder = make_component_group("image_builder", "image-builder")
