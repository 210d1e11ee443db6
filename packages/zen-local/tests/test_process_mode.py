"""Process mode: each step runs in its own interpreter, isolated as on a remote backend."""

from __future__ import annotations

import pytest

from zen_core.errors import RunFailedError

CRASH_PIPELINE = """
    import os
    import sys

    from zen_core import pipeline, step


    @step
    def source() -> int:
        return 1


    @step
    def crash(x: int) -> int:
        print("last words before the crash", file=sys.stderr, flush=True)
        os._exit(3)  # no exception, no record: the process is simply gone


    @step
    def after(x: int) -> int:
        return x


    @pipeline
    def crashing() -> None:
        base = source()
        after(crash(base))
        after(base, id="independent")
"""

IMPORT_PIPELINE = """
    import helper_only_in_driver  # importable where the pipeline is defined, not where steps run

    from zen_core import pipeline, step


    @step
    def uses_helper() -> int:
        return helper_only_in_driver.VALUE


    @pipeline
    def needs_helper() -> None:
        uses_helper()
"""


@pytest.fixture(scope="module")
def crashed(tmp_path_factory, zen_tools):
    """One process-mode run whose step dies with os._exit(3), shared by the tests below."""
    with zen_tools.open_local_stack(tmp_path_factory.mktemp("crash")) as stack:
        stack.configure(progress="off", mode="process", max_parallelism=2)
        mod = stack.module("crash_pipes", CRASH_PIPELINE)
        with pytest.raises(RunFailedError) as info:
            mod.crashing.run()
        yield info.value, stack.steps(info.value.run_id), stack.runs


def test_hard_crash_of_a_step_process_fails_the_step_with_its_exit_code(crashed):
    error, steps, runs = crashed
    assert set(error.failed_steps) == {"crash"}
    record = steps["crash"]
    assert record.status == "failed"
    assert record.error is not None
    assert "exit" in record.error and "code 3" in record.error
    assert record.attempt == 1
    assert record.finished_at is not None
    assert steps["after"].status == "skipped"
    assert "'crash'" in (steps["after"].skipped_because or "")
    assert steps["independent"].status == "completed"  # the orchestrator itself survived
    assert runs.read_run(error.run_id).status == "failed"


def test_hard_crash_keeps_what_the_step_printed(crashed):
    _, steps, runs = crashed
    record = steps["crash"]
    logs = runs.read_logs(record.run_id, "crash") if record.logs_uri else ""
    assert "last words before the crash" in (record.traceback or "") + logs


def test_import_error_in_the_step_module_fails_the_step_with_the_import_error(
    local_stack, tmp_path, monkeypatch
):
    driver_only = tmp_path / "driver_only"
    driver_only.mkdir()
    (driver_only / "helper_only_in_driver.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(driver_only))  # this process only, not the step processes
    local_stack.configure(progress="off", mode="process")
    mod = local_stack.module("import_pipes", IMPORT_PIPELINE)
    assert mod.uses_helper.func() == 42  # fine where the pipeline is defined

    with pytest.raises(RunFailedError) as info:
        mod.needs_helper.run()
    record = local_stack.steps(info.value.run_id)["uses_helper"]
    assert record.status == "failed"
    traceback = record.traceback or ""
    assert "No module named 'helper_only_in_driver'" in traceback
    assert "ModuleNotFoundError" in traceback  # an ImportError, with its own text
    assert "import_pipes" in (record.error or "") + traceback  # names the step's module
