"""A third-party plugin, installed like any other package, extends zen end to end.

``tests-integration/plugin-example`` (distribution ``zen-plugin-example``) reaches
zen only through the ``zen`` entry-point group. Installed into a fresh venv next to
zen-core and zen-local (from their source folders, not editable), it must show up
in ``zen orchestrator flavor list``, run real pipelines as the ``example_serial``
orchestrator, see every run and step through its lifecycle hooks, add a CLI
command, pass zen-core's orchestrator conformance suite, and leave a clear error
behind when it is uninstalled.
"""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

FLAVOR = "example_serial"
PLUGIN = "zen-plugin-example"

DEMO_PIPELINE = """
from zen_core import pipeline, step


@step
def load(n: int = 3) -> list[int]:
    print(f"loading {n} numbers")
    return list(range(n))


@step
def total(values: list[int]) -> int:
    return sum(values)


@step
def squares(values: list[int]) -> list[int]:
    return [v * v for v in values]


@step
def combine(a: int, b: list[int]) -> int:
    return a * 1000 + sum(b)


@pipeline
def demo(n: int = 4):
    data = load(n=n)
    combine(a=total(data), b=squares(data))
"""

FAILING_PIPELINE = """
from zen_core import pipeline, step, step_context


@step
def load() -> int:
    return 7


@step
def boom(x: int) -> int:
    raise ValueError(f"boom on purpose ({x})")


@step
def after_boom(x: int) -> int:
    return x + 1


@step(retries=1)
def flaky(x: int) -> int:
    if step_context().attempt == 1:
        raise RuntimeError("flaky first attempt")
    return x * 2


@pipeline
def failing():
    base = load()
    after_boom(boom(base))
    flaky(base)
"""

CONFORMANCE_MODULE = '''
"""zen-core's orchestrator conformance suite on the example plugin's flavor."""

from zen_core.testing.conformance import OrchestratorConformance


class TestExampleSerialConformance(OrchestratorConformance):
    orchestrator_flavor = "example_serial"

    def orchestrator_config(self, tmp_path):
        return {"quiet": True, "echo_logs": False}
'''


@pytest.fixture(scope="module")
def venv(
    tmp_path_factory: pytest.TempPathFactory, venv_factory: Any, repo_root: Path, plugin_example_dir: Path
) -> Any:
    """One venv for the module: zen-core[testing], zen-local and the plugin, from their folders."""
    packages = repo_root / "packages"
    return venv_factory(
        tmp_path_factory.mktemp("plugin-example") / "venv",
        f"{packages / 'zen-core'}[testing]",
        packages / "zen-local",
        plugin_example_dir,
    )


def use_serial_stack(venv: Any, config_dir: Path, **config: Any) -> None:
    """Register an ``example_serial`` orchestrator and make a stack with it the active one."""
    options = [arg for key, value in config.items() for arg in ("-c", f"{key}={json.dumps(value)}")]
    venv.zen("orchestrator", "register", "serial", "--flavor", FLAVOR, *options, config_dir=config_dir)
    venv.zen("stack", "register", "serial", "-o", "serial", "--set", config_dir=config_dir)


def run_show(venv: Any, run_id: str, config_dir: Path) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(
        venv.zen("run", "show", run_id, "--json", config_dir=config_dir).stdout
    )
    return shown


def load_output(venv: Any, run_id: str, step_id: str, config_dir: Path) -> Any:
    """A step's output read back through zen-core's API inside the venv."""
    code = textwrap.dedent(f"""
        import json
        from zen_core.records import RunStore
        from zen_core.run import RunResult
        from zen_core.stacks import Stack
        runs = RunStore(Stack().artifact_store)
        print(json.dumps(RunResult(run=runs.read_run({run_id!r}), runs=runs).load({step_id!r})))
    """)
    return venv.python_json(code, config_dir=config_dir)


def test_flavor_list_shows_the_plugin_flavor_and_its_package(venv: Any, tmp_path: Path) -> None:
    out = venv.zen("orchestrator", "flavor", "list", config_dir=tmp_path / "cfg").stdout
    rows = [line for line in out.splitlines() if re.search(rf"\b{FLAVOR}\b", line)]
    assert len(rows) == 1, out
    assert PLUGIN in rows[0] and "0.1.0" in rows[0], out
    assert re.search(r"\blocal\b.*\bzen-local\b", out), out  # the built-in flavor is still there

    described = venv.zen("orchestrator", "flavor", "describe", FLAVOR, config_dir=tmp_path / "cfg").stdout
    for field in ("fail_fast", "echo_logs", "quiet"):
        assert field in described, described


