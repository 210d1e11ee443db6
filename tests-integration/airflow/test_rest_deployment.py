"""Rest mode against a real Airflow deployment on this machine.

The fixture starts Airflow's own services, as a deployment runs them: the API
server (on 127.0.0.1 only), the scheduler with the LocalExecutor, and the DAG
processor, all on one Airflow home with a SQLite DB, the simple auth manager
and a password the test chose. zen writes its DAG into the deployment's DAGs
folder, waits for the DAG processor to parse it, triggers a run through
``/api/v2`` with a token from ``/auth/token``, and waits for the scheduler to
run the tasks. Every service is stopped by its PID at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zen_core import plugins
from zen_core.errors import RunFailedError
from zen_core.records import RunStore
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P

START_TIMEOUT = 240  # seconds for the services to come up on a busy 2-core machine
PASSWORD = secrets.token_urlsafe(12)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _airflow() -> list[str]:
    found = shutil.which("airflow", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "airflow"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def deployment() -> Iterator[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="zen-airflow-deployment-"))
    port = _free_port()
    (home / "dags").mkdir()
    (home / "passwords.json").write_text(f'{{"admin": "{PASSWORD}"}}')
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "2",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    }
    subprocess.run([*_airflow(), "db", "migrate"], env=env, capture_output=True, check=True, timeout=300)
    procs = []
    logs = []
    try:
        for name, args in (
            ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port)]),
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
        ):
            log = (home / f"{name}.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [*_airflow(), *args],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            dead = [p.args for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                tails = {f.name: Path(f.name).read_text(errors="replace")[-2000:] for f in logs}
                pytest.fail(f"Airflow did not start (exited: {dead}):\n{tails}")
            time.sleep(2)
        yield {"url": url, "home": home, "env": env}
    finally:
        for proc in procs:
            _stop(proc)
        for log in logs:
            log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def rest_stack(deployment, tmp_path, monkeypatch) -> RunStore:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.setenv("ZEN_AIRFLOW_USERNAME", "admin")
    monkeypatch.setenv("ZEN_AIRFLOW_PASSWORD", PASSWORD)
    plugins.reset()
    manager = StackManager()
    # the deployment runs on this machine: its workers see the folder at the same path
    store = {"path": str(tmp_path / "store"), "shared": True}
    manager.register_component("artifact_store", "dep", "local", store)
    config = {
        "mode": "rest",
        "api_url": deployment["url"],
        "dags_folder": str(deployment["home"] / "dags"),
        "poll_interval": 1,
        "parse_timeout": 180,
        "timeout": 600,
        "progress": "plain",
    }
    manager.register_component("orchestrator", "dep", "airflow", config)
    manager.register_stack("dep", {"orchestrator": "dep", "artifact_store": "dep"})
    manager.set_active("dep")
    manager.save()
    return RunStore(Stack().artifact_store)


def test_a_pipeline_runs_on_the_deployment(rest_stack, capfd):
    result = P.parameters.run(start=5, factor=4)
    assert result.status == "completed"
    assert result.load("multiply") == (5 + 10) * 4
    record = rest_stack.read_run(result.run_id)
    assert record.backend["airflow"]["airflow_run_id"] == result.run_id
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err


def test_failures_retries_and_skips_on_the_deployment(rest_stack):
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    steps = rest_stack.read_steps(info.value.run_id)
    assert steps["explode"].status == "failed"
    assert steps["after_failure"].status == "skipped"
    assert steps["independent_tail"].status == "completed"

    result = P.retrying.run()
    assert result.steps["flaky"].status == "completed"
    assert result.steps["flaky"].attempt == 3


def test_a_detached_run_can_be_stopped(rest_stack):
    from zen_airflow.orchestrator import AirflowOrchestrator

    orchestrator = Stack().orchestrator
    assert isinstance(orchestrator, AirflowOrchestrator)
    orchestrator.config = orchestrator.config.model_copy(update={"wait": False})
    manager = StackManager()
    manager.register_component(
        "orchestrator", "dep", "airflow", orchestrator.config.model_dump(exclude_unset=True), replace=True
    )
    manager.save()
    result = P.ordering.run()
    assert result.status == "running"
    record = rest_stack.read_run(result.run_id)
    Stack().orchestrator.stop(record, rest_stack)
    api = orchestrator.api()
    assert api.dag_run("ordering", result.run_id)["state"] == "failed"
