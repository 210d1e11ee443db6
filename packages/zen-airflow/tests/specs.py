"""Pipeline specs written out by hand, so golden files depend on the generator alone.

(A spec compiled from Python code carries the code's hash; these carry a fixed one.)
"""

from __future__ import annotations

from typing import Any

from zen_core.spec import PipelineSpec

STORE = "/srv/zen-store"


def step(
    step_id: str,
    *,
    upstream: tuple[str, ...] = (),
    retry: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    name: str | None = None,
    source: str = "my_project.steps:train",
) -> dict[str, Any]:
    return {
        "id": step_id,
        "name": name or step_id,
        "source": source,
        "code_hash": "0123456789abcdef",
        "inputs": {
            f"in_{i}": {"kind": "artifact", "step": u, "output": "output"} for i, u in enumerate(upstream)
        },
        "outputs": {"output": {"type": "int"}},
        "retry": retry or {},
        "settings": settings or {},
    }


def spec(
    name: str,
    steps: list[dict[str, Any]],
    *,
    parameters: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": name,
            "source": f"my_project.pipelines:{name}",
            "steps": steps,
            "parameters": parameters or {},
            "settings": settings or {},
        }
    )


def diamond(settings: dict[str, Any] | None = None, **step_settings: dict[str, Any]) -> PipelineSpec:
    """load -> (clean, features) -> train, with optional settings per step."""
    return spec(
        "diamond",
        [
            step("load", settings=step_settings.get("load")),
            step("clean", upstream=("load",), settings=step_settings.get("clean")),
            step("features", upstream=("load",), settings=step_settings.get("features")),
            step("train", upstream=("clean", "features"), settings=step_settings.get("train")),
        ],
        settings=settings,
    )