def test_pipeline_runs_serially_and_hooks_see_every_step(
    venv: Any, tmp_path: Path, events_reader: Any
) -> None:
    config_dir = tmp_path / "cfg"
    (tmp_path / "demo_pipeline.py").write_text(DEMO_PIPELINE)
    events_file = tmp_path / "events.jsonl"
    use_serial_stack(venv, config_dir)

    proc = venv.zen(
        "pipeline",
        "run",
        "demo_pipeline:demo",
        "-p",
        "n=5",
        config_dir=config_dir,
        cwd=tmp_path,
        env={"ZEN_EXAMPLE_EVENTS": str(events_file)},
    )
    events = events_reader(events_file)
    assert events, f"no events written\n{proc.stdout}\n{proc.stderr}"

    # the run: started first, finished last, one run id throughout
    assert [e["event"] for e in (events[0], events[-1])] == ["run_started", "run_finished"], events
    run_id = events[0]["run_id"]
    assert {e["run_id"] for e in events} == {run_id}
    assert events[0]["orchestrator"] == FLAVOR and events[0]["pipeline"] == "demo"
    assert events[-1]["status"] == "completed"
    step_ids = events[0]["steps"]
    assert sorted(step_ids) == ["combine", "load", "squares", "total"]

    # each step finished exactly once, in dependency order, one at a time
    finished = [e for e in events if e["event"] == "step_finished"]
    assert sorted(e["step_id"] for e in finished) == sorted(step_ids), events
    assert not [e for e in events if e["event"] == "step_failed"], events
    assert all(e["status"] == "completed" and e["attempt"] == 1 for e in finished), finished
    order = [e["step_id"] for e in finished]
    assert order[0] == "load" and order[-1] == "combine", order
    for before, after in itertools.pairwise(finished):
        assert after["started_at"] >= before["finished_at"], (before, after)  # never overlapping

    # the orchestrator's own output, and the run as zen recorded it
    assert f"[example_serial] run {run_id}: completed" in proc.stdout, proc.stdout
    assert "[load] loading 5 numbers" in proc.stdout, proc.stdout
    shown = run_show(venv, run_id, config_dir)
    assert shown["run"]["status"] == "completed" and shown["run"]["orchestrator"] == FLAVOR
    assert {sid: s["status"] for sid, s in shown["steps"].items()} == dict.fromkeys(step_ids, "completed")
    assert load_output(venv, run_id, "combine", config_dir) == 10 * 1000 + 30  # sum(0..4), sum squares

    # a second run is served from the cache; the hooks say so
    venv.zen(
        "pipeline",
        "run",
        "demo_pipeline:demo",
        "-p",
        "n=5",
        config_dir=config_dir,
        cwd=tmp_path,
        env={"ZEN_EXAMPLE_EVENTS": str(events_file)},
    )
    second = events_reader(events_file)[len(events) :]
    cached = {e["step_id"]: e["status"] for e in second if e["event"] == "step_finished"}
    assert cached == dict.fromkeys(step_ids, "cached"), second
    assert second[0]["run_id"] != run_id

    # without ZEN_EXAMPLE_EVENTS the hooks write nothing
    before = events_file.read_text()
    venv.zen("pipeline", "run", "demo_pipeline:demo", "--no-cache", config_dir=config_dir, cwd=tmp_path)
    assert events_file.read_text() == before


def test_failing_step_is_reported_and_the_run_exits_non_zero(
    venv: Any, tmp_path: Path, events_reader: Any
) -> None:
    config_dir = tmp_path / "cfg"
    (tmp_path / "failing_pipeline.py").write_text(FAILING_PIPELINE)
    events_file = tmp_path / "events.jsonl"
    use_serial_stack(venv, config_dir)

    proc = venv.zen(
        "pipeline",
        "run",
        "failing_pipeline:failing",
        config_dir=config_dir,
        cwd=tmp_path,
        env={"ZEN_EXAMPLE_EVENTS": str(events_file)},
        check=False,
    )
    assert proc.returncode != 0, proc.stdout
    assert "step 'boom' failed" in proc.stderr and "boom on purpose (7)" in proc.stderr, proc.stderr

    events = events_reader(events_file)
    run_id = events[0]["run_id"]
    assert {e["run_id"] for e in events} == {run_id}
    failed = [e for e in events if e["event"] == "step_failed"]
    # boom fails once (no retries); flaky's first attempt fails, then it succeeds
    assert [(e["step_id"], e["attempt"]) for e in failed] == [("boom", 1), ("flaky", 1)], failed
    assert failed[0]["error"] == "ValueError: boom on purpose (7)"
    assert failed[0]["status"] == "failed"
    finished = {e["step_id"]: (e["status"], e["attempt"]) for e in events if e["event"] == "step_finished"}
    assert finished == {"load": ("completed", 1), "flaky": ("completed", 2)}, events
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "failed"

    steps = run_show(venv, run_id, config_dir)["steps"]
    assert steps["boom"]["status"] == "failed"
    assert steps["after_boom"]["status"] == "skipped"
    assert "boom" in steps["after_boom"]["skipped_because"]
    assert steps["flaky"]["status"] == "completed" and steps["flaky"]["attempt"] == 2


