"""A run killed (SIGKILL) or interrupted (Ctrl-C, SIGINT) in the middle.

``zen pipeline run`` runs in a subprocess of its own session; the test watches the
artifact store until steps 1 and 2 are recorded completed and step 3 is running,
then signals it. The store must stay readable, and a new run reuses what finished.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from zen_core.artifacts.store import ArtifactStore
from zen_core.records import CacheEntry, RunRecord, RunStore, StepRecord
from zen_core.spec import PipelineSpec

PIPELINE = """
    import os
    import time

    from zen_core import pipeline, step, step_context


    @step
    def step_1() -> int:
        return 1


    @step
    def step_2(x: int) -> int:
        return x + 1


    @step(retries=1)
    def step_3(x: int) -> int:
        with open("step_3_attempts.txt", "a") as f:
            f.write(f"{step_context().attempt}\\n")
        print("step_3 sleeping", flush=True)
        time.sleep(float(os.environ.get("STEP_3_SECONDS", "0")))
        return x + 1


    @pipeline
    def pipe() -> None:
        step_3(step_2(step_1()))
"""

STEPS = ("step_1", "step_2", "step_3")


def _start(starter, step_3_seconds: float) -> subprocess.Popen[bytes]:
    """``zen pipeline run`` in its own process group, as a terminal's foreground job."""
    return starter("pipeline", "run", "interrupt_pipe.py:pipe", STEP_3_SECONDS=str(step_3_seconds))


