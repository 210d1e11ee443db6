"""Progress output of the local orchestrator: plain lines, nothing, rich, and auto."""

from __future__ import annotations

import io
import re
import sys
import threading
import time

import pytest

from zen_core.errors import RunFailedError

PIPELINE = """
    from zen_core import pipeline, step, step_context


    @step
    def source() -> int:
        return 1


    @step
    def double(x: int) -> int:
        print(f"hello from double, x={x}")
        return 2 * x


    @step(retries=1)
    def flaky(x: int) -> int:
        if step_context().attempt == 1:
            raise RuntimeError("first attempt fails")
        return x


    @step
    def boom(x: int) -> int:
        raise ValueError("boom goes the step")


    @step
    def after(x: int) -> int:
        return x


    @pipeline
    def ok_pipe() -> None:
        double(source())


    @pipeline
    def bad_pipe() -> None:
        base = source()
        flaky(base)
        after(boom(base))
"""

EVENT = re.compile(r"^  ([a-z]+) +(\S+)(?: in \d+\.\d\ds)?(?: - (.*))?$")


def _events(text: str) -> list[tuple[str, str]]:
    return [m.group(1, 2) for m in map(EVENT.match, text.splitlines()) if m]


def _final_line(text: str, run_id: str, status: str) -> str:
    finals = [line for line in text.splitlines() if re.match(rf"^run {re.escape(run_id)} {status} in ", line)]
    assert len(finals) == 1, text
    return finals[0]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def pipes(local_stack):
    return local_stack.module("progress_pipes", PIPELINE)


def test_plain_prints_one_line_per_event(local_stack, pipes, capfd):
    local_stack.configure(progress="plain", mode="thread", max_parallelism=1)
    first = pipes.ok_pipe.run()
    out = capfd.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"run {first.run_id}: 2 steps"
    assert _events(out) == [
        ("running", "source"),
        ("done", "source"),
        ("running", "double"),
        ("done", "double"),
    ]
    assert "  [double] hello from double, x=1" in lines  # the step's output, echoed
    assert re.fullmatch(rf"run {first.run_id} completed in \d+\.\d\ds \(2 done\)", lines[-1])

    second = pipes.ok_pipe.run()
    out = capfd.readouterr().out
    assert _events(out) == [("cached", "source"), ("cached", "double")]
    assert "hello from double" not in out  # a cached step does not run
    assert _final_line(out, second.run_id, "completed").endswith("(2 cached)")


def test_plain_labels_failed_skipped_and_retrying_steps(local_stack, pipes, capfd):
    local_stack.configure(progress="plain", mode="thread", max_parallelism=1)
    with pytest.raises(RunFailedError) as info:
        pipes.bad_pipe.run()
    out = capfd.readouterr().out
    assert _events(out) == [
        ("running", "source"),
        ("done", "source"),
        ("running", "flaky"),
        ("retrying", "flaky"),
        ("running", "flaky"),
        ("done", "flaky"),
        ("running", "boom"),
        ("failed", "boom"),
        ("skipped", "after"),
    ]
    details = {m.group(1, 2): m.group(3) for m in map(EVENT.match, out.splitlines()) if m}
    assert "ValueError: boom goes the step" in details["failed", "boom"]
    assert "'boom'" in details["skipped", "after"]
    assert "first attempt fails" in details["retrying", "flaky"]
    final = _final_line(out, info.value.run_id, "failed")
    assert final.endswith("(2 done, 1 failed, 1 skipped)")


def test_plain_without_echo_logs_hides_step_output(local_stack, pipes, capfd):
    local_stack.configure(progress="plain", mode="thread", echo_logs=False)
    result = pipes.ok_pipe.run()
    out = capfd.readouterr().out
    assert ("done", "double") in _events(out)
    assert "hello from double" not in out
    # still captured for `zen run logs`
    assert "hello from double, x=1" in local_stack.runs.read_logs(result.run_id, "double")


def test_off_prints_nothing(local_stack, pipes, capfd):
    local_stack.configure(progress="off", mode="thread")
    pipes.ok_pipe.run()
    with pytest.raises(RunFailedError):
        pipes.bad_pipe.run()
    out, err = capfd.readouterr()
    assert out == ""
    for word in ("running", "done", "cached", "failed", "skipped", "hello from double"):
        assert word not in err


def test_auto_is_plain_when_stdout_is_not_a_terminal(local_stack, pipes, monkeypatch):
    stream = _Stream(tty=False)
    monkeypatch.setattr(sys, "__stdout__", stream)
    local_stack.configure(progress="auto", mode="thread")
    result = pipes.ok_pipe.run()
    out = stream.getvalue()
    assert ("running", "source") in _events(out)
    assert ("done", "double") in _events(out)
    _final_line(out, result.run_id, "completed")
    assert "\x1b[" not in out  # no terminal control codes


def test_auto_is_rich_on_a_terminal(local_stack, pipes, monkeypatch):
    stream = _Stream(tty=True)
    monkeypatch.setattr(sys, "__stdout__", stream)
    local_stack.configure(progress="auto", mode="thread")
    result = pipes.ok_pipe.run()
    out = stream.getvalue()
    assert _events(out) == []  # not the plain lines
    assert "\x1b[" in out  # a live table, drawn with control codes
    assert f"run {result.run_id} completed" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)


def test_rich_on_a_stream_that_is_not_a_terminal_shows_the_final_line(local_stack, pipes, monkeypatch):
    stream = _Stream(tty=False)
    monkeypatch.setattr(sys, "__stdout__", stream)
    local_stack.configure(progress="rich", mode="thread")
    result = pipes.ok_pipe.run()
    with pytest.raises(RunFailedError) as info:
        pipes.bad_pipe.run()
    out = stream.getvalue()
    assert f"run {result.run_id} completed" in out
    assert f"run {info.value.run_id} failed" in out
    for step_id in ("source", "double", "boom", "after"):
        assert step_id in out  # rows of the table


def test_process_mode_reports_cached_steps_without_a_running_line(local_stack, pipes, capfd):
    local_stack.configure(progress="plain", mode="process", max_parallelism=1)
    pipes.ok_pipe.run()
    capfd.readouterr()
    pipes.ok_pipe.run()
    out = capfd.readouterr().out
    assert _events(out) == [("cached", "source"), ("cached", "double")]


LIVE_PIPELINE = """
    import os
    import time

    from zen_core import pipeline, step


    @step
    def waiter(seconds: float = 2.0) -> bool:
        # says it waits, then waits for the test to answer after seeing that line
        print("waiting for go", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if os.path.exists("go"):
                return True
            time.sleep(0.02)
        return False


    @pipeline
    def live() -> None:
        waiter()
"""


@pytest.mark.parametrize(
    "mode",
    [
        "thread",
        "process",
    ],
)
def test_step_output_is_echoed_while_the_step_runs(local_stack, monkeypatch, mode):
    stream = _Stream(tty=False)
    monkeypatch.setattr(sys, "__stdout__", stream)
    local_stack.configure(progress="plain", mode=mode)
    mod = local_stack.module("live_pipes", LIVE_PIPELINE)
    results: list = []
    runner = threading.Thread(target=lambda: results.append(mod.live.run(enable_cache=False)))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and runner.is_alive():
            if "  [waiter] waiting for go" in stream.getvalue():
                (local_stack.root / "go").touch()
                break
            time.sleep(0.02)
    finally:
        runner.join(timeout=30)
    assert results, "the run did not finish"
    # the step saw the answer, so its line was shown while it was still running
    assert results[0].load("waiter") is True
