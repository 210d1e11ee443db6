"""A failing step: what is skipped, what still runs, and what the user is told."""

from __future__ import annotations

import pytest

from zen_core.errors import RunFailedError

PIPELINE = """
    import time

    from zen_core import pipeline, step


    @step
    def source() -> int:
        return 1


    @step
    def boom(x: int) -> int:
        raise ValueError(f"kaboom from boom (x={x})")


    @step
    def add_one(x: int) -> int:
        return x + 1


    @step
    def nap(x: int, seconds: float) -> int:
        time.sleep(seconds)
        return x


    @pipeline
    def branches() -> None:
        base = source()
        broken = boom(base)
        add_one(broken, id="child")
        add_one(add_one(broken, id="child_2"), id="grandchild")
        add_one(add_one(base, id="independent"), id="independent_tail")


    @pipeline
    def fail_fast_pipe() -> None:
        base = source()
        boom(base)  # fails at once
        slow = nap(base, seconds=0.5, id="slow")  # already running when boom fails
        add_one(slow, id="after_slow")  # not started yet when boom fails
        add_one(base, id="late")  # ready, but max_parallelism=2 keeps it waiting
"""


def _failed_run(local_stack, pipe, **run_options):
    with pytest.raises(RunFailedError) as info:
        pipe.run(**run_options)
    return info.value, local_stack.steps(info.value.run_id)


def test_failure_skips_dependents_and_finishes_independent_branches(local_stack):
    local_stack.configure(progress="off", mode="thread")
    mod = local_stack.module("failure_pipes", PIPELINE)
    error, steps = _failed_run(local_stack, mod.branches)

    assert set(error.failed_steps) == {"boom"}
    assert "kaboom from boom (x=1)" in error.failed_steps["boom"]
    assert steps["boom"].status == "failed"
    assert "ValueError: kaboom from boom (x=1)" in (steps["boom"].traceback or "")
    for skipped in ("child", "child_2", "grandchild"):  # direct and transitive dependents
        record = steps[skipped]
        assert record.status == "skipped", skipped
        assert "'boom'" in (record.skipped_because or ""), record
        assert record.started_at is None and not record.outputs  # never ran
    for done in ("source", "independent", "independent_tail"):
        assert steps[done].status == "completed", done
    assert local_stack.runs.read_run(error.run_id).status == "failed"


def test_fail_fast_skips_steps_not_started_and_lets_running_ones_finish(local_stack):
    local_stack.configure(progress="off", mode="thread", fail_fast=True, max_parallelism=2)
    mod = local_stack.module("failure_pipes_ff", PIPELINE)
    error, steps = _failed_run(local_stack, mod.fail_fast_pipe)

    assert set(error.failed_steps) == {"boom"}
    assert steps["boom"].status == "failed"
    assert steps["slow"].status == "completed"  # was running: finished on its own
    for skipped in ("after_slow", "late"):
        record = steps[skipped]
        assert record.status == "skipped", skipped
        assert "fail-fast" in (record.skipped_because or "")
        assert "'boom'" in (record.skipped_because or "")
        assert record.started_at is None
    assert local_stack.runs.read_run(error.run_id).status == "failed"


def test_without_fail_fast_the_same_pipeline_runs_every_independent_step(local_stack):
    local_stack.configure(progress="off", mode="thread", fail_fast=False, max_parallelism=2)
    mod = local_stack.module("failure_pipes_noff", PIPELINE)
    # (no cache: "late" and "after_slow" compute the same thing, one would reuse the other)
    _, steps = _failed_run(local_stack, mod.fail_fast_pipe, enable_cache=False)
    assert {s: r.status for s, r in steps.items()} == {
        "source": "completed",
        "boom": "failed",
        "slow": "completed",
        "after_slow": "completed",
        "late": "completed",
    }


def test_cli_run_of_a_failing_pipeline_exits_nonzero_and_shows_the_traceback(local_stack):
    local_stack.configure(mode="thread")  # progress "auto": not a terminal here
    local_stack.module("cli_failure", PIPELINE)
    proc = local_stack.zen("pipeline", "run", "cli_failure.py:branches")

    assert proc.returncode == 1, proc
    output = proc.stdout + proc.stderr
    assert "boom" in proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr
    assert "ValueError: kaboom from boom (x=1)" in proc.stderr
    assert "failed" in output
    # auto progress picked plain lines on a pipe, naming the failed and skipped steps
    assert "failed    boom" in proc.stdout
    assert "skipped   child" in proc.stdout
    run = local_stack.runs.list_runs()[0]
    assert run.status == "failed"
    assert run.run_id in output


def test_cli_failure_report_keeps_a_long_exception_message_on_one_line(local_stack):
    local_stack.configure(mode="thread", progress="off")
    local_stack.module(
        "cli_long_failure",
        """
        from zen_core import pipeline, step

        MESSAGE = " ".join(f"word{i}" for i in range(30))  # about 200 characters, one line


        @step
        def long_boom() -> int:
            raise ValueError(MESSAGE)


        @pipeline
        def pipe() -> None:
            long_boom()
        """,
    )
    proc = local_stack.zen("pipeline", "run", "cli_long_failure.py:pipe", COLUMNS=None)
    assert proc.returncode == 1
    message = " ".join(f"word{i}" for i in range(30))
    assert f"ValueError: {message}\n" in proc.stderr


EXIT_PIPELINE = """
    import sys

    from zen_core import pipeline, step


    @step
    def source() -> int:
        return 1


    @step
    def quitter(x: int) -> int:
        sys.exit(2)  # what argparse, click or a stray exit() do inside library code


    @step
    def after(x: int) -> int:
        return x


    @pipeline
    def exiting() -> None:
        base = source()
        after(quitter(base))
        after(base, id="independent")
"""


@pytest.mark.parametrize(
    "mode",
    [
        "thread",
        "process",
    ],
)
def test_sys_exit_in_a_step_fails_that_step_only(local_stack, mode):
    local_stack.configure(progress="off", mode=mode, max_parallelism=1)
    mod = local_stack.module(f"exit_pipes_{mode}", EXIT_PIPELINE)
    try:
        mod.exiting.run()
    except RunFailedError as exc:
        error = exc
    except SystemExit as exc:
        pytest.fail(f"a step's sys.exit({exc.code}) ended the whole run")
    else:
        pytest.fail("the run did not fail")
    steps = local_stack.steps(error.run_id)
    assert set(error.failed_steps) == {"quitter"}
    assert steps["quitter"].status == "failed"
    assert "2" in (steps["quitter"].error or "")  # the exit code
    assert steps["after"].status == "skipped"
    assert steps["independent"].status == "completed"
    assert local_stack.runs.read_run(error.run_id).status == "failed"
