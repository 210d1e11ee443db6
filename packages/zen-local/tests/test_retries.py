"""Retries: the step's policy is applied by the local orchestrator, with delay and backoff.

Each attempt appends its number and start time to a file, so the waits between
attempts are measured from the attempts themselves.
"""

from __future__ import annotations

import pytest

from zen_core.errors import RunFailedError

PIPELINE = """
    import time

    from zen_core import pipeline, step, step_context


    def _note(path: str) -> int:
        attempt = step_context().attempt
        with open(path, "a") as f:
            f.write(f"{attempt} {time.time()!r}\\n")
        return attempt


    @step(retries=3, retry_delay=0.2, retry_backoff=2)
    def flaky(path: str, fail_times: int = 2) -> int:
        attempt = _note(path)
        if attempt <= fail_times:
            raise RuntimeError(f"failing on purpose at attempt {attempt}")
        return attempt


    @step(retries=2, retry_delay=0.05)
    def hopeless(path: str) -> int:
        attempt = _note(path)
        raise RuntimeError(f"always failing, attempt {attempt}")


    @step
    def after(x: int) -> int:
        return x


    @pipeline
    def flaky_pipeline(path: str) -> None:
        after(flaky(path=path))


    @pipeline
    def hopeless_pipeline(path: str) -> None:
        after(hopeless(path=path))
"""


def _attempts(path) -> list[tuple[int, float]]:
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(int(n), float(t)) for n, t in rows]


def test_retry_delay_and_backoff(local_stack, tmp_path):
    # thread mode: in process mode the gap between attempts also holds an interpreter
    # start-up, which would hide a missing delay (the conformance suite covers process retries)
    local_stack.configure(progress="off", mode="thread")
    mod = local_stack.module("retry_pipes", PIPELINE)
    log = tmp_path / "attempts.txt"
    result = mod.flaky_pipeline.run(path=str(log))

    assert result.status == "completed"
    record = result.steps["flaky"]
    assert record.status == "completed"
    assert record.attempt == 3
    assert record.error is None
    assert result.load("flaky") == 3
    # the output written by the successful attempt is the one recorded
    assert "/flaky/output/3/" in record.outputs["output"].uri
    assert result.steps["after"].status == "completed"

    attempts = _attempts(log)
    assert [n for n, _ in attempts] == [1, 2, 3]
    (_, t1), (_, t2), (_, t3) = attempts
    assert t2 - t1 >= 0.2  # retry_delay
    assert t3 - t2 >= 0.2 * 2  # retry_delay * retry_backoff


def test_retries_exhausted_fail_the_step_with_the_last_attempt(local_stack, tmp_path):
    local_stack.configure(progress="off", mode="thread")
    mod = local_stack.module("retry_pipes_hopeless", PIPELINE)
    log = tmp_path / "attempts.txt"
    with pytest.raises(RunFailedError) as info:
        mod.hopeless_pipeline.run(path=str(log))

    assert [n for n, _ in _attempts(log)] == [1, 2, 3]  # 1 + retries, no more
    steps = local_stack.steps(info.value.run_id)
    assert steps["hopeless"].status == "failed"
    assert steps["hopeless"].attempt == 3
    assert "always failing, attempt 3" in (steps["hopeless"].error or "")
    assert steps["after"].status == "skipped"
    assert local_stack.runs.read_run(info.value.run_id).status == "failed"
