"""The universal step entrypoint, run as its own process like every backend runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sample_pipelines as sp

from zen_core.artifacts.store import ArtifactStore
from zen_core.records import RunRecord, RunStore

HERE = Path(__file__).parent


def entrypoint(store: Path, run_id: str, step: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "zen_core.entrypoint",
            "--store",
            str(store),
            "--run-id",
            run_id,
            "--step",
            step,
            *extra,
        ],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )


def prepare(tmp_path: Path, start: int) -> tuple[Path, RunStore]:
    store = tmp_path / "store"
    runs = RunStore(ArtifactStore(str(store)))
    spec = sp.squares.compile()
    runs.write_spec("r1", spec)
    runs.write_run(
        RunRecord(run_id="r1", pipeline=spec.name, spec_digest=spec.digest(), parameters={"start": start})
    )
    return store, runs


def test_steps_run_from_spec_and_store_alone(tmp_path: Path) -> None:
    store, runs = prepare(tmp_path, start=6)
    for step in ("seed", "square", "split_digits", "fail_if"):
        proc = entrypoint(store, "r1", step)
        assert proc.returncode == 0, proc.stderr
        assert f"step '{step}' completed" in proc.stderr
    assert runs.read_step("r1", "split_digits").outputs["ones"].size == 1  # "6"
    assert runs.read_logs("r1", "square") == "squaring 6\n"
    again = entrypoint(store, "r1", "square")
    assert "cached" in again.stderr
    forced = entrypoint(store, "r1", "square", "--no-cache")
    assert "completed" in forced.stderr


def test_params_override_and_failure_exit_code(tmp_path: Path) -> None:
    store, runs = prepare(tmp_path, start=6)
    assert entrypoint(store, "r1", "seed", "--params", json.dumps({"start": 12})).returncode == 0
    assert entrypoint(store, "r1", "square").returncode == 0
    assert entrypoint(store, "r1", "split_digits").returncode == 0
    assert runs.read_step("r1", "split_digits").outputs["tens"] is not None
    proc = entrypoint(store, "r1", "fail_if", "--attempt", "2")
    assert proc.returncode == 0  # ones = 4 <= 100


def test_upstream_not_finished_fails_the_step(tmp_path: Path) -> None:
    store, runs = prepare(tmp_path, start=3)
    proc = entrypoint(store, "r1", "square")
    assert proc.returncode == 1
    rec = runs.read_step("r1", "square")
    assert rec is not None and rec.status == "failed"
    assert "upstream step 'seed' has not finished" in (rec.error or "")


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    store, _ = prepare(tmp_path, start=3)
    assert entrypoint(store, "r1", "no_such_step").returncode == 2
    assert entrypoint(store, "r1", "seed", "--spec", str(tmp_path / "missing.json")).returncode == 2


def test_run_unknown_to_the_store_is_recorded_on_first_sight(tmp_path: Path) -> None:
    store, runs = prepare(tmp_path, start=3)
    spec_uri = runs.store.uri("runs/r1/spec.json")
    proc = entrypoint(store, "scheduled-1", "seed", "--spec", spec_uri)
    assert proc.returncode == 0, proc.stderr
    assert runs.read_run("scheduled-1").pipeline == "squares"
    assert runs.read_run("scheduled-1").parameters == {"start": 3}  # the defaults it ran with
    assert runs.read_spec("scheduled-1") == sp.squares.compile()  # stored for later steps and `zen run show`
    assert entrypoint(store, "scheduled-1", "square").returncode == 0  # finds the spec without --spec
    assert runs.read_step("scheduled-1", "seed").status == "completed"


def test_sigterm_ends_the_step_process_at_once(tmp_path: Path) -> None:
    import signal
    import time

    store = tmp_path / "store"
    runs = RunStore(ArtifactStore(str(store)))
    spec = sp.napping.compile()
    runs.write_spec("r2", spec)
    runs.write_run(RunRecord(run_id="r2", pipeline=spec.name, spec_digest=spec.digest()))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zen_core.entrypoint",
            "--store",
            str(store),
            "--run-id",
            "r2",
            "--step",
            "nap",
        ],
        cwd=HERE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while (rec := runs.read_step("r2", "nap")) is None or rec.status != "running":
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 143  # at once, not after the 30 s nap
    rec = runs.read_step("r2", "nap")
    # not the step's failure: the orchestrator that stopped the run closes the record
    assert rec is not None and rec.status == "running"
