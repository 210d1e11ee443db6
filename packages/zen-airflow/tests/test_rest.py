"""Rest mode: deploy, trigger, wait or detach, against a stand-in Airflow API server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fake_server import FakeAirflow

from zen_airflow.rest import AirflowApi, AirflowApiError
from zen_core import plugins
from zen_core.errors import RunFailedError, StackError, ZenError
from zen_core.records import RunStore
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P

PASSWORD = "s3cret-pw"


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """A fake Airflow, and an active stack whose airflow orchestrator talks to it."""
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.delenv("ZEN_AIRFLOW_TOKEN", raising=False)
    monkeypatch.setenv("ZEN_AIRFLOW_USERNAME", "admin")
    monkeypatch.setenv("ZEN_AIRFLOW_PASSWORD", PASSWORD)
    plugins.reset()
    dags = tmp_path / "dags"
    with FakeAirflow(dags) as fake:

        def configure(**config):
            manager = StackManager()
            store = {"path": str(tmp_path / "store"), "shared": True}
            manager.register_component("artifact_store", "dep", "local", store, replace=True)
            base = {
                "mode": "rest",
                "api_url": fake.url,
                "dags_folder": str(dags),
                "poll_interval": 0.05,
                "parse_timeout": 5,
                "progress": "plain",
            }
            manager.register_component("orchestrator", "dep", "airflow", {**base, **config}, replace=True)
            manager.register_stack("dep", {"orchestrator": "dep", "artifact_store": "dep"}, replace=True)
            manager.set_active("dep")
            manager.save()

        configure()
        fake.configure = configure
        yield fake


def runs() -> RunStore:
    return RunStore(Stack().artifact_store)


def test_a_run_is_deployed_triggered_and_waited_for(deployment, capfd):
    result = P.parameters.run(start=5, factor=4)
    assert result.status == "completed"
    assert result.load("multiply") == (5 + 10) * 4

    dag = deployment.dags["parameters"]
    assert dag["is_paused"] is False  # unpaused before the trigger
    ((dag_id, airflow_run_id), run) = next(iter(deployment.runs.items()))
    assert (dag_id, airflow_run_id) == ("parameters", result.run_id)  # Airflow's run id is zen's
    assert run["conf"] == {"start": 5, "factor": 4, "zen_run_id": result.run_id}
    record = runs().read_run(result.run_id)
    assert record.backend["airflow"]["airflow_run_id"] == result.run_id
    assert record.backend["airflow"]["mode"] == "rest"
    # the password went only to the token endpoint, never into output
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err
    token_calls = [r for r in deployment.requests if r[1] == "/auth/token"]
    assert len(token_calls) == 1
    assert all(
        h.get("Authorization", "").startswith("Bearer ")
        for m, p, h in deployment.requests
        if p != "/auth/token"
    )


def test_failures_retries_and_skips_are_recorded(deployment):
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    steps = runs().read_steps(info.value.run_id)
    assert steps["explode"].status == "failed"
    assert steps["after_failure"].status == "skipped"
    assert "explode" in (steps["after_failure"].skipped_because or "")
    assert steps["independent_tail"].status == "completed"

    result = P.retrying.run()
    assert result.steps["flaky"].attempt == 3  # Airflow's try number is zen's attempt


def test_detach_returns_while_airflow_runs_and_stop_fails_the_run(deployment):
    deployment.configure(wait=False)
    result = P.ordering.run()
    assert result.status == "running"
    record = runs().read_run(result.run_id)
    assert record.status == "running"
    Stack().orchestrator.stop(record, runs())
    assert deployment.runs[("ordering", result.run_id)]["state"] == "failed"


def test_the_client_waits_until_airflow_parsed_this_version_of_the_dag(deployment):
    deployment.parse_after = 3
    assert P.linear_chain.run().status == "completed"
    gets = [p for m, p, h in deployment.requests if m == "GET" and p == "/api/v2/dags/linear_chain"]
    assert len(gets) == 4


def test_an_unparsed_dag_times_out_with_a_clear_error(deployment):
    deployment.configure(parse_timeout=0.3)
    deployment.parse = False
    with pytest.raises(
        ZenError, match=r"Airflow at http://127\.0\.0\.1:\d+ does not know the DAG 'linear_chain'"
    ):
        P.linear_chain.run()
    assert not deployment.runs


def test_an_old_version_of_the_dag_is_not_run(deployment):
    deployment.parse = False
    deployment.dags["linear_chain"] = {"dag_id": "linear_chain", "description": "zen pipeline (definition 0)"}
    deployment.configure(parse_timeout=0.3)
    with pytest.raises(ZenError, match="still has an older version of the DAG 'linear_chain'"):
        P.linear_chain.run()


def test_a_run_over_the_timeout_is_stopped(deployment):
    deployment.configure(timeout=0.5, unpause=False)  # a paused DAG's run stays queued
    started = time.monotonic()
    with pytest.raises(ZenError, match="took longer than the timeout"):
        P.linear_chain.run()
    assert time.monotonic() - started < 10
    (run,) = deployment.runs.values()
    assert run["state"] == "failed"


def test_bad_credentials_are_reported_without_the_password(deployment, monkeypatch):
    monkeypatch.setenv("ZEN_AIRFLOW_PASSWORD", "wrong-password-123")
    with pytest.raises(ZenError) as info:
        P.linear_chain.run()
    assert "POST /auth/token: HTTP 401: Invalid credentials" in str(info.value)
    assert "wrong-password-123" not in str(info.value)


def test_a_token_from_the_environment_is_used_as_is(deployment, monkeypatch):
    deployment.tokens.add("env-token")
    monkeypatch.setenv("ZEN_AIRFLOW_TOKEN", "env-token")
    monkeypatch.delenv("ZEN_AIRFLOW_USERNAME")
    assert P.linear_chain.run().status == "completed"
    assert not [r for r in deployment.requests if r[1] == "/auth/token"]


def test_an_expired_token_is_renewed(deployment):
    deployment.expire_tokens = True  # every token works once
    assert P.linear_chain.run().status == "completed"
    assert len([r for r in deployment.requests if r[1] == "/auth/token"]) > 1


def test_a_local_store_is_refused_unless_shared(deployment, tmp_path):
    manager = StackManager()
    manager.register_component("artifact_store", "dep", "local", {"path": str(tmp_path / "s2")}, replace=True)
    manager.save()
    with pytest.raises(
        StackError, match="is a folder on this machine, which the Airflow deployment's workers"
    ):
        P.linear_chain.run()
    assert not deployment.requests


def test_api_client_pages_quotes_and_hides_credentials(deployment):
    api = AirflowApi(deployment.url, username="admin", password=PASSWORD)
    assert PASSWORD not in repr(api)
    with pytest.raises(AirflowApiError) as info:
        api.dag_run("no/such dag", "r")
    assert info.value.status == 404
    assert any(p == "/api/v2/dags/no%2Fsuch%20dag/dagRuns/r" for m, p, h in deployment.requests)
    P.linear_chain.run()
    run_id = next(iter(deployment.runs))[1]
    assert len(api.task_instances("linear_chain", run_id)) == 4  # two pages of two
    unreachable = AirflowApi("http://127.0.0.1:9", timeout=2)
    with pytest.raises(AirflowApiError, match="cannot reach Airflow"):
        unreachable.get_dag("x")


def test_the_dag_files_are_in_the_dags_folder(deployment, tmp_path):
    P.linear_chain.run()
    names = sorted(p.name for p in Path(tmp_path / "dags").iterdir())
    assert names == ["zen_linear_chain.json", "zen_linear_chain.py", "zen_linear_chain.spec.json"]
    definition = json.loads((tmp_path / "dags" / "zen_linear_chain.json").read_text())
    assert definition["source_root"] is None  # rest mode: the DAG file's own folder on the worker