def test_fail_fast_config_skips_independent_steps(venv: Any, tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    (tmp_path / "failing_pipeline.py").write_text(FAILING_PIPELINE)
    use_serial_stack(venv, config_dir, fail_fast=True, quiet=True)

    proc = venv.zen(
        "pipeline", "run", "failing_pipeline:failing", config_dir=config_dir, cwd=tmp_path, check=False
    )
    assert proc.returncode != 0
    assert "[example_serial]" not in proc.stdout  # quiet
    run_id = json.loads(venv.zen("run", "list", "--json", config_dir=config_dir).stdout)[0]["run_id"]
    steps = run_show(venv, run_id, config_dir)["steps"]
    assert {sid: s["status"] for sid, s in steps.items()} == {
        "load": "completed",
        "boom": "failed",
        "after_boom": "skipped",
        "flaky": "skipped",
    }


def test_invalid_config_names_the_flavor_and_field(venv: Any, tmp_path: Path) -> None:
    proc = venv.zen(
        "orchestrator",
        "register",
        "bad",
        "--flavor",
        FLAVOR,
        "-c",
        "no_such_field=1",
        config_dir=tmp_path / "cfg",
        check=False,
    )
    assert proc.returncode == 1
    assert f"invalid config for orchestrator flavor '{FLAVOR}'" in proc.stderr, proc.stderr
    assert "no_such_field" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_command_from_the_plugin(venv: Any, tmp_path: Path) -> None:
    out = venv.zen("example-hello", "--name", "tester", config_dir=tmp_path / "cfg").stdout
    assert out.strip() == (
        "Hello, tester! This is zen-plugin-example 0.1.0, providing orchestrator flavor 'example_serial'."
    )
    listed = venv.zen("--help", config_dir=tmp_path / "cfg").stdout
    assert re.search(r"example-hello\s+Say hello from zen-plugin-example\.", listed), listed


def test_conformance_suite_passes_on_example_serial(venv: Any, tmp_path: Path) -> None:
    (tmp_path / "test_example_conformance.py").write_text(CONFORMANCE_MODULE)
    proc = venv.run(
        [
            venv.python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "test_example_conformance.py",
        ],
        cwd=tmp_path,
        config_dir=tmp_path / "cfg",
        check=False,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    match = re.search(r"(\d+) passed", summary)
    assert match and int(match.group(1)) >= 10, proc.stdout
    assert not re.search(r"\d+ (failed|error|skipped)", summary), summary


def test_uninstalled_plugin_leaves_a_clear_error(
    tmp_path: Path, venv_factory: Any, repo_root: Path, plugin_example_dir: Path
) -> None:
    packages = repo_root / "packages"
    venv = venv_factory(tmp_path / "venv", packages / "zen-core", packages / "zen-local", plugin_example_dir)
    config_dir = tmp_path / "cfg"
    (tmp_path / "demo_pipeline.py").write_text(DEMO_PIPELINE)
    use_serial_stack(venv, config_dir)  # a stack that will outlive its flavor

    venv.uninstall(PLUGIN)
    assert "zen-plugin-example" not in venv.distributions()

    listed = venv.zen("orchestrator", "flavor", "list", config_dir=config_dir).stdout
    assert FLAVOR not in listed and "zen-local" in listed, listed

    proc = venv.zen("orchestrator", "register", "x", "--flavor", FLAVOR, config_dir=config_dir, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = " ".join(proc.stderr.split())  # undo rich's line wrapping
    assert f"orchestrator flavor '{FLAVOR}' is not installed" in err, err
    assert "Installed orchestrator flavors: local" in err, err
    assert "Traceback" not in proc.stderr
    stored = json.loads((config_dir / "stacks.json").read_text())
    assert "x" not in stored["components"]["orchestrator"]

    # the stack registered while the plugin was there now fails the same clear way
    proc = venv.zen("pipeline", "run", "demo_pipeline:demo", config_dir=config_dir, cwd=tmp_path, check=False)
    assert proc.returncode == 1
    err = " ".join(proc.stderr.split())
    assert f"orchestrator flavor '{FLAVOR}' is not installed" in err
    assert "pip install zen-plugin-example" in err, err  # the stack remembers the package
    assert "Traceback" not in proc.stderr

    proc = venv.zen("example-hello", config_dir=config_dir, check=False)
    assert proc.returncode != 0 and "No such command" in proc.stderr


BROKEN_PYPROJECT = """
[project]
name = "zen-plugin-broken"
version = "0.0.1"

[project.entry-points.zen]
broken = "zen_plugin_broken"

[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["zen_plugin_broken"]
"""


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(
    tmp_path: Path, venv_factory: Any, repo_root: Path
) -> None:
    project = tmp_path / "broken"
    (project / "zen_plugin_broken").mkdir(parents=True)
    (project / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (project / "zen_plugin_broken" / "__init__.py").write_text("import does_not_exist_anywhere\n")
    packages = repo_root / "packages"
    venv = venv_factory(tmp_path / "venv", packages / "zen-core", packages / "zen-local", project)
    config_dir = tmp_path / "cfg"
    proc = venv.zen("orchestrator", "flavor", "list", config_dir=config_dir)
    assert "local" in proc.stdout  # the other plugins still work
    err = " ".join(proc.stderr.split())
    assert "zen plugin 'broken' (package zen-plugin-broken) failed to load" in err, err
    assert "does_not_exist_anywhere" in err and "Traceback" not in proc.stderr
