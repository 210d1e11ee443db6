"""The ``example_serial`` orchestrator: one step at a time, in dependency order.

A complete orchestrator in a few dozen lines, built only from zen-core's public
pieces, as a third-party flavor would be:

* :class:`zen_core.dag.DagScheduler` decides which step may run next and which
  must be skipped after a failure;
* :func:`zen_core.execution.execute_step` runs a step (inputs, cache, logs,
  outputs, records, lifecycle hooks): an orchestrator never re-implements that;
* retries follow each step's ``retry`` policy from the compiled spec.

Steps run in this process, in the order the scheduler hands them out (the
pipeline's definition order among the ready ones), so a run is deterministic.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from zen_core.dag import DagScheduler
from zen_core.errors import StepFailedError
from zen_core.execution import StepRun, execute_step
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.records import StepRecord

from .config import SerialOrchestratorConfig


class SerialOrchestrator(Orchestrator):
    flavor = "example_serial"
    config: SerialOrchestratorConfig

    def run(self, request: RunRequest) -> str:
        spec, runs = request.spec, request.runs
        sched = DagScheduler(spec, fail_fast=self.config.fail_fast)
        records: dict[str, StepRecord] = {}
        self._say(f"run {request.run_id}: {len(spec.steps)} step(s), one at a time")
        try:
            while not sched.done:
                ready = sched.take_ready(limit=1)
                if not ready:  # cannot happen with a valid spec; never spin
                    break
                step_id = ready[0]
                record = self._attempts(request, step_id, records)
                records[step_id] = record
                detail = f" ({record.error})" if record.error else ""
                self._say(f"step {step_id}: {record.status}{detail}")
                for skipped in sched.finish(step_id, record.status):
                    reason = sched.skip_reason[skipped]
                    runs.write_step(
                        StepRecord(
                            run_id=request.run_id, step_id=skipped, status="skipped", skipped_because=reason
                        )
                    )
                    self._say(f"step {skipped}: skipped ({reason})")
        except BaseException:
            # interrupted: record what will never run, then let the client finalize the run
            for skipped in sched.stop("run interrupted"):
                runs.write_step(
                    StepRecord(
                        run_id=request.run_id,
                        step_id=skipped,
                        status="skipped",
                        skipped_because="run interrupted",
                    )
                )
            raise
        outcome = sched.outcome()
        self._say(f"run {request.run_id}: {outcome}")
        return outcome

    def _attempts(self, request: RunRequest, step_id: str, records: dict[str, StepRecord]) -> StepRecord:
        """Run a step until it succeeds or its retries are used up; return its last record."""
        step = request.spec.step(step_id)
        attempt = 1
        while True:
            record = self._attempt(request, step_id, attempt, records)
            if record.status != "failed" or attempt > step.retry.max_retries:
                return record
            delay = step.retry.wait_before(attempt + 1)
            self._say(f"step {step_id}: attempt {attempt} failed ({record.error}); retrying in {delay:g}s")
            time.sleep(delay)
            attempt += 1

    def _attempt(
        self, request: RunRequest, step_id: str, attempt: int, records: dict[str, StepRecord]
    ) -> StepRecord:
        ctx = StepRun(
            spec=request.spec,
            step=request.spec.step(step_id),
            run_id=request.run_id,
            runs=request.runs,
            parameters=request.parameters,
            enable_cache=request.enable_cache,
            attempt=attempt,
            func=request.steps.get(step_id),
            upstream=records,
            echo=self._echo(step_id) if self.config.echo_logs else None,
        )
        try:
            return execute_step(ctx)
        except StepFailedError as exc:
            # execute_step recorded the failure; fall back to a record of our own if
            # the store could not be written
            record = request.runs.read_step(request.run_id, step_id)
            if record is not None and record.status == "failed" and record.attempt == attempt:
                return record
            record = StepRecord(
                run_id=request.run_id,
                step_id=step_id,
                status="failed",
                attempt=attempt,
                finished_at=time.time(),
                error=str(exc),
                traceback=exc.traceback_text,
            )
            request.runs.write_step(record)
            return record

    def _echo(self, step_id: str) -> Callable[[str], None]:
        def echo(line: str) -> None:
            _write(f"[{step_id}] {line}")

        return echo

    def _say(self, message: str) -> None:
        if not self.config.quiet:
            _write(f"[example_serial] {message}")


def _write(line: str) -> None:
    # The real stdout, as the local orchestrator's progress does: while a step runs,
    # sys.stdout/sys.stderr route this thread's writes into the step's captured log, and
    # the echo callback is called from inside that routing (printing there would recurse).
    stream = sys.__stdout__ or sys.stdout
    stream.write(line + "\n")
    stream.flush()
