"""Run one generated DAG with Airflow's own test runner and report its task states.

This is the airflow orchestrator's local mode: ``DAG.test()`` runs every task of
one DAG run in dependency order (retries included) against Airflow's metadata
DB, with no scheduler, API server or executor running. The orchestrator calls
:func:`run_dag` in its own process, or runs this file as a script in a fresh
Python that has Airflow::

    python local_runner.py --dag-file DAGS/zen_x.py --dag-id x --conf JSON --result OUT.json

so it imports nothing but Airflow and the standard library. Airflow is
configured by the environment (``AIRFLOW_HOME``, ``AIRFLOW__CORE__DAGS_FOLDER``);
the DAG file must be inside that DAGs folder, because ``DAG.test()`` syncs the
folder's DAGs to the metadata DB before it runs.
"""

# mypy: ignore-missing-imports
# (Airflow is imported only where it is installed: inside Airflow, or for a local run)

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Any


class LocalRunError(Exception):
    """The DAG could not be run (import errors, missing pools, ...)."""


def ensure_db() -> None:
    """Create or upgrade Airflow's metadata DB unless it is up to date."""
    from airflow.utils import db

    try:
        db.check_migrations(timeout=0)
    except TimeoutError:
        db.initdb()


def _state(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def run_dag(dag_file: str, dag_id: str, conf: dict[str, Any], *, migrate: bool = True) -> dict[str, Any]:
    """Run one DAG run of ``dag_id`` from ``dag_file``; return its state and its tasks'."""
    if migrate:
        ensure_db()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.pool import Pool

    bag = DagBag(dag_folder=dag_file)
    if bag.import_errors:
        errors = "\n".join(f"{path}:\n{error}" for path, error in bag.import_errors.items())
        raise LocalRunError(f"Airflow could not import the DAG file:\n{errors}")
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise LocalRunError(f"{dag_file} defines no DAG {dag_id!r} (found: {sorted(bag.dags)})")
    for pool in sorted({task.pool for task in dag.tasks}):
        if Pool.get_pool(pool) is None:
            raise LocalRunError(
                f"Airflow pool {pool!r} does not exist, so its tasks would never start; "
                f"create it first, e.g.: airflow pools set {pool} 4 'zen steps'"
            )
    dag_run = dag.test(run_conf=conf)
    tasks = {
        ti.task_id: {"state": _state(ti.state), "try_number": int(ti.try_number or 0)}
        for ti in dag_run.get_task_instances()
    }
    return {"dag_id": dag_id, "run_id": dag_run.run_id, "state": _state(dag_run.state), "tasks": tasks}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run a DAG with Airflow's DAG.test() and write its task states.")
    p.add_argument("--dag-file", required=True)
    p.add_argument("--dag-id", required=True)
    p.add_argument("--conf", default="{}", help="DAG run conf (JSON object)")
    p.add_argument("--result", required=True, help="file the result JSON is written to")
    p.add_argument("--no-migrate", action="store_true", help="do not create or upgrade the metadata DB")
    args = p.parse_args(argv)
    try:
        result = run_dag(args.dag_file, args.dag_id, json.loads(args.conf), migrate=not args.no_migrate)
    except LocalRunError as exc:
        result = {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - whatever it is, the client reports it
        result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0 if "error" not in result else 3


if __name__ == "__main__":
    sys.exit(main())
