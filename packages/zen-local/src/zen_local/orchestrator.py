"""The ``local`` orchestrator: walks the DAG on this machine.

A step starts as soon as all of its upstream steps have succeeded; up to
``max_parallelism`` run at once. In ``thread`` mode steps run in a thread pool in
this process; in ``process`` mode each step runs in its own interpreter through
``python -m zen_core.entrypoint``, exactly as a remote flavor runs it.

Retries happen here (the step's ``retry`` policy), in the worker, so a step
waiting to retry does not hold up independent steps. A failed step's dependents
are skipped; independent branches finish unless ``fail_fast`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from zen_core.dag import DagScheduler
from zen_core.execution import StepRun, execute_attempt, with_retries
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.progress import Progress, make_progress
from zen_core.records import StepRecord

from .config import LocalOrchestratorConfig


class LocalOrchestrator(Orchestrator):
    flavor = "local"
    config: LocalOrchestratorConfig

    def run(self, request: RunRequest) -> str:
        cfg = self.config
        spec, runs = request.spec, request.runs
        sched = DagScheduler(spec, fail_fast=cfg.fail_fast)
        progress = make_progress(cfg.progress, echo_logs=cfg.echo_logs)
        progress.run_started(request.run_id, [s.id for s in spec.steps])
        records: dict[str, StepRecord] = {}
        futures: dict[Future[StepRecord], str] = {}
        pool = ThreadPoolExecutor(max_workers=cfg.max_parallelism, thread_name_prefix="zen-step")
        try:
            while not sched.done:
                free = cfg.max_parallelism - len(futures)
                for sid in sched.take_ready(limit=free):
                    futures[pool.submit(self._attempts, request, sid, records, progress)] = sid
                if not futures:
                    break
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    sid = futures.pop(fut)
                    record = fut.result()
                    records[sid] = record
                    progress.step(sid, record.status, duration=record.duration, detail=record.error or "")
                    for skipped in sched.finish(sid, record.status):
                        reason = sched.skip_reason[skipped]
                        runs.write_skipped(request.run_id, skipped, reason)
                        progress.step(skipped, "skipped", detail=reason)
        except BaseException:
            sched.stop("run interrupted")
            pool.shutdown(wait=False, cancel_futures=True)
            progress.run_finished("stopped")
            raise
        pool.shutdown(wait=True)
        outcome = sched.outcome()
        progress.run_finished(outcome)
        return outcome

    # -- one step, with retries ------------------------------------------------
    def _attempts(
        self, request: RunRequest, step_id: str, records: dict[str, StepRecord], progress: Progress
    ) -> StepRecord:
        def attempt(number: int) -> StepRecord:
            if self.config.mode == "process":
                return self._in_process(request, step_id, number, progress)
            return execute_attempt(self._step_run(request, step_id, number, records, progress))

        def on_retry(number: int, record: StepRecord, delay: float) -> None:
            detail = f"attempt {number} failed ({record.error}); retry in {delay:g}s"
            progress.step(step_id, "retrying", detail=detail)

        return with_retries(request.spec.step(step_id), attempt, on_retry=on_retry)

    def _step_run(
        self,
        request: RunRequest,
        step_id: str,
        attempt: int,
        records: dict[str, StepRecord],
        progress: Progress,
    ) -> StepRun:
        return StepRun(
            spec=request.spec,
            step=request.spec.step(step_id),
            run_id=request.run_id,
            runs=request.runs,
            parameters=request.parameters,
            enable_cache=request.enable_cache,
            attempt=attempt,
            func=request.steps.get(step_id),
            upstream=records,
            echo=(lambda line: progress.log(step_id, line)),
            on_start=(lambda: progress.step(step_id, "running")),
        )

    def _in_process(self, request: RunRequest, step_id: str, attempt: int, progress: Progress) -> StepRecord:
        cmd = [
            sys.executable,
            "-m",
            "zen_core.entrypoint",
            "--store",
            request.store_url,
            "--run-id",
            request.run_id,
            "--step",
            step_id,
            "--attempt",
            str(attempt),
        ]
        if request.enable_cache is False:
            cmd.append("--no-cache")
        env = {**os.environ, "ZEN_SOURCE_ROOT": os.getcwd()}
        progress.step(step_id, "running")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        record = request.runs.read_step(request.run_id, step_id)
        if record is not None and record.attempt == attempt and record.status != "running":
            if record.logs_uri and self.config.echo_logs:
                for line in request.runs.read_logs(request.run_id, step_id).splitlines():
                    progress.log(step_id, line)
            if proc.returncode == 0 or record.status == "failed":
                return record
        # the process died before recording an outcome (import error, crash, kill)
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-30:])
        failed = StepRecord(
            run_id=request.run_id,
            step_id=step_id,
            status="failed",
            attempt=attempt,
            started_at=record.started_at if record else None,
            finished_at=time.time(),
            error=f"step process exited with code {proc.returncode}",
            traceback=tail,
        )
        request.runs.write_step(failed)
        return failed
