"""Helpers of zen-github's unit tests: hand-written specs, so golden files never drift.

Specs are built field by field (not compiled from functions), so their bytes and
digests depend on nothing but this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zen_core import plugins
from zen_core.spec import PipelineSpec
from zen_core.stacks import Stack, StackManager

GOLDEN = Path(__file__).parent / "golden"


def step(
    step_id: str,
    *upstream: str,
    retries: int = 0,
    delay: float = 0.0,
    backoff: float = 1.0,
    settings: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        f"x{i}": {"kind": "artifact", "step": up, "output": "output"} for i, up in enumerate(upstream)
    }
    for name, parameter in (params or {}).items():
        inputs[name] = {"kind": "parameter", "name": parameter}
    return {
        "id": step_id,
        "name": step_id.split(".")[0],
        "source": f"project.steps:{step_id.split('.')[0]}",
        "code_hash": "0" * 16,
        "inputs": inputs,
        "outputs": {"output": {"type": "builtins.int"}},
        "retry": {"max_retries": retries, "delay": delay, "backoff": backoff},
        "settings": settings or {},
    }


def make_spec(
    name: str,
    steps: list[dict[str, Any]],
    parameters: dict[str, dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": name,
            "source": f"project.pipelines:{name}",
            "parameters": parameters or {},
            "steps": steps,
            "settings": settings or {},
        }
    )


def linear_spec() -> PipelineSpec:
    return make_spec("train", [step("load"), step("fit", "load"), step("evaluate", "fit")])


class GitHubStack:
    """A registered stack whose orchestrator is ``github``; re-configure at will."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def configure(self, store: tuple[str, dict[str, Any]] | None = None, **config: Any) -> Stack:
        plugins.reset()
        manager = StackManager()
        flavor, store_config = store or ("local", {"path": str(self.root / "store"), "shared": True})
        manager.register_component("artifact_store", "s", flavor, store_config, replace=True)
        manager.register_component("orchestrator", "gh", "github", config, replace=True)
        manager.register_stack("gh", {"orchestrator": "gh", "artifact_store": "s"}, replace=True)
        manager.set_active("gh")
        manager.save()
        return Stack()
