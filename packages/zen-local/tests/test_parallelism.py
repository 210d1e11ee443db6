"""Independent steps run at the same time, up to ``max_parallelism``.

Overlap and order are read from the step records' ``started_at``/``finished_at``,
never from how long the run took.
"""

from __future__ import annotations

import itertools

from zen_core.records import StepRecord

PIPELINE = """
    import time

    from zen_core import collect, pipeline, step


    @step
    def nap(value: int, seconds: float = 1.0) -> int:
        time.sleep(seconds)
        return value


    @step
    def join(values: list[int]) -> int:
        return sum(values)


    @pipeline
    def four_naps(seconds: float = 1.0) -> None:
        # distinct values: identical invocations would hit the cache when run one by one
        naps = [nap(value=i, seconds=seconds, id=f"nap_{i}") for i in range(4)]
        join(values=collect(naps))
"""

NAPS = [f"nap_{i}" for i in range(4)]


def _interval(record: StepRecord) -> tuple[float, float]:
    assert record.status == "completed", record
    assert record.started_at is not None and record.finished_at is not None
    return record.started_at, record.finished_at


def _run(local_stack, seconds=1.0, **config):
    local_stack.configure(progress="off", **config)
    mod = local_stack.module("parallel_pipes", PIPELINE)
    result = mod.four_naps.run(seconds=seconds)
    assert result.status == "completed"
    assert result.load("join") == 0 + 1 + 2 + 3
    steps = result.steps
    intervals = [_interval(steps[s]) for s in NAPS]
    join_start, _ = _interval(steps["join"])
    # the join starts only once every input is finished, whatever the mode
    assert join_start >= max(end for _, end in intervals)
    return intervals


def test_independent_steps_overlap_in_threads(local_stack):
    intervals = _run(local_stack, mode="thread", max_parallelism=8)
    latest_start = max(start for start, _ in intervals)
    earliest_end = min(end for _, end in intervals)
    # all four were running at one same moment
    assert latest_start < earliest_end, intervals


def test_independent_steps_overlap_in_processes(local_stack):
    # Interpreter start-up skews process starts on a loaded machine, so instead of one
    # common moment this checks the steps did not run one after another: serial would
    # take the sum of their durations, parallel far less.
    intervals = _run(local_stack, mode="process", max_parallelism=8)
    span = max(end for _, end in intervals) - min(start for start, _ in intervals)
    total = sum(end - start for start, end in intervals)
    assert span < 0.6 * total, intervals


def test_max_parallelism_one_runs_steps_one_at_a_time(local_stack):
    # shorter naps: one at a time, the order of the intervals is what counts, not their length
    intervals = sorted(_run(local_stack, seconds=0.25, mode="thread", max_parallelism=1))
    for (_, previous_end), (start, _) in itertools.pairwise(intervals):
        assert start >= previous_end, intervals


def test_max_parallelism_two_never_runs_three_at_once(local_stack):
    local_stack.configure(progress="off", mode="thread", max_parallelism=2)
    mod = local_stack.module("parallel_two", PIPELINE)
    steps = mod.four_naps.run(seconds=0.4).steps
    intervals = [_interval(steps[s]) for s in NAPS]
    for start, _ in intervals:
        running = [s for s, e in intervals if s <= start < e]
        assert len(running) <= 2, intervals
    # and it did use both slots
    assert any(sum(1 for s, e in intervals if s <= start < e) == 2 for start, _ in intervals), intervals
