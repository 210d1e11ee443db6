"""The loop that walks a run's DAG by creating one Kubernetes Job per step attempt.

The orchestrator Job runs it in the cluster (``python -m zen_k8s.orchestrator_job``);
in ``client`` mode the client runs the very same loop. Scheduling decisions come
from zen-core's :class:`~zen_core.dag.DagScheduler`, as for every flavor:

* a step's Job is created once all its upstream steps succeeded, up to
  ``max_parallelism`` at once, owned by the orchestrator Job when there is one;
* the Job's pod runs ``python -m zen_core.entrypoint``, which records the step;
* a Job that ended is matched with the step's record; when the process died before
  recording (OOM kill, deadline, a crash at import), the step fails with the
  Job's and the pod's reasons and the pod's log becomes the step's log;
* a failed attempt is retried per the step's ``@step(retries=...)`` policy with a
  **new Job** and ``--attempt N+1`` (see :meth:`RunLoop._settle`);
* a pod stuck unschedulable or unable to start its container for longer than the
  ``pending_timeout`` fails its step with that reason (never retried: waiting
  longer would not help);
* a failed step's dependents are skipped; a run whose record says ``stopped`` (``zen k8s stop``)
  or whose loop is interrupted deletes its step Jobs and closes every open record.

Why one Job per attempt rather than the Job's own ``backoffLimit``: the entrypoint
must know its attempt number (attempts write separate artifacts and records), and
a pod restarted by the Job controller runs the same command; the step's retry delay
and backoff are honoured exactly (the Job controller has its own fixed backoff);
and each attempt keeps its own Job, status and log to look at. ``backoffLimit``
stays available per step for infrastructure failures only: a pod failure policy
stops Kubernetes from restarting a pod whose step raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zen_core.dag import DagScheduler
from zen_core.errors import ArtifactError
from zen_core.progress import Progress
from zen_core.records import FINISHED, SUCCESS, RunStore, StepRecord
from zen_core.spec import PipelineSpec

from . import manifests
from . import names as N
from .client import Kube, KubeError
from .plan import RunPlan
from .settings import KubernetesSettings, settings_for_step
from .status import PodlessTracker, StuckTracker, job_state, last_warning, pod_started, termination_summary

logger = logging.getLogger("zen.k8s")

#: Shortest wait between two polls; the loop slows down to ``poll_interval`` when idle.
MIN_POLL = 0.25
#: Give up when the API server has not answered for this long.
API_OUTAGE_LIMIT = 300.0
LOG_TAIL_LINES = 2000
#: Seconds a stopped step's pod gets to exit. The entrypoint runs as PID 1, which ignores
#: SIGTERM unless it handles it, so the pod's full grace period would otherwise pass first.
STOP_GRACE_SECONDS = 5


class RunStopped(Exception):
    """The run's record says ``stopped``: someone ran ``zen k8s stop`` (or ``zen run stop``)."""


@dataclass
class _Attempt:
    step_id: str
    attempt: int
    job: str
    created: float


def step_selector(run_id: str) -> str:
    return f"{manifests.run_selector(run_id)},{N.L_COMPONENT}=step"


def delete_step_jobs(kube: Kube, namespace: str, run_id: str) -> None:
    """Delete a run's step Jobs, and give their pods a short grace period to exit."""
    kube.delete_jobs(namespace, step_selector(run_id))
    kube.delete_pods(namespace, step_selector(run_id), grace_seconds=STOP_GRACE_SECONDS)


def close_open_steps(runs: RunStore, run_id: str, spec: PipelineSpec, reason: str) -> list[str]:
    """Give every step without a final record one: running ones failed, others skipped."""
    closed = []
    for s in spec.steps:
        rec = runs.read_step(run_id, s.id)
        if rec is not None and rec.status in FINISHED:
            continue
        if rec is not None and rec.status == "running" and rec.started_at is not None:
            rec = rec.model_copy(
                update={"status": "failed", "finished_at": time.time(), "error": f"stopped: {reason}"}
            )
        else:
            backend = rec.backend if rec is not None else {}
            rec = StepRecord(
                run_id=run_id, step_id=s.id, status="skipped", skipped_because=reason, backend=backend
            )
        runs.write_step(rec)
        closed.append(s.id)
    return closed


