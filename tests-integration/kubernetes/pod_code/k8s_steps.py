"""Steps the Kubernetes integration tests run in pods, besides zen_core.testing.pipelines.

This folder is the code copied into the test image (the tests run with it as the
working directory), so pods import these steps by their source string.
"""

from __future__ import annotations

import os
import sys
import time

from zen_core import step


@step
def sleepy(value: int, seconds: float = 120.0) -> int:
    """Runs long enough to be stopped halfway."""
    print(f"sleepy: sleeping {seconds}s", flush=True)
    time.sleep(seconds)
    return value


@step(retries=0)
def dies(x: int) -> int:
    """The process ends before zen can record an outcome (like an OOM kill)."""
    print(f"dies: about to exit hard with input {x}", flush=True)
    sys.stdout.flush()
    os._exit(3)


@step(retries=2, retry_delay=0.5)
def dies_once(x: int) -> int:
    """Killed on its first attempt, fine on the next one."""
    from zen_core import step_context

    if step_context().attempt == 1:
        print("dies_once: first attempt, exiting hard", flush=True)
        os._exit(137)
    return x + 100
