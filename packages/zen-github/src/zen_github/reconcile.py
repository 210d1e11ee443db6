"""After a workflow run: complete the step records the jobs could not write.

Each job writes its own step's record through the entrypoint. What no job can
write is left to the client once the run is over: a ``skipped`` record for each
step GitHub never started because an upstream job failed (GitHub skips those jobs
silently), and a ``failed`` record for a job that ended before its step recorded
an outcome (setup failed, the runner died, the job timed out or was cancelled).
The DAG is replayed with zen-core's :class:`~zen_core.dag.DagScheduler`, so skip
reasons read exactly as the local orchestrator's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from zen_core.dag import DagScheduler
from zen_core.records import FINISHED, RunStore, StepRecord
from zen_core.spec import PipelineSpec


@dataclass
class JobResult:
    """How GitHub (or act) says a step's job ended."""

    conclusion: str | None  # success, failure, cancelled, skipped, timed_out, ... or None: never ran
    url: str | None = None


@dataclass
class Reconciled:
    outcome: str  # completed, failed or stopped
    failed: dict[str, str] = field(default_factory=dict)  # step id -> error
    job_urls: dict[str, str] = field(default_factory=dict)  # failed step id -> its job's page
    skipped: dict[str, str] = field(default_factory=dict)  # step id -> why it was skipped


def reconcile(
    spec: PipelineSpec,
    runs: RunStore,
    run_id: str,
    jobs: Mapping[str, JobResult],
    *,
    cancelled: bool = False,
) -> Reconciled:
    """Write the missing records of a finished workflow run; return the zen outcome.

    ``jobs`` maps step ids to their job's result; ``cancelled`` says the whole
    workflow run was cancelled (steps it never started are then skipped, and the
    outcome is ``stopped``).
    """
    records = runs.read_steps(run_id)
    sched = DagScheduler(spec)
    result = Reconciled(outcome="completed")
    while not sched.done:
        ready = sched.take_ready()
        if not ready:  # pragma: no cover - DagScheduler.done covers this
            break
        for sid in ready:
            rec = records.get(sid)
            job = jobs.get(sid, JobResult(None))
            if rec is not None and rec.status in FINISHED:
                status = rec.status
            elif cancelled and rec is None:
                status = "skipped"
                result.skipped[sid] = "the workflow run was cancelled"
                runs.write_step(
                    StepRecord(
                        run_id=run_id,
                        step_id=sid,
                        status="skipped",
                        skipped_because="the workflow run was cancelled",
                    )
                )
            else:
                status = "failed"
                ended = f"ended '{job.conclusion}'" if job.conclusion else "ended"
                error = f"the GitHub job of step '{sid}' {ended} before the step recorded an outcome"
                if job.url:
                    error += f"; see {job.url}"
                failed = StepRecord(
                    run_id=run_id,
                    step_id=sid,
                    status="failed",
                    attempt=rec.attempt if rec else 1,
                    started_at=rec.started_at if rec else None,
                    finished_at=time.time(),
                    error=error,
                    backend={"job_conclusion": job.conclusion, "job_url": job.url},
                )
                runs.write_step(failed)
                records[sid] = failed
            if status == "failed":
                final = records.get(sid)
                result.failed[sid] = (final.error if final else None) or "failed"
                if job.url:
                    result.job_urls[sid] = job.url
            for skipped in sched.finish(sid, status):
                if skipped in records and records[skipped].status in FINISHED:
                    continue
                result.skipped[skipped] = sched.skip_reason[skipped]
                runs.write_step(
                    StepRecord(
                        run_id=run_id,
                        step_id=skipped,
                        status="skipped",
                        skipped_because=sched.skip_reason[skipped],
                    )
                )
    result.outcome = "stopped" if cancelled else sched.outcome()
    return result
