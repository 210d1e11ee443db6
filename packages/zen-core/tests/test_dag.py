"""The shared scheduling logic."""

from __future__ import annotations

from zen_core.dag import DagScheduler
from zen_core.pipelines import pipeline
from zen_core.steps import step


@step
def a() -> int:
    return 1


@step
def b(x: int) -> int:
    return x


@pipeline
def shape() -> None:
    root = a()
    left = b(root, id="left")
    b(left, id="left_tail")
    b(root, id="right")


def test_ready_steps_follow_dependencies() -> None:
    s = DagScheduler(shape.compile())
    assert s.take_ready() == ["a"]
    assert s.take_ready() == []
    assert s.finish("a", "completed") == []
    assert s.take_ready() == ["left", "right"]
    s.finish("left", "cached")
    assert s.take_ready() == ["left_tail"]
    s.finish("left_tail", "completed")
    s.finish("right", "completed")
    assert s.done and s.outcome() == "completed"


def test_failure_skips_only_dependents() -> None:
    s = DagScheduler(shape.compile())
    s.take_ready()
    s.finish("a", "completed")
    s.take_ready()
    assert s.finish("left", "failed") == ["left_tail"]
    assert "left" in s.skip_reason["left_tail"]
    assert not s.done  # right still running
    s.finish("right", "completed")
    assert s.done and s.outcome() == "failed"
    assert s.status == {"a": "completed", "left": "failed", "left_tail": "skipped", "right": "completed"}


def test_fail_fast_skips_everything_not_started() -> None:
    s = DagScheduler(shape.compile(), fail_fast=True)
    s.take_ready()
    assert s.finish("a", "failed") == ["left", "left_tail", "right"]
    assert s.done and s.take_ready() == []


def test_limit_on_ready_steps() -> None:
    s = DagScheduler(shape.compile())
    s.take_ready()
    s.finish("a", "completed")
    assert s.take_ready(limit=1) == ["left"]
    assert s.take_ready(limit=1) == ["right"]
