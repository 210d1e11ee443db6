"""Reading Job and pod status (plain dicts as the API returns them): no I/O here.

A pod that cannot start its container (image pull errors, a missing Secret or
ConfigMap) or cannot be scheduled stays ``Pending`` for ever; the Job above it
never fails by itself. :class:`StuckTracker` notices such pods and says when one
has been stuck for longer than allowed, so the step fails with the real reason
instead of the run hanging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Waiting reasons of a container that will not start without outside help.
STUCK_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "ErrImageNeverPull",
        "RunContainerError",
    }
)
#: Reasons that can never clear up by waiting: fail at once.
FATAL_REASONS = frozenset({"InvalidImageName", "ErrImageNeverPull"})
UNSCHEDULABLE = "Unschedulable"


@dataclass(frozen=True)
class JobState:
    state: str  # "active", "succeeded" or "failed"
    reason: str = ""
    message: str = ""


def job_state(job: dict[str, Any]) -> JobState:
    """A Job's outcome from its final conditions (``Complete``/``Failed``), else active."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return JobState("succeeded", cond.get("reason") or "", cond.get("message") or "")
        if cond.get("type") == "Failed":
            return JobState("failed", cond.get("reason") or "", cond.get("message") or "")
    return JobState("active")


def _container_statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or [])


def pod_problem(pod: dict[str, Any]) -> tuple[str, str] | None:
    """``(reason, message)`` if the pod is stuck before its container runs, else None."""
    status = pod.get("status") or {}
    if status.get("phase", "Pending") != "Pending":
        return None
    for cs in _container_statuses(pod):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in STUCK_REASONS:
            return reason, (waiting.get("message") or "").strip()
    for cond in status.get("conditions") or []:
        not_scheduled = cond.get("type") == "PodScheduled" and cond.get("status") == "False"
        if not_scheduled and cond.get("reason") == UNSCHEDULABLE:
            return UNSCHEDULABLE, (cond.get("message") or "").strip()
    return None


@dataclass(frozen=True)
class StuckPod:
    pod: str
    reason: str
    message: str
    waited: float

    def describe(self) -> str:
        detail = f": {self.message}" if self.message else ""
        if self.reason in FATAL_REASONS:
            return f"pod {self.pod} cannot start: {self.reason}{detail}"
        return f"pod {self.pod} stuck in {self.reason} for {self.waited:.0f}s{detail}"


class StuckTracker:
    """Remembers since when each pending pod has been pending, across polls.

    The clock starts when a pod is first seen ``Pending`` and stops when it leaves
    that phase; a pod is reported once it *currently* shows a problem and has been
    pending for ``timeout`` seconds (at once for :data:`FATAL_REASONS`). Times are
    the caller's monotonic clock, so clock skew between machines does not matter.
    """

    def __init__(self) -> None:
        self._pending_since: dict[str, float] = {}

    @staticmethod
    def _key(pod: dict[str, Any]) -> str:
        meta = pod.get("metadata") or {}
        return str(meta.get("uid") or meta.get("name"))

    def check(self, pod: dict[str, Any], now: float, timeout: float) -> StuckPod | None:
        key = self._key(pod)
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if phase != "Pending":
            self._pending_since.pop(key, None)
            return None
        since = self._pending_since.setdefault(key, now)
        problem = pod_problem(pod)
        if problem is None:
            return None
        reason, message = problem
        waited = now - since
        if reason in FATAL_REASONS or waited >= timeout:
            return StuckPod((pod.get("metadata") or {}).get("name", "?"), reason, message, waited)
        return None

    def forget(self, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            self._pending_since.pop(self._key(pod), None)


def last_warning(events: list[dict[str, Any]]) -> str:
    """``"Reason: message"`` of the newest Warning event, or ``""``."""
    for event in reversed(events):
        if event.get("type") == "Warning":
            return f"{event.get('reason') or 'Warning'}: {(event.get('message') or '').strip()}"
    return ""


class PodlessTracker:
    """Jobs that have no pod at all, since when (a pod the Job cannot create: a missing
    service account, a quota, an admission webhook refusing it)."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def check(self, job: str, has_pods: bool, now: float, timeout: float) -> float | None:
        """Seconds the Job has been without pods once past ``timeout``, else None."""
        if has_pods:
            self._since.pop(job, None)
            return None
        since = self._since.setdefault(job, now)
        return now - since if now - since >= timeout else None


def termination_summary(pod: dict[str, Any], container: str) -> str:
    """How ``container`` of ``pod`` ended: ``"OOMKilled (exit code 137)"``, or ``""``."""
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") != container:
            continue
        term = (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated")
        if term:
            reason = term.get("reason") or "terminated"
            text = f"{reason} (exit code {term.get('exitCode')})"
            if term.get("message"):
                text += f": {str(term['message']).strip()}"
            return text
    reason = status.get("reason")
    if reason:  # e.g. Evicted, DeadlineExceeded
        return f"{reason}: {status.get('message') or ''}".rstrip(": ")
    return ""


def pod_started(pod: dict[str, Any]) -> float:
    """Sort key: when the pod was created (RFC 3339 text sorts by time)."""
    created = (pod.get("metadata") or {}).get("creationTimestamp") or ""
    return _rfc3339(created) if created else 0.0


def _rfc3339(text: str) -> float:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
