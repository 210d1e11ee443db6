"""Every error zen raises on purpose derives from :class:`ZenError`.

Messages name the thing that is wrong (pipeline, step, input, flavor, field) so a
user can fix the definition without reading a traceback.
"""

from __future__ import annotations


class ZenError(Exception):
    """Base class of zen's own errors."""


class PipelineDefinitionError(ZenError):
    """A pipeline or step definition is invalid; raised at compile time."""


class InvalidNameError(ZenError, ValueError):
    """A name that would end up in a path or resource name is unsafe."""


class StackError(ZenError):
    """A stack or stack component is missing or misconfigured."""


class FlavorNotFoundError(StackError):
    """A stack names a flavor that no installed package provides."""


class ArtifactError(ZenError):
    """An artifact cannot be written, found or read back."""


class Terminated(BaseException):
    """The step's process was told to stop (SIGTERM): the run is being stopped.

    Not an ``Exception``: it is not the step's failure, so nothing records it as one;
    the orchestrator that stopped the run closes the step's record.
    """


class StepFailedError(ZenError):
    """A step raised; carries the step id and its formatted traceback."""

    def __init__(self, step_id: str, message: str, traceback_text: str = "", record: object = None) -> None:
        super().__init__(f"step '{step_id}' failed: {message}")
        self.step_id = step_id
        self.traceback_text = traceback_text
        #: the failed StepRecord, as written to the store
        self.record = record


class RunFailedError(ZenError):
    """A pipeline run ended in a failed state."""

    def __init__(
        self, run_id: str, failed_steps: dict[str, str], tracebacks: dict[str, str] | None = None
    ) -> None:
        names = ", ".join(sorted(failed_steps)) or "(no step recorded a failure)"
        self.summary = f"run '{run_id}' failed; failed steps: {names}"
        super().__init__(self.summary)
        self.run_id = run_id
        self.failed_steps = failed_steps
        self.tracebacks = tracebacks or {}

    def __str__(self) -> str:
        # A script that lets this propagate shows each step's own traceback, not only zen's.
        parts = [self.summary]
        for step_id, tb in sorted(self.tracebacks.items()):
            if tb:
                tail = "\n".join(tb.rstrip().splitlines()[-40:])
                parts.append(f"--- step '{step_id}' ---\n{tail}")
        return "\n\n".join(parts)