class RunLoop:
    """Drives one run: ``RunLoop(...).run()`` returns ``completed``, ``failed`` or ``stopped``."""

    def __init__(
        self,
        kube: Kube,
        plan: RunPlan,
        spec: PipelineSpec,
        runs: RunStore,
        run_id: str,
        *,
        owner: dict[str, Any] | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kube = kube
        self.plan = plan
        self.spec = spec
        self.runs = runs
        self.run_id = run_id
        self.owner = owner
        self.progress = progress or Progress()
        self.clock = clock
        self.sleep = sleep
        self.namespace = plan.namespace
        self.sched = DagScheduler(spec, fail_fast=plan.config.fail_fast)
        self.inflight: dict[str, _Attempt] = {}
        self.retry_at: dict[str, tuple[int, float]] = {}
        self.tracker = StuckTracker()
        self.podless = PodlessTracker()
        self._settings: dict[str, KubernetesSettings] = {}
        self._interval = MIN_POLL
        self._api_down_since: float | None = None

    # -- the loop -------------------------------------------------------------------
    def run(self) -> str:
        self.progress.run_started(self.run_id, [s.id for s in self.spec.steps])
        try:
            while not self.sched.done:
                changed = self._launch()
                if not self.inflight and not self.retry_at:
                    break
                self.sleep(self._interval)
                changed = self._poll() or changed
                self._interval = (
                    MIN_POLL if changed else min(self._interval * 1.5, self.plan.config.poll_interval)
                )
        except RunStopped:
            self.abort("run stopped")
            self.progress.run_finished("stopped")
            return "stopped"
        except BaseException as exc:  # KeyboardInterrupt, SIGTERM, a bug: leave nothing running
            self.abort("run interrupted" if not isinstance(exc, Exception) else f"orchestrator error: {exc}")
            self.progress.run_finished("stopped")
            raise
        outcome = self.sched.outcome()
        self.progress.run_finished(outcome)
        return outcome

    def abort(self, reason: str) -> None:
        """Delete the run's step Jobs, then close every open step record."""
        self.sched.stop(reason)
        try:
            delete_step_jobs(self.kube, self.namespace, self.run_id)
        except KubeError as exc:
            logger.warning("could not delete the step Jobs of run %s: %s", self.run_id, exc)
        self.inflight.clear()
        self.retry_at.clear()
        for sid in close_open_steps(self.runs, self.run_id, self.spec, reason):
            self.progress.step(sid, "skipped", detail=reason)

    # -- launching ------------------------------------------------------------------
    def settings(self, step_id: str) -> KubernetesSettings:
        if step_id not in self._settings:
            self._settings[step_id] = settings_for_step(self.spec, step_id)
        return self._settings[step_id]

    def _launch(self) -> bool:
        launched = False
        now = self.clock()
        for sid, (attempt, due) in sorted(self.retry_at.items(), key=lambda i: i[1][1]):
            if due <= now:
                del self.retry_at[sid]
                self._create(sid, attempt)
                launched = True
        free = self.plan.config.max_parallelism - len(self.inflight) - len(self.retry_at)
        if free > 0:
            for sid in self.sched.take_ready(limit=free):
                self._create(sid, 1)
                launched = True
        return launched

    def _backend(self, job: str, pod: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"job": job, "namespace": self.namespace}
        if pod:
            out["pod"] = pod
        return out

    def _create(self, step_id: str, attempt: int) -> None:
        body = manifests.step_job(self.plan, self.spec, self.run_id, step_id, attempt, self.owner)
        name = body["metadata"]["name"]
        # written before the Job exists: the step's own records (even an instant cache hit) come after
        self.runs.write_step(
            StepRecord(
                run_id=self.run_id,
                step_id=step_id,
                status="running",
                attempt=attempt,
                backend=self._backend(name),
            )
        )
        try:
            self.kube.create_job(self.namespace, body)
        except KubeError as exc:
            if exc.status != 409:  # 409: it exists already (a restarted orchestrator): adopt it
                record = StepRecord(
                    run_id=self.run_id,
                    step_id=step_id,
                    status="failed",
                    attempt=attempt,
                    finished_at=time.time(),
                    error=f"could not create Job {name}: {exc}",
                    backend=self._backend(name),
                )
                self.runs.write_step(record)
                self._settle(step_id, record, retryable=exc.status == 0 or exc.status >= 500)
                return
        self.inflight[step_id] = _Attempt(step_id, attempt, name, self.clock())
        detail = f"Job {name}" + (f", attempt {attempt}" if attempt > 1 else "")
        self.progress.step(step_id, "running", detail=detail)

    # -- watching -------------------------------------------------------------------
    def _poll(self) -> bool:
        try:
            run = self.runs.read_run(self.run_id)
        except (ArtifactError, ValueError):
            run = None
        if run is not None and run.status == "stopped":
            raise RunStopped()
        if not self.inflight:
            return False
        try:
            jobs = {
                j["metadata"]["name"]: j
                for j in self.kube.list_jobs(self.namespace, step_selector(self.run_id))
            }
            pods = self.kube.list_pods(self.namespace, step_selector(self.run_id))
        except KubeError as exc:
            if exc.status and exc.status < 500:
                raise
            now = self.clock()
            self._api_down_since = self._api_down_since or now
            if now - self._api_down_since > API_OUTAGE_LIMIT:
                raise
            logger.warning("Kubernetes API call failed, retrying: %s", exc)
            return False
        self._api_down_since = None
        by_job: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            labels = (pod.get("metadata") or {}).get("labels") or {}
            job_name = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
            if job_name:
                by_job.setdefault(job_name, []).append(pod)
        changed = False
        now = self.clock()
        for sid, att in list(self.inflight.items()):
            job = jobs.get(att.job)
            job_pods = sorted(by_job.get(att.job, []), key=pod_started)
            done = self._final_record(att)
            if done is not None and done.status in SUCCESS:
                # recorded as done: start the dependents now, not once the Job says Complete
                del self.inflight[sid]
                self.tracker.forget(job_pods)
                pod_name = (job_pods[-1].get("metadata") or {}).get("name") if job_pods else None
                self._settle(sid, self._with_backend(done, att, pod_name), retryable=False)
                changed = True
                continue
            if job is None:
                self._job_vanished(att)
                changed = True
                continue
            state = job_state(job)
            if state.state == "active":
                timeout = self.settings(sid).pending_timeout or self.plan.config.pending_timeout
                waited = self.podless.check(att.job, bool(job_pods), now, timeout)
                if waited is not None:
                    why = (
                        last_warning(self.kube.events(self.namespace, "Job", att.job)) or "no event says why"
                    )
                    self._fail_stuck(
                        att, f"Job {att.job} could not create a pod for {waited:.0f}s: {why}", None
                    )
                    changed = True
                    continue
                for pod in job_pods:
                    stuck = self.tracker.check(pod, now, timeout)
                    if stuck is not None:
                        self._fail_stuck(att, stuck.describe(), pod)
                        changed = True
                        break
                continue
            self.tracker.forget(job_pods)
            self._job_finished(att, state.state, state.reason, state.message, job_pods)
            changed = True
        return changed

    def _final_record(self, att: _Attempt) -> StepRecord | None:
        rec = self.runs.read_step(self.run_id, att.step_id)
        if rec is not None and rec.attempt == att.attempt and rec.status in FINISHED:
            return rec
        return None

    def _job_vanished(self, att: _Attempt) -> None:
        """The Job is gone (deleted by hand, or by its TTL right after finishing)."""
        del self.inflight[att.step_id]
        rec = self._final_record(att)
        if rec is None:
            rec = self._failed(att, f"Job {att.job} was deleted before the step recorded an outcome")
        self._settle(att.step_id, self._with_backend(rec, att, None), retryable=False)

    def _fail_stuck(self, att: _Attempt, why: str, pod: dict[str, Any] | None) -> None:
        del self.inflight[att.step_id]
        try:
            self.kube.delete_job(self.namespace, att.job)
        except KubeError as exc:
            logger.warning("could not delete stuck Job %s: %s", att.job, exc)
        pod_name = (pod.get("metadata") or {}).get("name") if pod else None
        rec = self._with_backend(self._failed(att, why), att, pod_name)
        self._settle(att.step_id, rec, retryable=False)

    def _failed(self, att: _Attempt, error: str, *, logs: str = "") -> StepRecord:
        previous = self.runs.read_step(self.run_id, att.step_id)
        started = previous.started_at if previous is not None and previous.attempt == att.attempt else None
        rec = StepRecord(
            run_id=self.run_id,
            step_id=att.step_id,
            status="failed",
            attempt=att.attempt,
            started_at=started,
            finished_at=time.time(),
            error=error,
        )
        if logs:
            key = self.runs.logs_key(self.run_id, att.step_id)
            self.runs.store.write_text(key, logs)
            rec.logs_uri = self.runs.store.uri(key)
            rec.traceback = "\n".join(logs.rstrip().splitlines()[-40:])
        return rec

    def _with_backend(self, rec: StepRecord, att: _Attempt, pod: str | None) -> StepRecord:
        rec = rec.model_copy(update={"backend": {**rec.backend, **self._backend(att.job, pod)}})
        self.runs.write_step(rec)
        return rec

    def _job_finished(
        self, att: _Attempt, state: str, reason: str, message: str, pods: list[dict[str, Any]]
    ) -> None:
        del self.inflight[att.step_id]
        last = pods[-1] if pods else None
        pod_name = (last.get("metadata") or {}).get("name") if last else None
        rec = self._final_record(att)
        if rec is None:
            # the process ended without recording an outcome: say why, keep its log
            parts = []
            if last is not None:
                ended = termination_summary(last, manifests.STEP_CONTAINER)
                if ended:
                    parts.append(f"container {ended}")
            if state == "failed" and (reason or message):
                parts.append(f"Job {reason}: {message}".rstrip(": "))
            why = "; ".join(parts) or f"Job {state}"
            logs = ""
            if pod_name:
                try:
                    logs = self.kube.pod_log(
                        self.namespace, pod_name, manifests.STEP_CONTAINER, tail_lines=LOG_TAIL_LINES
                    )
                except KubeError as exc:
                    logger.warning("could not read the log of pod %s: %s", pod_name, exc)
            rec = self._failed(att, f"step process ended without recording an outcome ({why})", logs=logs)
        self._settle(att.step_id, self._with_backend(rec, att, pod_name), retryable=True)

    # -- outcomes -------------------------------------------------------------------
    def _settle(self, step_id: str, record: StepRecord, *, retryable: bool) -> None:
        """A step attempt ended: schedule a retry, or tell the scheduler."""
        step = self.spec.step(step_id)
        self.progress.step(step_id, record.status, duration=record.duration, detail=record.error or "")
        if record.logs_uri and record.status in SUCCESS:
            try:
                for line in self.runs.read_logs(self.run_id, step_id).splitlines():
                    self.progress.log(step_id, line)
            except ArtifactError:
                pass
        if (
            record.status == "failed"
            and retryable
            and record.attempt <= step.retry.max_retries
            and not self.sched.stopped
        ):
            delay = step.retry.wait_before(record.attempt + 1)
            self.retry_at[step_id] = (record.attempt + 1, self.clock() + delay)
            self.progress.step(
                step_id, "retrying", detail=f"attempt {record.attempt} failed; retry in {delay:g}s"
            )
            return
        for skipped in self.sched.finish(step_id, record.status):
            reason = self.sched.skip_reason[skipped]
            self.runs.write_step(
                StepRecord(run_id=self.run_id, step_id=skipped, status="skipped", skipped_because=reason)
            )
            self.progress.step(skipped, "skipped", detail=reason)
