"""Container images for containerised orchestrators, through the image builder hook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ZenError
from .plugins import plugin_manager

if TYPE_CHECKING:
    from .spec import PipelineSpec
    from .stacks import Stack


def build_images(spec: PipelineSpec, stack: Stack) -> dict[str, str]:
    """The image each step runs in, from the first ``zen_build_images`` implementation.

    Raises a clear error when no image builder plugin is installed or one forgot a step.
    """
    images: dict[str, str] | None = plugin_manager().hook.zen_build_images(spec=spec, stack=stack)
    if images is None:
        raise ZenError(
            f"pipeline '{spec.name}' needs container images, but no image builder is installed "
            "(pip install zen-docker, or a plugin implementing zen_build_images)"
        )
    missing = sorted({s.id for s in spec.steps} - set(images))
    if missing:
        raise ZenError(f"the image builder returned no image for step(s) {', '.join(missing)}")
    return images
