"""The launch plan: what the orchestrator Job needs besides the spec.

The client writes it into the artifact store next to the run (or the schedule),
so the Job's manifest stays small and holds nothing but names and paths:

    runs/<run_id>/kubernetes-plan.json         one run
    schedules/<name>/plan.json, spec.json      a CronJob's runs
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from zen_core.artifacts.store import ArtifactStore
from zen_core.spec import PipelineSpec

from .config import KubernetesOrchestratorConfig

PLAN_FILE = "kubernetes-plan.json"


class RunPlan(BaseModel):
    model_config = ConfigDict(extra="ignore")

    store_url: str
    #: a local store declared shared: mounted into every pod at this same path
    host_path: str | None = None
    namespace: str
    images: dict[str, str]
    orchestrator_image: str
    config: KubernetesOrchestratorConfig
    #: the run's cache override (None: the spec decides); False adds --no-cache to steps
    enable_cache: bool | None = None
    #: schedules only: what each scheduled run is recorded with
    schedule: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    stack: str = ""
    orchestrator: str = "kubernetes"


def plan_key(store: ArtifactStore, run_id: str) -> str:
    return store.key("runs", run_id, PLAN_FILE)


def schedule_keys(store: ArtifactStore, name: str) -> tuple[str, str]:
    return store.key("schedules", name, "plan.json"), store.key("schedules", name, "spec.json")


def write_run_plan(store: ArtifactStore, run_id: str, plan: RunPlan) -> None:
    store.write_text(plan_key(store, run_id), plan.model_dump_json(indent=2))


def read_run_plan(store: ArtifactStore, run_id: str) -> RunPlan:
    return RunPlan.model_validate_json(store.read_bytes(plan_key(store, run_id)))


def write_schedule(store: ArtifactStore, name: str, plan: RunPlan, spec: PipelineSpec) -> None:
    plan_k, spec_k = schedule_keys(store, name)
    store.write_text(spec_k, spec.to_json())
    store.write_text(plan_k, plan.model_dump_json(indent=2))


def read_schedule(store: ArtifactStore, name: str) -> tuple[RunPlan, PipelineSpec]:
    plan_k, spec_k = schedule_keys(store, name)
    plan = RunPlan.model_validate_json(store.read_bytes(plan_k))
    return plan, PipelineSpec.from_json(store.read_bytes(spec_k))