def _wait_for_step_3(proc: subprocess.Popen[bytes], runs: RunStore, timeout: float = 30) -> str:
    """Poll the store until steps 1-2 are completed and step 3 is running; the run id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "zen exited before step 3 started"
        for run_id in runs.store.list("runs"):
            steps = runs.read_steps(run_id)
            done = all(steps.get(s) and steps[s].status == "completed" for s in STEPS[:2])
            if done and steps.get("step_3") and steps["step_3"].status == "running":
                return run_id
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("steps 1-2 never completed with step 3 running")


def _check_store_is_readable(store_dir: Path, run_id: str) -> None:
    """Every record parses and every output a record names is a finished file."""
    run_dir = store_dir / "runs" / run_id
    RunRecord.model_validate_json((run_dir / "run.json").read_bytes())
    PipelineSpec.from_json((run_dir / "spec.json").read_bytes())
    steps = {}
    for path in (run_dir / "steps").iterdir():
        if path.suffix == ".json":
            record = StepRecord.model_validate_json(path.read_bytes())
            steps[record.step_id] = record
    records: list[StepRecord | CacheEntry] = list(steps.values())
    for path in (store_dir / "cache").iterdir():
        if path.suffix == ".json":
            entry = CacheEntry.model_validate_json(path.read_bytes())
            if entry.run_id == run_id:  # only a step recorded completed may be in the cache
                assert steps[entry.step_id].status == "completed", entry
            records.append(entry)
    for record in records:
        for output in record.outputs.values():
            assert ".tmp-" not in output.uri
            assert Path(output.uri).is_file(), output.uri
    # what the store API reads back is exactly the finished records, never a temporary file
    read_back = RunStore(ArtifactStore(str(store_dir))).read_steps(run_id)
    assert read_back == steps


def _cache_entries(store_dir: Path) -> list[CacheEntry]:
    return [CacheEntry.model_validate_json(p.read_bytes()) for p in (store_dir / "cache").glob("*.json")]


def _store_statuses(runs: RunStore, run_id: str) -> dict[str, str]:
    return {s: r.status for s, r in runs.read_steps(run_id).items()}


def test_sigkill_leaves_a_readable_store_and_the_next_run_reuses_finished_steps(local_stack):
    local_stack.configure(mode="thread", progress="plain")
    local_stack.write("interrupt_pipe", PIPELINE)
    runs = local_stack.runs
    proc = _start(local_stack.start_zen, step_3_seconds=60)
    try:
        killed_run = _wait_for_step_3(proc, runs)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()

    _check_store_is_readable(local_stack.store_dir, killed_run)
    statuses = _store_statuses(runs, killed_run)
    assert statuses["step_1"] == statuses["step_2"] == "completed"
    assert statuses.get("step_3", "absent") in ("running", "absent")
    assert not any(e.step_id == "step_3" for e in _cache_entries(local_stack.store_dir))
    assert runs.read_run(killed_run).status == "running"  # nobody was left to finish it

    again = local_stack.zen("pipeline", "run", "interrupt_pipe.py:pipe", STEP_3_SECONDS="0")
    assert again.returncode == 0, again.stderr
    new_run = next(r.run_id for r in runs.list_runs() if r.run_id != killed_run)
    steps = runs.read_steps(new_run)
    assert {s: r.status for s, r in steps.items()} == {
        "step_1": "cached",
        "step_2": "cached",
        "step_3": "completed",
    }
    assert steps["step_1"].cached_from == f"{killed_run}/step_1"
    assert steps["step_2"].cached_from == f"{killed_run}/step_2"
    assert runs.read_run(new_run).status == "completed"
    art = steps["step_3"].outputs["output"]
    assert json.loads(Path(art.uri).read_text()) == 3


# -- Ctrl-C ------------------------------------------------------------------------
STEP_3_SECONDS = 4.0


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory, zen_tools) -> dict:
    """One thread-mode run interrupted with SIGINT while step 3 sleeps, shared by the tests below."""
    root = tmp_path_factory.mktemp("sigint")
    config_dir, store_dir = root / "zen-config", root / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZEN_CONFIG_DIR", str(config_dir))  # where StackManager puts its defaults
        zen_tools.register_stack(config_dir, store_dir, mode="thread", progress="plain")
    zen_tools.write_module(root, "interrupt_pipe", PIPELINE)
    runs = RunStore(ArtifactStore(str(store_dir)))
    proc = _start(functools.partial(zen_tools.start_zen, root, config_dir), STEP_3_SECONDS)
    try:
        run_id = _wait_for_step_3(proc, runs)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        interrupted_at = time.monotonic()
        returncode = proc.wait(timeout=STEP_3_SECONDS + 30)
        exit_delay = time.monotonic() - interrupted_at
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return {
        "root": root,
        "config_dir": config_dir,
        "store_dir": store_dir,
        "runs": runs,
        "run_id": run_id,
        "returncode": returncode,
        "exit_delay": exit_delay,
        "stdout": (root / "zen.out").read_text(),
        "stderr": (root / "zen.err").read_text(),
    }


def test_ctrl_c_exits_130_records_the_run_stopped_and_the_next_run_reuses_finished_steps(
    interrupted, zen_tools
):
    runs: RunStore = interrupted["runs"]
    run_id = interrupted["run_id"]
    assert interrupted["returncode"] == 130, interrupted["stderr"]
    run = runs.read_run(run_id)
    assert run.status == "stopped"
    assert run.finished_at is not None
    assert f"run {run_id} stopped" in interrupted["stdout"]
    _check_store_is_readable(interrupted["store_dir"], run_id)
    statuses = _store_statuses(runs, run_id)
    assert statuses["step_1"] == statuses["step_2"] == "completed"

    again = subprocess.run(
        [*zen_tools.zen_command(), "pipeline", "run", "interrupt_pipe.py:pipe"],
        cwd=interrupted["root"],
        env=zen_tools.subprocess_env(interrupted["config_dir"], STEP_3_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    new_run = next(r.run_id for r in runs.list_runs() if r.run_id != run_id)
    statuses = _store_statuses(runs, new_run)
    assert statuses["step_1"] == statuses["step_2"] == "cached"
    assert statuses["step_3"] in ("completed", "cached")
    assert runs.read_run(new_run).status == "completed"


def test_ctrl_c_exits_without_waiting_for_the_running_step(interrupted):
    assert interrupted["returncode"] == 130
    assert interrupted["exit_delay"] < STEP_3_SECONDS / 2


def test_ctrl_c_tells_the_user_finished_steps_are_kept(interrupted):
    assert "Interrupted" in interrupted["stderr"]
    assert "reuse them from the cache" in interrupted["stderr"]


def test_ctrl_c_in_process_mode_does_not_retry_the_interrupted_step(local_stack):
    seconds = 3
    local_stack.configure(mode="process", progress="plain")
    local_stack.write("interrupt_pipe", PIPELINE)
    runs = local_stack.runs
    proc = _start(local_stack.start_zen, step_3_seconds=seconds)
    try:
        run_id = _wait_for_step_3(proc, runs)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=seconds + 30) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert runs.read_run(run_id).status == "stopped"
    attempts = (local_stack.root / "step_3_attempts.txt").read_text().split()
    assert attempts == ["1"]
