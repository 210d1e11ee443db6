"""zen-core: define ML pipelines once in plain Python, run them on any orchestrator.

    from zen_core import step, pipeline

    @step
    def load() -> list[int]:
        return [1, 2, 3]

    @step
    def total(values: list[int]) -> int:
        return sum(values)

    @pipeline
    def my_pipeline():
        total(load())

    my_pipeline()   # runs on the active stack (the local one by default)

Attributes are imported on first use, so ``import zen_core`` itself is instant and
plugins can import it at start-up for free.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "step": "steps",
    "Step": "steps",
    "pipeline": "pipelines",
    "Pipeline": "pipelines",
    "collect": "pipelines",
    "PipelineSpec": "spec",
    "StepSpec": "spec",
    "RetrySpec": "spec",
    "hookimpl": "hookspecs",
    "Flavor": "flavors",
    "ArtifactStore": "artifacts.store",
    "Materializer": "materializers",
    "Stack": "stacks",
    "Orchestrator": "orchestrator",
    "RunRequest": "orchestrator",
    "RunResult": "run",
    "DagScheduler": "dag",
    "step_context": "context",
    "StepContext": "context",
    "ZenError": "errors",
    "PipelineDefinitionError": "errors",
    "RunFailedError": "errors",
    "StepFailedError": "errors",
    "StackError": "errors",
    "FlavorNotFoundError": "errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .artifacts.store import ArtifactStore
    from .context import StepContext, step_context
    from .dag import DagScheduler
    from .errors import (
        FlavorNotFoundError,
        PipelineDefinitionError,
        RunFailedError,
        StackError,
        StepFailedError,
        ZenError,
    )
    from .flavors import Flavor
    from .hookspecs import hookimpl
    from .materializers import Materializer
    from .orchestrator import Orchestrator, RunRequest
    from .pipelines import Pipeline, collect, pipeline
    from .run import RunResult
    from .spec import PipelineSpec, RetrySpec, StepSpec
    from .stacks import Stack
    from .steps import Step, step


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zen_core' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
