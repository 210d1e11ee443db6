"""The one place zen-vertex depends on zen-kubeflow: its KFP v2 compiler and launcher.

Vertex AI Pipelines runs the same KFP IR as Kubeflow Pipelines, so a zen pipeline
compiles exactly as for the ``kubeflow`` flavor (one task per step running zen's
launcher, an exit handler ``zen-finalize`` that completes the zen records), with
three differences made here:

* settings come from the ``vertex`` key and are :class:`~zen_vertex.settings.VertexSettings`,
  turned into the compiler's ``KubeflowSettings`` (limits, accelerator, env and retry
  duration only: Vertex has no Kubernetes platform config, so the IR never carries one);
* the orchestrator's ``environment`` reaches every step and the exit handler;
* nothing Kubernetes-specific (PVCs, secrets) is ever set.

What is used from zen-kubeflow (its API as of zen-kubeflow 0.1.0):
``compiler.compile_pipeline(spec, images, store_url=, settings_key=, step_settings=,
base_settings=, python=, description=)`` returning a ``CompiledPipeline`` (``pipeline_spec``,
``platform_spec``, ``task_names``, ``to_yaml()``), ``compiler.FINALIZE_TASK`` and
``EXIT_HANDLER``, ``settings.KubeflowSettings``, and from ``launcher``: ``RUN_ID_INPUT``,
``RESERVED_INPUTS``, ``STATUS_INPUT`` and ``finalize_records(runs, spec, run_id, state,
error)``, which takes KFP state names (``SUCCEEDED``, ``FAILED``, ``CANCELED``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zen_core.errors import PipelineDefinitionError
from zen_core.spec import PipelineSpec
from zen_kubeflow.compiler import EXIT_HANDLER, FINALIZE_TASK, CompiledPipeline, compile_pipeline
from zen_kubeflow.launcher import RESERVED_INPUTS, RUN_ID_INPUT, STATUS_INPUT, finalize_records
from zen_kubeflow.settings import KubeflowSettings

from .settings import SETTINGS_KEY, VertexSettings, merged_settings

__all__ = [
    "EXIT_HANDLER",
    "FINALIZE_TASK",
    "RESERVED_INPUTS",
    "RUN_ID_INPUT",
    "STATUS_INPUT",
    "CompiledPipeline",
    "compile_for_vertex",
    "finalize_records",
    "kubeflow_settings",
    "reserved_parameter_names",
]


def reserved_parameter_names() -> frozenset[str]:
    """Pipeline parameter names the compiled IR uses for itself."""
    return frozenset(RESERVED_INPUTS | {STATUS_INPUT})


def kubeflow_settings(s: VertexSettings) -> KubeflowSettings:
    """The compiler's settings for a step's Vertex settings."""
    values: dict[str, Any] = {
        "cpu_limit": s.cpu_limit,
        "memory_limit": s.memory_limit,
        "accelerator_type": s.accelerator_type,
        "accelerator_count": s.accelerator_count,
        "env": dict(s.env),
        "retry_max_duration": s.retry_max_duration,
    }
    return KubeflowSettings.model_validate({k: v for k, v in values.items() if v not in (None, {})})


def compile_for_vertex(
    spec: PipelineSpec,
    images: Mapping[str, str],
    *,
    store_url: str,
    environment: Mapping[str, str] | None = None,
    python: str = "python",
) -> CompiledPipeline:
    """Compile ``spec`` to the KFP IR that Vertex runs (no platform config)."""

    def step_settings(step_id: str) -> KubeflowSettings:
        return kubeflow_settings(merged_settings(spec, step_id))

    base = KubeflowSettings.model_validate({"env": dict(environment)} if environment else {})
    compiled = compile_pipeline(
        spec,
        images,
        store_url=store_url,
        settings_key=SETTINGS_KEY,
        step_settings=step_settings,
        base_settings=base,
        python=python,
        description=f"zen pipeline {spec.name} ({spec.source}), compiled for Vertex AI Pipelines",
    )
    if compiled.platform_spec is not None:  # nothing above asks for one; guard the contract
        raise PipelineDefinitionError(
            f"pipeline '{spec.name}': the compiled pipeline needs a Kubernetes platform config, "
            "which Vertex AI Pipelines does not run"
        )
    return compiled
