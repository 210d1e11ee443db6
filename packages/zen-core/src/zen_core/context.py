"""What a running step can know about itself: ``zen_core.step_context()``."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from .errors import ZenError


@dataclass(frozen=True)
class StepContext:
    run_id: str
    step_id: str
    attempt: int
    store_url: str


_CURRENT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("zen_step", default=None)


def step_context() -> StepContext:
    """The context of the step calling this; raises outside a running step."""
    ctx = _CURRENT.get()
    if ctx is None:
        raise ZenError("step_context() is only available inside a running step")
    return ctx
