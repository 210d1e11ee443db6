"""Helpers orchestrators share: the retry loop and per-thread output capture."""

from __future__ import annotations

import sys
import threading

import pytest

from zen_core.execution import with_retries
from zen_core.logcapture import capture
from zen_core.records import StepRecord
from zen_core.spec import RetrySpec, StepSpec


def test_with_retries_follows_the_policy() -> None:
    step = StepSpec(
        id="s", name="s", source="m:s", code_hash="x", retry=RetrySpec(max_retries=3, delay=1.0, backoff=2.0)
    )
    waits: list[float] = []
    heard: list[tuple[int, float]] = []

    def attempt(n: int) -> StepRecord:
        return StepRecord(run_id="r", step_id="s", attempt=n, status="failed" if n < 3 else "completed")

    record = with_retries(step, attempt, on_retry=lambda n, rec, d: heard.append((n, d)), sleep=waits.append)
    assert record.status == "completed" and record.attempt == 3
    assert waits == [1.0, 2.0] and heard == [(1, 1.0), (2, 2.0)]

    always = with_retries(
        step, lambda n: StepRecord(run_id="r", step_id="s", attempt=n, status="failed"), sleep=waits.append
    )
    assert always.attempt == 4  # 1 + max_retries


def test_echo_that_prints_does_not_recurse(capsys: pytest.CaptureFixture[str]) -> None:
    with capture(echo=lambda line: print(f"echo: {line}")) as log:
        print("from the step")
    assert log.text() == "from the step\n"
    assert "echo: from the step" in capsys.readouterr().out


def test_threads_capture_only_their_own_output() -> None:
    texts: dict[int, str] = {}

    def work(i: int) -> None:
        with capture() as log:
            for k in range(200):
                print(f"thread {i} line {k}")
                sys.stdout.flush()
        texts[i] = log.text()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, text in texts.items():
        lines = text.splitlines()
        assert len(lines) == 200 and all(line.startswith(f"thread {i} ") for line in lines)
