"""The zen CLI, driven through click's runner in-process and as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zen_core.cli.main import cli

HERE = Path(__file__).parent


def zen(*args: str) -> str:
    """Invoke the CLI in-process; any exit code but 0 fails the test."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_flavor_list_shows_package_and_version(zen_home: Path) -> None:
    out = zen("orchestrator", "flavor", "list")
    assert "serial" in out and "zen-core-tests" in out
    out = zen("artifact-store", "flavor", "list")
    assert "local" in out and "fsspec" in out and "zen-core" in out and "0.1.0" in out


def test_component_and_stack_lifecycle(zen_home: Path, tmp_path: Path) -> None:
    zen("orchestrator", "register", "second", "--flavor", "serial")
    zen("artifact-store", "register", "alt", "-f", "local", "-c", f"path={tmp_path / 'alt'}")
    out = zen("orchestrator", "list")
    assert "second" in out and "serial" in out
    out = zen("orchestrator", "describe", "second", "--json")
    assert json.loads(out)["flavor"] == "serial"
    zen("stack", "register", "s2", "-o", "second", "-a", "alt", "--set")
    out = zen("stack", "describe", "--json")
    described = json.loads(out)
    assert described["name"] == "s2" and described["active"] is True
    assert {c["name"] for c in described["components"]} == {"second", "alt"}
    out = zen("stack", "list")
    assert "* " in out or "│ *" in out
    zen("stack", "set", "test")
    zen("stack", "delete", "s2")
    zen("orchestrator", "delete", "second")
    out = zen("orchestrator", "list")
    assert "second" not in out


