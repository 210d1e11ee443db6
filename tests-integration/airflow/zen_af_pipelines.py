"""Pipelines of the Airflow integration tests that zen-core's conformance set lacks.

Importable by the steps' own interpreters: the tests point the orchestrator's
``source_root`` at this folder.
"""

from __future__ import annotations

import time

from zen_core import pipeline, step


@step
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@step
def after_sleep(x: float) -> float:
    return x


@pipeline(settings={"airflow": {"execution_timeout": 3}})
def times_out(seconds: float = 120.0) -> None:
    after_sleep(sleepy(seconds=seconds))


@step(settings={"airflow": {"pool": "zen-no-such-pool"}})
def pooled() -> int:
    return 1


@pipeline
def missing_pool() -> None:
    pooled()


@pipeline(
    settings={
        "airflow": {
            "schedule": {
                "cron": "15 3 * * *",
                "start_date": "2025-01-01T00:00:00",
                "end_date": "2030-01-01T00:00:00",
                "catchup": False,
            }
        }
    }
)
def nightly(size: int = 3) -> None:
    after_sleep(sleepy(seconds=0.0))
