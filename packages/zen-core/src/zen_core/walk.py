"""Walking a run's DAG on this machine with a pool of worker threads.

Orchestrators that launch steps from the client (``local``, ``local_docker``, a
synchronous debug mode of a cluster flavor) share this loop: each step starts as
soon as its upstream steps succeeded, at most ``max_parallelism`` at once, the
steps a failure makes impossible are recorded ``skipped``, and progress is
reported. What "run one step" means (a thread, a process, a container) is the
caller's ``run_step``, which returns the step's final record and never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from .dag import DagScheduler
from .orchestrator import RunRequest
from .progress import Progress
from .records import StepRecord


def walk_dag(
    request: RunRequest,
    run_step: Callable[[str], StepRecord],
    *,
    max_parallelism: int,
    progress: Progress,
    fail_fast: bool = False,
    on_interrupt: Callable[[], None] | None = None,
) -> str:
    """Run every step of ``request`` through ``run_step``; return ``completed`` or ``failed``.

    On an interrupt (Ctrl-C) or any error of the loop itself, no new step starts,
    ``on_interrupt`` runs (to stop what the steps started), and the error propagates;
    steps already running finish on their own.
    """
    spec, runs = request.spec, request.runs
    sched = DagScheduler(spec, fail_fast=fail_fast)
    progress.run_started(request.run_id, [s.id for s in spec.steps])
    futures: dict[Future[StepRecord], str] = {}
    pool = ThreadPoolExecutor(max_workers=max_parallelism, thread_name_prefix="zen-step")
    try:
        while not sched.done:
            for sid in sched.take_ready(limit=max_parallelism - len(futures)):
                futures[pool.submit(run_step, sid)] = sid
            if not futures:
                break
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in done:
                sid = futures.pop(fut)
                record = fut.result()
                progress.step(sid, record.status, duration=record.duration, detail=record.error or "")
                for skipped in sched.finish(sid, record.status):
                    reason = sched.skip_reason[skipped]
                    runs.write_skipped(request.run_id, skipped, reason)
                    progress.step(skipped, "skipped", detail=reason)
    except BaseException:
        sched.stop("run interrupted")
        if on_interrupt is not None:
            on_interrupt()
        pool.shutdown(wait=False, cancel_futures=True)
        progress.run_finished("stopped")
        raise
    pool.shutdown(wait=True)
    outcome = sched.outcome()
    progress.run_finished(outcome)
    return outcome