def _run_cli(args: list[str], env_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZEN_CONFIG_DIR": str(env_home), "PYTHONPATH": str(HERE)}
    return subprocess.run(
        [sys.executable, "-m", "zen_core.cli.main", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_errors_are_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    proc = _run_cli(["orchestrator", "register", "k", "--flavor", "kubernetes"], tmp_path)
    assert proc.returncode == 1
    assert "pip install zen-k8s" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run_cli(["orchestrator", "register", "[x]", "--flavor", "local"], tmp_path)
    assert proc.returncode == 1 and "'[x]'" in proc.stderr  # brackets in messages are kept
    proc = _run_cli(["artifact-store", "register", "x", "-f", "fsspec", "-c", "url=nope"], tmp_path)
    assert proc.returncode == 1 and "url" in proc.stderr and "fsspec" in proc.stderr


def test_pipeline_run_without_the_local_flavor_says_what_to_install(tmp_path: Path) -> None:
    proc = _run_cli(["pipeline", "run", "sample_pipelines:squares"], tmp_path)
    if "zen-local" in proc.stdout + proc.stderr or proc.returncode != 0:
        # zen-core alone (its own test venv): the default stack's flavor is missing
        assert proc.returncode == 1
        assert "pip install zen-local" in proc.stderr
    else:  # pragma: no cover - a dev venv with zen-local installed
        assert "completed" in proc.stdout


def test_run_list_show_logs_and_dag(zen_home: Path) -> None:
    out = zen("pipeline", "run", "sample_pipelines:squares", "-p", "start=8")
    out = zen("run", "list", "--json")
    runs = json.loads(out)
    assert len(runs) == 1 and runs[0]["status"] == "completed" and runs[0]["parameters"] == {"start": 8}
    run_id = runs[0]["run_id"]
    out = zen("run", "show", run_id[:-3], "--json")  # a unique prefix is enough
    shown = json.loads(out)
    assert shown["steps"]["square"]["status"] == "completed"
    assert shown["steps"]["square"]["outputs"]["output"]["uri"].endswith(".json")
    out = zen("run", "show", "latest")
    assert "split_digits" in out and "completed" in out
    out = zen("run", "logs", "latest", "square")
    assert out == "squaring 8\n"
    from zen_core.errors import ZenError

    with pytest.raises(ZenError, match="has no step 'nope'"):
        zen("run", "logs", "latest", "nope")
    out = zen("pipeline", "dag", "sample_pipelines:squares")
    assert out.startswith("flowchart TD") and '"tens → x"' not in out and "ones → x" in out
    out = zen("pipeline", "dag", "sample_pipelines:squares", "--format", "dot", "--run", "latest")
    assert "digraph" in out and "completed" in out
    out = zen("pipeline", "compile", "sample_pipelines:squares")
    assert json.loads(out)["name"] == "squares"


def test_rerun_from_cli_is_cached_and_no_cache_switch(zen_home: Path) -> None:
    zen("pipeline", "run", "sample_pipelines:squares")
    zen("pipeline", "run", "sample_pipelines:squares")
    zen("pipeline", "run", "sample_pipelines:squares", "--no-cache")
    runs = json.loads(zen("run", "list", "--json"))
    statuses = []
    for r in runs:
        shown = json.loads(zen("run", "show", r["run_id"], "--json"))
        statuses.append({s["status"] for s in shown["steps"].values()})
    assert statuses == [{"completed"}, {"cached"}, {"completed"}]  # newest first


def test_failed_run_exits_1_with_step_and_traceback(tmp_path: Path) -> None:
    home = tmp_path / "cfg"
    # register the serial orchestrator through a plugin module on PYTHONPATH is not possible
    # without installing it, so this runs the failure path through the Python API instead
    code = (
        "import sys, serial_plugin as c, zen_core.plugins as p, zen_core.stacks as s\n"
        "p.plugin_manager().register(c.TestPlugin())\n"
        "m = s.StackManager(); m.register_component('orchestrator','serial','serial',{})\n"
        "m.register_stack('t', {'orchestrator':'serial','artifact_store':'default'})\n"
        "m.set_active('t'); m.save()\n"
        "from zen_core.cli.main import cli; from zen_core.cli._util import run_cli\n"
        "sys.argv=['zen','pipeline','run','sample_pipelines:failing']; sys.exit(run_cli(cli))\n"
    )
    env = {**os.environ, "ZEN_CONFIG_DIR": str(home), "PYTHONPATH": str(HERE)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=HERE, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert "step 'check' failed" in proc.stderr
    assert "ValueError: 25 is over the limit 10" in proc.stderr
    assert 'raise ValueError(f"{x} is over the limit {limit}")' in proc.stderr


def test_dag_svg_needs_output_and_graphviz(zen_home: Path, tmp_path: Path) -> None:
    import shutil

    if shutil.which("dot") is None:
        with pytest.raises(Exception, match="Graphviz"):
            CliRunner().invoke(
                cli,
                [
                    "pipeline",
                    "dag",
                    "sample_pipelines:squares",
                    "--format",
                    "svg",
                    "-o",
                    str(tmp_path / "d.svg"),
                ],
                catch_exceptions=False,
            )
        return
    zen("pipeline", "dag", "sample_pipelines:squares", "--format", "svg", "-o", str(tmp_path / "d.svg"))
    assert (tmp_path / "d.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_help_lists_plugin_commands(zen_home: Path) -> None:
    from zen_core import plugins
    from zen_core.hookspecs import hookimpl

    class CliPlugin:
        @hookimpl
        def zen_register_cli_commands(self, registrar: object) -> None:
            registrar.add("", "hello", "sample_cli:hello", "Say hello.")  # type: ignore[attr-defined]

    plugins.plugin_manager().register(CliPlugin(), name="cli-plugin")
    (Path(os.environ["ZEN_CONFIG_DIR"])).mkdir(exist_ok=True)
    root = CliRunner().invoke(cli, ["--help"])
    assert "hello" in root.output and "Say hello." in root.output
    assert CliRunner().invoke(cli, ["hello"]).output == "hello from a plugin\n"


def test_stop_and_native_compile_need_flavor_support(zen_home: Path) -> None:
    from zen_core.errors import ZenError
    from zen_core.records import RunRecord, RunStore
    from zen_core.stacks import Stack

    runs = RunStore(Stack().artifact_store)
    runs.write_run(RunRecord(run_id="r-live", pipeline="p", spec_digest="x", stack="test"))
    with pytest.raises(ZenError, match="'serial' orchestrator cannot stop runs"):
        zen("run", "stop", "r-live")
    assert runs.read_run("r-live").status == "running"  # nothing recorded when stop failed
    runs.write_run(RunRecord(run_id="r-done", pipeline="p", spec_digest="x", status="completed"))
    assert "already ended (completed)" in zen("run", "stop", "r-done")
    with pytest.raises(ZenError, match="no native pipeline format"):
        zen("pipeline", "compile", "sample_pipelines:squares", "--flavor", "serial")
    with pytest.raises(ZenError, match="pip install zen-kubeflow"):
        zen("pipeline", "compile", "sample_pipelines:squares", "--flavor", "kubeflow")
