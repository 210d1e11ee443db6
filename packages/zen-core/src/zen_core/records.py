"""Run records: the artifact store is the source of truth for every run.

Layout under the store root (every name validated)::

    runs/<run_id>/run.json               the run: pipeline, parameters, state, times
    runs/<run_id>/spec.json              the compiled PipelineSpec
    runs/<run_id>/steps/<step_id>.json   one step's record, rewritten as it progresses
    runs/<run_id>/logs/<step_id>.log     captured stdout/stderr/logging
    artifacts/<run_id>/<step_id>/<output>/<attempt>/data.<ext>
    cache/<cache_key>.json               where a finished step's outputs are
    specs/<pipeline>/<digest>.json       specs published for backends that start runs
                                         themselves (schedules, a CI "run workflow" button)

A step record says ``completed`` only after every output is fully written, and it
is itself replaced atomically, so a crash mid-step leaves a ``running`` record and
some unreferenced bytes, never an output that looks finished. Cache entries are
written after the completed record, so they never point at unfinished outputs.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .artifacts.store import ArtifactStore
from .errors import ArtifactError
from .spec import PipelineSpec

StepStatus = Literal["pending", "running", "completed", "cached", "failed", "skipped"]
RunStatus = Literal["running", "completed", "failed", "stopped"]
SUCCESS: frozenset[str] = frozenset({"completed", "cached"})
FINISHED: frozenset[str] = frozenset({"completed", "cached", "failed", "skipped"})


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ArtifactRecord(_Record):
    """One stored output: where it is and how to read it back."""

    uri: str
    materializer: str
    materializer_version: str
    type: str
    hash: str
    size: int


class StepRecord(_Record):
    run_id: str
    step_id: str
    status: StepStatus
    attempt: int = 1
    started_at: float | None = None
    finished_at: float | None = None
    outputs: dict[str, ArtifactRecord] = Field(default_factory=dict)
    cache_key: str | None = None
    cached_from: str | None = None  # "<run_id>/<step_id>" that produced the outputs
    error: str | None = None
    traceback: str | None = None
    logs_uri: str | None = None
    skipped_because: str | None = None
    backend: dict[str, Any] = Field(default_factory=dict)  # e.g. Kubernetes Job names

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class RunRecord(_Record):
    run_id: str
    pipeline: str
    spec_digest: str
    status: RunStatus = "running"
    parameters: dict[str, Any] = Field(default_factory=dict)
    stack: str = ""
    orchestrator: str = ""
    enable_cache: bool = True
    created_at: float = Field(default_factory=time.time)
    finished_at: float | None = None
    error: str | None = None
    backend: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.created_at


class CacheEntry(_Record):
    run_id: str
    step_id: str
    outputs: dict[str, ArtifactRecord]
    created_at: float = Field(default_factory=time.time)


class RunStore:
    """Reads and writes run records, logs, artifacts and cache entries in a store."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    # -- runs ---------------------------------------------------------------
    def write_run(self, run: RunRecord) -> None:
        self.store.write_bytes(self.store.key("runs", run.run_id, "run.json"), run.model_dump_json().encode())

    def read_run(self, run_id: str) -> RunRecord:
        try:
            raw = self.store.read_bytes(self.store.key("runs", run_id, "run.json"))
        except ArtifactError:
            raise ArtifactError(f"no run '{run_id}' in artifact store {self.store.url}") from None
        return RunRecord.model_validate_json(raw)

    def write_spec(self, run_id: str, spec: PipelineSpec) -> str:
        key = self.store.key("runs", run_id, "spec.json")
        self.store.write_text(key, spec.to_json())
        return self.store.uri(key)

    def read_spec(self, run_id: str) -> PipelineSpec:
        return PipelineSpec.from_json(self.store.read_bytes(self.store.key("runs", run_id, "spec.json")))

    def list_runs(self) -> list[RunRecord]:
        runs = []
        for run_id in self.store.list("runs"):
            try:
                runs.append(self.read_run(run_id))
            except (ArtifactError, ValueError):
                continue  # a run directory still being created, or foreign files
        return sorted(runs, key=lambda r: r.created_at, reverse=True)

    # -- steps --------------------------------------------------------------
    def write_step(self, record: StepRecord) -> None:
        key = self.store.key("runs", record.run_id, "steps", f"{record.step_id}.json")
        self.store.write_bytes(key, record.model_dump_json(exclude_defaults=True).encode())

    def write_skipped(self, run_id: str, step_id: str, reason: str) -> StepRecord:
        """Record that a step will not run (an upstream step failed, or the run stopped)."""
        record = StepRecord(run_id=run_id, step_id=step_id, status="skipped", skipped_because=reason)
        self.write_step(record)
        return record

    def read_step(self, run_id: str, step_id: str) -> StepRecord | None:
        key = self.store.key("runs", run_id, "steps", f"{step_id}.json")
        try:
            return StepRecord.model_validate_json(self.store.read_bytes(key))
        except ArtifactError:
            return None

    def read_steps(self, run_id: str) -> dict[str, StepRecord]:
        out = {}
        for name in self.store.list(self.store.key("runs", run_id, "steps")):
            if name.endswith(".json"):
                rec = self.read_step(run_id, name[: -len(".json")])
                if rec is not None:
                    out[rec.step_id] = rec
        return out

    # -- logs ---------------------------------------------------------------
    def logs_key(self, run_id: str, step_id: str) -> str:
        return self.store.key("runs", run_id, "logs", f"{step_id}.log")

    def read_logs(self, run_id: str, step_id: str) -> str:
        return self.store.read_bytes(self.logs_key(run_id, step_id)).decode(errors="replace")

    # -- artifacts ----------------------------------------------------------
    def artifact_key(self, run_id: str, step_id: str, output: str, attempt: int, ext: str) -> str:
        return self.store.key("artifacts", run_id, step_id, output, str(attempt), f"data{ext}")

    def artifact_exists(self, artifact: ArtifactRecord) -> bool:
        try:
            return self.store.exists(self.store.key_of_uri(artifact.uri))
        except ArtifactError:
            return False

    # -- cache --------------------------------------------------------------
    def read_cache(self, key: str) -> CacheEntry | None:
        try:
            return CacheEntry.model_validate_json(
                self.store.read_bytes(self.store.key("cache", f"{key}.json"))
            )
        except (ArtifactError, ValueError):
            return None

    def write_cache(self, key: str, entry: CacheEntry) -> None:
        self.store.write_bytes(self.store.key("cache", f"{key}.json"), entry.model_dump_json().encode())
