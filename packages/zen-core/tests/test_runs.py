"""Runs end to end on a minimal orchestrator: records, caching, failures, hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sample_pipelines as sp

from zen_core.errors import RunFailedError
from zen_core.records import RunStore
from zen_core.stacks import Stack


def store() -> RunStore:
    return RunStore(Stack().artifact_store)


def test_run_records_outputs_and_parameters(zen_home: Path, events: list[Any]) -> None:
    result = sp.squares.run(start=7)
    assert result.status == "completed"
    assert result.load("split_digits", "tens") == 4 and result.load("split_digits", "ones") == 9
    run = store().read_run(result.run_id)
    assert run.parameters == {"start": 7}
    assert run.finished_at is not None and run.stack == "test"
    rec = result.steps["square"]
    assert rec.status == "completed" and rec.outputs["output"].materializer == "zen.json"
    assert store().read_logs(result.run_id, "square") == "squaring 7\n"
    assert ("run_started", result.run_id) in events and ("run_finished", "completed") in events
    assert ("step_finished", ("square", "completed")) in events


def test_cache_hits_misses_and_switches(zen_home: Path) -> None:
    first = sp.squares.run(start=3)
    second = sp.squares.run(start=3)
    assert {r.status for r in second.steps.values()} == {"cached"}
    assert second.steps["square"].cached_from == f"{first.run_id}/square"
    other = sp.squares.run(start=4)  # a different parameter changes every key downstream
    assert other.steps["seed"].status == "completed"
    nocache = sp.squares.run(start=3, enable_cache=False)
    assert {r.status for r in nocache.steps.values()} == {"completed"}


def test_cached_output_reused_only_while_it_exists(zen_home: Path) -> None:
    first = sp.squares.run(start=3)
    art = first.steps["square"].outputs["output"]
    Path(art.uri).unlink()
    second = sp.squares.run(start=3)
    assert second.steps["seed"].status == "cached"
    assert second.steps["square"].status == "completed"
    assert second.load("square") == 9


def test_failure_recorded_with_traceback_and_dependents(zen_home: Path, events: list[Any]) -> None:
    with pytest.raises(RunFailedError) as info:
        sp.failing.run(start=5)
    err = info.value
    assert err.failed_steps == {"check": "ValueError: 25 is over the limit 10"}
    assert "ValueError: 25 is over the limit 10" in err.tracebacks["check"]
    steps = store().read_steps(err.run_id)
    assert steps["check"].status == "failed" and steps["independent"].status == "completed"
    assert store().read_run(err.run_id).status == "failed"
    assert ("step_failed", ("check", "25 is over the limit 10")) in events  # the original exception


def test_a_failing_hook_does_not_break_the_run(zen_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    from zen_core import plugins
    from zen_core.hookspecs import hookimpl

    class Broken:
        @hookimpl
        def zen_step_finished(self) -> None:
            raise RuntimeError("notifier down")

    plugins.plugin_manager().register(Broken(), name="broken")
    assert sp.squares.run(start=2).status == "completed"
    assert "notifier down" in caplog.text


def test_records_are_plain_json_in_the_documented_layout(zen_home: Path) -> None:
    result = sp.squares.run(start=2)
    root = Path(Stack().artifact_store.url)
    run_dir = root / "runs" / result.run_id
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"
    assert json.loads((run_dir / "spec.json").read_text())["name"] == "squares"
    assert sorted(p.name for p in (run_dir / "steps").iterdir()) == [
        "fail_if.json",
        "seed.json",
        "split_digits.json",
        "square.json",
    ]
    assert list(root.glob("**/*.tmp-*")) == []
    assert len(list((root / "cache").iterdir())) == 4


def test_json_outputs_are_read_back_as_the_input_annotation_says(zen_home: Path) -> None:
    from zen_core import pipeline, step

    @step
    def make() -> dict[int, tuple[int, int]]:
        return {1: (2, 3)}

    @step
    def check(value: dict[int, tuple[int, int]]) -> str:
        return repr(value)

    @pipeline
    def p() -> None:
        check(make())

    assert p.run().load("check") == "{1: (2, 3)}"
