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
import signal
import socket
import subprocess
import sys
import threading
import time

from zen_core.entrypoint import MARKER
from zen_core.errors import ZenError
from zen_core.execution import StepRun, execute_attempt, with_retries
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.progress import Progress, make_progress
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.walk import walk_dag

from .config import LocalOrchestratorConfig


class LocalOrchestrator(Orchestrator):
    flavor = "local"
    config: LocalOrchestratorConfig

    def imports_steps(self) -> bool:
        return self.config.mode == "process"

    def stop(self, run: RunRecord, runs: RunStore) -> None:
        """Interrupt the client process running ``run`` (if it still runs on this host).

        The client handles the interrupt like Ctrl-C: no new step starts, finished
        steps stay recorded. A client that is already gone needs nothing stopped.
        """
        pid, host = run.backend.get("client_pid"), run.backend.get("client_host")
        if not isinstance(pid, int) or host != socket.gethostname():
            raise ZenError(f"run '{run.run_id}' was started on host {host!r}; stop it there")
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return  # the client already died (kill -9, crash); only the record is left to close
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise ZenError(f"run '{run.run_id}': client process {pid} did not stop within 30 s")

    def run(self, request: RunRequest) -> str:
        self._stopping = threading.Event()
        cfg = self.config
        progress = make_progress(cfg.progress, echo_logs=cfg.echo_logs)
        # records of finished steps, so threads read their inputs' records from memory
        records: dict[str, StepRecord] = {}

        def run_step(step_id: str) -> StepRecord:
            records[step_id] = record = self._attempts(request, step_id, records, progress)
            return record

        return walk_dag(
            request,
            run_step,
            max_parallelism=cfg.max_parallelism,
            progress=progress,
            fail_fast=cfg.fail_fast,
            on_interrupt=self._stopping.set,
        )

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

        return with_retries(
            request.spec.step(step_id), attempt, on_retry=on_retry, stopped=self._stopping.is_set
        )

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
        """One attempt in its own interpreter; its output is streamed back line by line."""
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
        env = {**os.environ, "ZEN_SOURCE_ROOT": os.getcwd(), "PYTHONUNBUFFERED": "1"}
        running = f"{MARKER}step '{step_id}' running"
        output: list[str] = []
        with subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, errors="replace"
        ) as proc:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                if line == running:
                    progress.step(step_id, "running")
                elif not line.startswith(MARKER):
                    output.append(line)
                    if self.config.echo_logs:
                        progress.log(step_id, line)
        code = proc.returncode
        record = request.runs.read_step(request.run_id, step_id)
        finished = record is not None and record.attempt == attempt and record.status != "running"
        if record is not None and finished and (code == 0 or record.status == "failed"):
            return record
        # The process died before recording an outcome (import error, crash, kill):
        # keep what it printed as the step's log and its tail as the traceback.
        logs_key = request.runs.logs_key(request.run_id, step_id)
        if output:
            request.runs.store.write_text(logs_key, "\n".join(output) + "\n")
        reason = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        failed = StepRecord(
            run_id=request.run_id,
            step_id=step_id,
            status="failed",
            attempt=attempt,
            started_at=record.started_at if record else None,
            finished_at=time.time(),
            error=f"step process {reason}",
            traceback="\n".join(output[-40:]),
            logs_uri=request.runs.store.uri(logs_key) if output else None,
        )
        request.runs.write_step(failed)
        return failed
