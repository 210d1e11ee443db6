"""The launcher KFP runs in each container: inputs, attempts, runs KFP starts, the exit handler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from zen_core.artifacts.store import ArtifactStore
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.testing import pipelines as P
from zen_kubeflow import launcher
from zen_kubeflow.compiler import launcher_source, spec_json


def executor_input(values: dict[str, Any]) -> str:
    return json.dumps({"inputs": {"parameterValues": values}, "outputs": {"outputFile": "/dev/null"}})


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def client_run(store: str, pipe: Any, run_id: str, **params: Any) -> tuple[RunStore, Any]:
    """What the client does before submitting: store the spec and the run record."""
    runs = RunStore(ArtifactStore(store))
    spec = pipe.compile()
    runs.write_spec(run_id, spec)
    runs.write_run(RunRecord(run_id=run_id, pipeline=spec.name, spec_digest=spec.digest(), parameters=params))
    return runs, spec


def step(store: str, values: dict[str, Any], job_id: str = "job-1") -> int:
    return launcher.main(
        ["step", "--store", store, "--job-id", job_id, "--executor-input", executor_input(values)]
    )


def finalize(store: str, values: dict[str, Any], job_id: str = "job-1") -> int:
    return launcher.main(
        ["finalize", "--store", store, "--job-id", job_id, "--executor-input", executor_input(values)]
    )


def test_step_runs_with_typed_parameters_from_the_executor_input(store: str) -> None:
    runs, _ = client_run(store, P.parameters, "r1", start=2, factor=3)
    base = {"zen_run_id": "r1", "zen_spec": "", "start": 5, "factor": 4}
    for sid in ("number", "add", "multiply"):
        assert step(store, {**base, "zen_step": sid}) == 0
    rec = runs.read_step("r1", "multiply")
    assert rec is not None and rec.status == "completed" and rec.attempt == 1
    with open(rec.outputs["output"].uri) as f:
        assert json.load(f) == (5 + 10) * 4  # the values of this KFP run, not the client's


def test_attempt_follows_the_steps_own_records(store: str) -> None:
    runs, _ = client_run(store, P.retrying, "r2")
    values = {"zen_run_id": "r2", "zen_spec": ""}
    assert step(store, {**values, "zen_step": "number"}) == 0
    assert step(store, {**values, "zen_step": "flaky"}) == 1  # attempt 1 fails
    assert step(store, {**values, "zen_step": "flaky"}) == 1  # attempt 2 fails
    assert step(store, {**values, "zen_step": "flaky"}) == 0  # attempt 3 succeeds
    rec = runs.read_step("r2", "flaky")
    assert rec is not None and rec.status == "completed" and rec.attempt == 3


def test_a_run_kfp_started_itself_gets_its_own_zen_run(store: str) -> None:
    spec = P.linear_chain.compile()
    values = {"zen_run_id": "", "zen_spec": launcher.encode_spec(spec_json(spec))}
    for s in spec.steps:
        assert step(store, {**values, "zen_step": s.id}, job_id="8f0c-11") == 0
    runs = RunStore(ArtifactStore(store))
    run_id = launcher.backend_run_id("linear_chain", "8f0c-11")
    assert run_id == "linear-chain-kfp-8f0c-11"
    assert runs.read_spec(run_id) == spec
    assert runs.read_run(run_id).pipeline == "linear_chain"
    assert {r.status for r in runs.read_steps(run_id).values()} == {"completed"}


def test_step_without_step_input_is_a_usage_error(store: str) -> None:
    assert step(store, {"zen_run_id": "x"}) == 2


def test_missing_run_and_spec_is_reported_not_raised(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert step(store, {"zen_run_id": "", "zen_spec": "", "zen_step": "a"}) == 2
    assert "neither zen_run_id nor zen_spec" in capsys.readouterr().err


def test_finalize_records_skipped_steps_and_the_run_outcome(store: str) -> None:
    runs, _ = client_run(store, P.failing, "r3")
    values = {"zen_run_id": "r3", "zen_spec": ""}
    for sid in ("number", "explode", "independent"):
        step(store, {**values, "zen_step": sid})
    status = {"state": "FAILED", "error": {"code": 1, "message": "Task exit-handler-1 failed."}}
    assert finalize(store, {**values, "status": status}) == 0
    steps = runs.read_steps("r3")
    assert steps["explode"].status == "failed"
    assert steps["after_failure"].status == "skipped"
    assert steps["after_failure"].skipped_because == "upstream step 'explode' failed"
    # never started, though its upstream step succeeded (KFP's fail-fast)
    assert steps["independent_tail"].status == "skipped"
    assert "not started" in (steps["independent_tail"].skipped_because or "")
    run = runs.read_run("r3")
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == "failed steps: explode"
    # idempotent: a second pass (the client, after waiting) changes nothing
    before = {k: v.model_dump() for k, v in steps.items()}
    assert launcher.finalize_records(runs, runs.read_spec("r3"), "r3", "FAILED") == "failed"
    assert {k: v.model_dump() for k, v in runs.read_steps("r3").items()} == before


def test_finalize_marks_a_dead_attempt_failed_and_a_canceled_run_stopped(store: str) -> None:
    runs, spec = client_run(store, P.linear_chain, "r4")
    step(store, {"zen_run_id": "r4", "zen_spec": "", "zen_step": "number"})
    runs.write_step(StepRecord(run_id="r4", step_id="add", status="running", attempt=1, started_at=1.0))
    assert launcher.finalize_records(runs, spec, "r4", "CANCELED") == "stopped"
    steps = runs.read_steps("r4")
    assert steps["add"].status == "failed" and "stopped" in (steps["add"].error or "")
    assert steps["multiply"].skipped_because == "upstream step 'add_2' skipped"
    assert runs.read_run("r4").status == "stopped"


def test_finalize_keeps_a_run_the_client_already_finished(store: str) -> None:
    runs, spec = client_run(store, P.linear_chain, "r5")
    runs.write_run(runs.read_run("r5").model_copy(update={"status": "stopped"}))
    assert launcher.finalize_records(runs, spec, "r5", "SUCCEEDED") == "failed"
    assert runs.read_run("r5").status == "stopped"


def test_completed_run(store: str) -> None:
    runs, spec = client_run(store, P.linear_chain, "r6")
    for s in spec.steps:
        step(store, {"zen_run_id": "r6", "zen_spec": "", "zen_step": s.id})
    assert finalize(store, {"zen_run_id": "r6", "zen_spec": "", "status": {"state": "SUCCEEDED"}}) == 0
    assert runs.read_run("r6").status == "completed"


def test_embedded_launcher_runs_as_python_c(store: str, tmp_path: Path) -> None:
    """Exactly as the IR runs it: ``python -c <source> step ...``, in a fresh interpreter."""
    runs, spec = client_run(store, P.linear_chain, "r7")
    for s in spec.steps:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                launcher_source(),
                "step",
                "--store",
                store,
                "--job-id",
                "j",
                "--executor-input",
                executor_input({"zen_run_id": "r7", "zen_spec": "", "zen_step": s.id}),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
    assert runs.read_step("r7", "multiply").status == "completed"  # type: ignore[union-attr]


def test_launcher_imports_only_the_standard_library_and_zen_core() -> None:
    import ast

    tree = ast.parse(launcher_source())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules <= set(sys.stdlib_module_names) | {"zen_core"}, modules
