"""Each step's stdout, stderr and logging are captured apart, even in concurrent threads."""

from __future__ import annotations

import re

PIPELINE = """
    import logging
    import sys
    import threading
    import time

    from zen_core import pipeline, step

    # both steps must be inside their function at once before either prints
    _BOTH_RUNNING = threading.Barrier(2, timeout=10)
    logger = logging.getLogger("chatter")


    @step
    def chatter(name: str, lines: int) -> int:
        _BOTH_RUNNING.wait()
        for i in range(lines):
            print(f"{name} stdout {i}")
            print(f"{name} stderr {i}", file=sys.stderr)
            logger.info("%s log %d", name, i)
            time.sleep(0.002)
        return lines


    @pipeline
    def two_chatters(lines: int = 40) -> None:
        chatter(name="left", lines=lines, id="left")
        chatter(name="right", lines=lines, id="right")
"""

LINES = 40
NAMES = ("left", "right")


def test_concurrent_thread_steps_each_capture_only_their_own_output(local_stack, capfd):
    local_stack.configure(progress="plain", mode="thread", max_parallelism=2)
    mod = local_stack.module("log_pipes", PIPELINE)
    result = mod.two_chatters.run(lines=LINES)
    out, err = capfd.readouterr()

    steps = result.steps
    left, right = steps["left"], steps["right"]
    assert left.started_at < right.finished_at and right.started_at < left.finished_at  # overlapped

    for name in NAMES:
        other = "right" if name == "left" else "left"
        text = local_stack.runs.read_logs(result.run_id, name)
        assert other not in text, f"{other}'s output in {name}'s log"
        lines = text.splitlines()
        assert len(lines) == 3 * LINES
        for i in range(LINES):
            assert f"{name} stdout {i}" in lines
            assert f"{name} stderr {i}" in lines
            assert any(re.fullmatch(rf"\S+ INFO chatter: {name} log {i}", line) for line in lines), i
        # the order within one step is kept
        stdout_lines = [line for line in lines if " stdout " in line]
        assert stdout_lines == [f"{name} stdout {i}" for i in range(LINES)]

        # the live echo attributes every line to its own step
        echoed = [line for line in out.splitlines() if line.startswith(f"  [{name}] ")]
        assert len(echoed) == 3 * LINES
        assert all(other not in line for line in echoed)

    # nothing a step printed leaked to the real streams unlabelled
    for line in out.splitlines():
        if " stdout " in line or " stderr " in line or " log " in line:
            assert re.match(r"^  \[(left|right)\] ", line), line
    assert "stdout" not in err and "stderr" not in err and "chatter" not in err
