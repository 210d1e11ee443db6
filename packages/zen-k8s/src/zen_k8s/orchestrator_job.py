"""The orchestrator Job's program: walk one run's DAG inside the cluster.

::

    python -m zen_k8s.orchestrator_job --store URL --run-id ID      # a run the client submitted
    python -m zen_k8s.orchestrator_job --store URL --schedule NAME  # a CronJob tick: a new run

It reads the spec and the launch plan from the artifact store, finds its own Job
(``ZEN_K8S_JOB_NAME``/``ZEN_K8S_NAMESPACE``, set through the downward API) to own
the step Jobs it creates, runs :class:`zen_k8s.runner.RunLoop`, and writes the run's
final state. SIGTERM (the Job was deleted, or ``zen k8s stop``) stops the loop: the
step Jobs are deleted and every open record is closed before the pod exits.

Exit codes: 0 the run completed, 1 it failed, 2 it could not start (bad arguments,
no plan, no API access; the run record says why), 143 it was stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_STOPPED = 0, 1, 2, 143


class Terminated(BaseException):
    """SIGTERM arrived (the orchestrator Job or its pod is being deleted)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the clean-up finish
    raise Terminated()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m zen_k8s.orchestrator_job",
        description="Run a zen pipeline run's DAG as Kubernetes Jobs.",
    )
    p.add_argument("--store", required=True, help="artifact store URL")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", help="the run the client submitted")
    which.add_argument("--schedule", help="start a new run of this schedule")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.path.insert(0, os.getcwd())

    from zen_core.artifacts.store import ArtifactStore
    from zen_core.errors import ZenError
    from zen_core.plugins import notify
    from zen_core.progress import PlainProgress
    from zen_core.records import RunRecord, RunStore
    from zen_core.run import new_run_id

    from .client import Kube
    from .plan import read_run_plan, read_schedule
    from .runner import RunLoop, close_open_steps

    runs = RunStore(ArtifactStore(args.store))
    scheduled = args.schedule is not None
    run: RunRecord | None = None
    try:
        if scheduled:
            plan, spec = read_schedule(runs.store, args.schedule)
            run_id = new_run_id(args.schedule)
            runs.write_spec(run_id, spec)
            run = RunRecord(
                run_id=run_id,
                pipeline=spec.name,
                spec_digest=spec.digest(),
                parameters=plan.parameters,
                stack=plan.stack,
                orchestrator=plan.orchestrator,
                enable_cache=spec.enable_cache if plan.enable_cache is None else plan.enable_cache,
                backend={"schedule": args.schedule},
            )
        else:
            run_id = args.run_id
            plan = read_run_plan(runs.store, run_id)
            spec = runs.read_spec(run_id)
            run = runs.read_run(run_id)
        namespace = os.environ.get("ZEN_K8S_NAMESPACE") or plan.namespace
        plan = plan.model_copy(update={"namespace": namespace})
        job_name = os.environ.get("ZEN_K8S_JOB_NAME")
        kube = Kube.connect(in_cluster=True)
        owner = kube.get_job(namespace, job_name) if job_name else None
        run.backend.update(
            {
                "mode": "cluster",
                "namespace": namespace,
                "orchestrator_job": job_name or "",
                "orchestrator_pod": os.environ.get("HOSTNAME", ""),
            }
        )
        runs.write_run(run)
        if scheduled:
            notify("zen_run_started", run=run, spec=spec)
    except (ZenError, ValueError, OSError, KeyError) as exc:
        print(f"zen orchestrator: {type(exc).__name__}: {exc}", file=sys.stderr)
        if run is not None:
            run = run.model_copy(
                update={"status": "failed", "finished_at": time.time(), "error": f"orchestrator: {exc}"}
            )
            runs.write_run(run)
        return EXIT_ERROR
    except Terminated:
        return EXIT_STOPPED

    loop = RunLoop(kube, plan, spec, runs, run_id, owner=owner, progress=PlainProgress(echo_logs=True))
    error: str | None = None
    try:
        outcome = loop.run()
    except Terminated:
        outcome, error = "stopped", "the orchestrator Job was deleted"
    except Exception as exc:  # noqa: BLE001 - recorded, so the client and `zen run show` say why
        outcome, error = "failed", f"orchestrator: {type(exc).__name__}: {exc}"
        close_open_steps(runs, run_id, spec, error)
        print(error, file=sys.stderr)
    latest = _read_run(runs, run_id) or run
    if latest.status == "running":  # `zen k8s stop` may have recorded "stopped" already
        fields: dict[str, Any] = {"status": outcome, "finished_at": time.time()}
        if error:
            fields["error"] = error
        latest = latest.model_copy(update=fields)
        runs.write_run(latest)
    if scheduled:
        notify("zen_run_finished", run=latest, spec=spec)
    return {"completed": EXIT_OK, "failed": EXIT_FAILED}.get(latest.status, EXIT_STOPPED)


def _read_run(runs: Any, run_id: str) -> Any:
    from zen_core.errors import ArtifactError

    try:
        return runs.read_run(run_id)
    except (ArtifactError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
