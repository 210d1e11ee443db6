"""Scheduling logic shared by every orchestrator that walks the DAG itself.

:class:`DagScheduler` knows which steps may start (all upstream steps succeeded),
which must be skipped (an upstream step failed or was skipped), and when the run
is over. It does no I/O, so the local orchestrator, the Kubernetes orchestrator
Job and any third-party flavor drive it the same way::

    sched = DagScheduler(spec)
    while not sched.done:
        for step_id in sched.take_ready():
            launch(step_id)
        step_id, status = wait_for_any()
        sched.finish(step_id, status)
"""

from __future__ import annotations

from collections import deque

from .records import SUCCESS
from .spec import PipelineSpec


class DagScheduler:
    def __init__(self, spec: PipelineSpec, *, fail_fast: bool = False) -> None:
        self.spec = spec
        self.fail_fast = fail_fast
        self.status: dict[str, str] = {s.id: "pending" for s in spec.steps}
        self.skip_reason: dict[str, str] = {}
        self._order = {s.id: i for i, s in enumerate(spec.steps)}
        self._downstream: dict[str, list[str]] = {s.id: [] for s in spec.steps}
        self._waiting: dict[str, int] = {}
        for s in spec.steps:
            ups = s.upstream
            self._waiting[s.id] = len(ups)
            for up in ups:
                self._downstream[up].append(s.id)
        self._ready: deque[str] = deque(s.id for s in spec.steps if self._waiting[s.id] == 0)
        self._running: set[str] = set()
        self._open = len(spec.steps)
        self.stopped = False

    @property
    def done(self) -> bool:
        """No step is running and none can start any more."""
        return self._open == 0 or (not self._running and not self._ready)

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._running)

    def take_ready(self, limit: int | None = None) -> list[str]:
        """Steps that may start now (marks them running), in definition order."""
        if self.stopped:
            return []
        taken: list[str] = []
        while self._ready and (limit is None or len(taken) < limit):
            sid = self._ready.popleft()
            self.status[sid] = "running"
            self._running.add(sid)
            taken.append(sid)
        return taken

    def finish(self, step_id: str, status: str) -> list[str]:
        """Record a step's final status; returns the steps skipped because of it."""
        self._running.discard(step_id)
        self.status[step_id] = status
        self._open -= 1
        if status in SUCCESS:
            for d in self._downstream[step_id]:
                self._waiting[d] -= 1
                if self._waiting[d] == 0 and self.status[d] == "pending":
                    self._ready.append(d)
            return []
        if self.fail_fast:
            return self.stop(f"fail-fast: step '{step_id}' {status}")
        return self._skip_downstream(step_id, f"upstream step '{step_id}' {status}")

    def _skip_downstream(self, step_id: str, reason: str) -> list[str]:
        skipped = []
        queue = deque(self._downstream[step_id])
        while queue:
            d = queue.popleft()
            if self.status[d] != "pending":
                continue
            self.status[d] = "skipped"
            self.skip_reason[d] = reason
            self._open -= 1
            skipped.append(d)
            queue.extend(self._downstream[d])
        return sorted(skipped, key=self._order.__getitem__)

    def stop(self, reason: str) -> list[str]:
        """Skip every step not yet started; running ones finish on their own."""
        self.stopped = True
        self._ready.clear()
        skipped = [sid for sid, st in self.status.items() if st == "pending"]
        for sid in skipped:
            self.status[sid] = "skipped"
            self.skip_reason[sid] = reason
            self._open -= 1
        return sorted(skipped, key=self._order.__getitem__)

    def outcome(self) -> str:
        """``completed`` if every step succeeded, ``failed`` otherwise."""
        return "completed" if all(s in SUCCESS for s in self.status.values()) else "failed"
