"""Pipelines and helpers for zen-vertex's unit tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zen_core.pipelines import pipeline
from zen_core.steps import step
from zen_core.testing.pipelines import add, number

GOLDEN = Path(__file__).parent / "golden"
IMAGE = "europe-docker.pkg.dev/zen-test-project/zen/zen:0123456789ab"
STORE = "gs://zen-test-bucket/zen"
PROJECT = "zen-test-project"
RUN_ID = "rich-20250101-120000-abc123"

GPU = {
    "vertex": {
        "cpu_limit": "8",
        "memory_limit": "32G",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 2,
        "env": {"STEP_LEVEL": "1"},
        "retry_max_duration": 1800,
    }
}


@step(settings=GPU, retries=2, retry_delay=10, retry_backoff=3.0)
def fit(x: int, epochs: int = 1) -> int:
    return x * epochs


@step(settings={"vertex": {"memory_limit": "4Gi"}})
def evaluate(model: int) -> float:
    return model / 10


@pipeline(settings={"vertex": {"cpu_limit": "2", "env": {"PIPELINE_LEVEL": "1"}}})
def rich(start: int = 3, epochs: int = 5, tag: str = "nightly") -> None:
    evaluate(fit(add(number(value=start)), epochs=epochs))


@pipeline(settings={"vertex": {"schedule": {"cron": "TZ=Europe/Paris 0 6 * * 1", "max_run_count": 10}}})
def weekly(value: int = 7) -> None:
    number(value=value)


def golden_update() -> bool:
    return os.environ.get("ZEN_UPDATE_GOLDEN") == "1"


def orchestrator_config(**overrides: Any) -> dict[str, Any]:
    """A complete vertex orchestrator config (REST transport: nothing is dialled at set-up)."""
    return {
        "project": PROJECT,
        "location": "europe-west4",
        "service_account": f"zen-steps@{PROJECT}.iam.gserviceaccount.com",
        "network": "projects/123456789012/global/networks/ml",
        "encryption_key": f"projects/{PROJECT}/locations/europe-west4/keyRings/zen/cryptoKeys/jobs",
        "labels": {"team": "ml", "cost-center": "r-and-d"},
        "credentials": "anonymous",
        "api_transport": "rest",
        "image": IMAGE,
        "environment": {"ZEN_LOG_LEVEL": "info"},
        **overrides,
    }


@step(settings={"vertex": {"schedule": {"cron": "* * * * *"}}})
def scheduled_step(x: int = 1) -> int:
    return x


@step(settings={"vertex": {"accelerator_type": "nvidia.com/gpu"}})
def kubernetes_gpu(x: int = 1) -> int:
    return x


@pipeline
def step_schedule() -> None:
    scheduled_step()


@pipeline
def bad_accelerator() -> None:
    kubernetes_gpu()


@pipeline
def reserved_parameter(zen_run_id: int = 1) -> None:
    number(value=zen_run_id)
