"""Kubernetes behaviours on a real cluster: failures, stuck pods, stopping, retries, concurrency, schedules.

Every test ends with nothing of zen still running in the namespace (the ``k8s``
fixture checks it after the test).
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import k8s_steps as S
import pytest

from zen_core.errors import RunFailedError
from zen_core.pipelines import pipeline
from zen_core.testing import pipelines as P
from zen_k8s import manifests, names


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(interval)


def step_jobs(k8s: Any, run_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for job in k8s.jobs(run_id):
        ann = job["metadata"].get("annotations") or {}
        if job["metadata"]["labels"].get(names.L_COMPONENT) == "step":
            out.setdefault(ann[names.A_STEP_ID], []).append(job)
    return out


@pipeline
def long_middle() -> None:
    S.sleepy(P.number(value=3), seconds=300, id="sleepy")
    P.add(P.number(value=4, id="other"), id="after_other")


@pipeline
def dies_without_recording() -> None:
    S.dies(P.number(value=1))


@pipeline
def killed_then_retried() -> None:
    S.dies_once(P.number(value=5))


# -- failures ---------------------------------------------------------------------------------------


def test_failing_step_fails_the_run_skips_dependents_and_shows_job_names(k8s):
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    run_id = info.value.run_id
    steps = k8s.runs.read_steps(run_id)
    assert steps["explode"].status == "failed"
    assert steps["after_failure"].status == "skipped"
    assert steps["independent_tail"].status == "completed"
    jobs = step_jobs(k8s, run_id)
    assert "after_failure" not in jobs  # never started
    [explode_job] = jobs["explode"]
    assert explode_job["status"].get("failed") == 1
    # step Jobs are owned by the run's orchestrator Job
    run = k8s.runs.read_run(run_id)
    owners = {o["name"] for js in jobs.values() for j in js for o in j["metadata"]["ownerReferences"]}
    assert owners == {run.backend["orchestrator_job"]}
    shown = k8s.zen("run", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"job={explode_job['metadata']['name']}" in shown.stdout
    assert run.status == "failed"


def test_unpullable_image_fails_the_step_with_the_reason_instead_of_hanging(k8s):
    registry = k8s.images.registry or "127.0.0.1:5000"
    k8s.configure(pending_timeout=15)
    missing = {"kubernetes": {"image": f"{registry}/zen-does-not-exist:nope", "image_pull_policy": "Always"}}

    @pipeline
    def bad_image() -> None:
        broken = P.add.with_options(settings=missing)(P.number(value=1), id="unpullable")
        P.multiply(broken, id="after_unpullable")
        P.add(P.number(value=2, id="fine"), id="fine_tail")

    t0 = time.monotonic()
    with pytest.raises(RunFailedError) as info:
        bad_image.run()
    took = time.monotonic() - t0
    steps = k8s.runs.read_steps(info.value.run_id)
    rec = steps["unpullable"]
    assert rec.status == "failed"
    assert "ErrImagePull" in rec.error or "ImagePullBackOff" in rec.error, rec.error
    assert "zen-does-not-exist" in rec.error
    assert rec.attempt == 1
    assert steps["after_unpullable"].status == "skipped"
    assert steps["fine_tail"].status == "completed"
    assert took < 15 + 90, f"took {took:.0f}s"
    assert "unpullable" not in step_jobs(k8s, info.value.run_id)  # its Job was deleted


def test_missing_secret_and_unschedulable_pods_fail_their_steps_with_the_reason(k8s):
    k8s.configure(pending_timeout=10)
    no_secret = {"kubernetes": {"secret_env": {"TOKEN": {"secret": "zen-it-missing", "key": "token"}}}}
    no_node = {"kubernetes": {"node_selector": {"zen.dev/no-such-pool": "gpu"}}}

    @pipeline
    def cannot_start() -> None:
        base = P.number(value=1)
        P.add.with_options(settings=no_secret)(base, id="needs_secret")
        P.add.with_options(settings=no_node)(base, id="needs_node")
        P.multiply(base, id="fine")

    with pytest.raises(RunFailedError) as info:
        cannot_start.run()
    steps = k8s.runs.read_steps(info.value.run_id)
    assert "CreateContainerConfigError" in steps["needs_secret"].error
    assert "zen-it-missing" in steps["needs_secret"].error
    assert "Unschedulable" in steps["needs_node"].error
    assert "node affinity/selector" in steps["needs_node"].error
    assert steps["fine"].status == "completed"


def test_process_dying_before_recording_keeps_its_pod_log(k8s):
    with pytest.raises(RunFailedError) as info:
        dies_without_recording.run()
    rec = k8s.runs.read_steps(info.value.run_id)["dies"]
    assert rec.status == "failed"
    assert "ended without recording an outcome" in rec.error and "exit code 3" in rec.error
    logs = k8s.zen("run", "logs", info.value.run_id, "dies")
    assert "dies: about to exit hard with input 1" in logs.stdout


def test_killed_step_is_retried_in_a_new_job_with_the_next_attempt(k8s):
    result = killed_then_retried.run()
    rec = result.steps["dies_once"]
    assert rec.status == "completed" and rec.attempt == 2
    assert result.load("dies_once") == 105
    jobs = sorted(j["metadata"]["name"] for j in step_jobs(k8s, result.run_id)["dies_once"])
    assert [j[-3:] for j in jobs] == ["-a1", "-a2"]
    assert rec.backend["job"] == jobs[1]


# -- stopping -------------------------------------------------------------------------------------------


def _start_detached(k8s: Any, pipe: Any) -> str:
    k8s.configure(wait=False)
    result = pipe.run()
    assert result.status == "running"
    return str(result.run_id)


def _sleepy_pod_running(k8s: Any, run_id: str) -> bool:
    for pod in k8s.pods(run_id):
        labels = pod["metadata"]["labels"]
        if labels.get(names.L_STEP) == "sleepy" and pod["status"].get("phase") == "Running":
            return True
    return False


def test_zen_run_stop_halfway_stops_everything(k8s):
    run_id = _start_detached(k8s, long_middle)
    wait_for(lambda: _sleepy_pod_running(k8s, run_id), 120, "the sleepy step's pod to run")
    t0 = time.monotonic()
    out = k8s.zen("run", "stop", run_id)
    assert out.returncode == 0, out.stderr
    k8s.assert_nothing_running(run_id, timeout=60)
    took = time.monotonic() - t0
    run = k8s.runs.read_run(run_id)
    assert run.status == "stopped"
    steps = k8s.runs.read_steps(run_id)
    assert steps["number"].status == "completed"
    # recorded by the step's own process on SIGTERM, or by the stop if the pod was gone first
    error = steps["sleepy"].error or ""
    assert steps["sleepy"].status == "failed" and ("stopped" in error or "SIGTERM" in error), error
    orchestrator = run.backend["orchestrator_job"]
    assert k8s.kube.get_job(k8s.namespace, orchestrator) is None
    assert not [j for j in step_jobs(k8s, run_id).get("sleepy", []) if not j["status"].get("succeeded")]
    assert took < 90


def test_deleting_the_orchestrator_job_stops_the_run(k8s):
    run_id = _start_detached(k8s, long_middle)
    wait_for(lambda: _sleepy_pod_running(k8s, run_id), 120, "the sleepy step's pod to run")
    orchestrator = k8s.runs.read_run(run_id).backend["orchestrator_job"]
    assert k8s.kube.delete_job(k8s.namespace, orchestrator)
    run = wait_for(
        lambda: (r := k8s.runs.read_run(run_id)).status != "running" and r,
        90,
        "the run to be recorded stopped",
    )
    assert run.status == "stopped"
    k8s.assert_nothing_running(run_id, timeout=90)
    assert k8s.runs.read_steps(run_id)["sleepy"].status == "failed"


# -- concurrency and modes -----------------------------------------------------------------------------------


def test_two_runs_of_the_same_pipeline_at_once(k8s):
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = P.diamond.run(enable_cache=False, run_name=f"twin{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors
    a, b = results[0], results[1]
    assert a.run_id != b.run_id
    assert a.status == b.status == "completed"
    assert a.load("combine") == b.load("combine") == 406
    jobs_a = {j["metadata"]["name"] for j in k8s.jobs(a.run_id)}
    jobs_b = {j["metadata"]["name"] for j in k8s.jobs(b.run_id)}
    assert len(jobs_a) == len(jobs_b) == 5 and not jobs_a & jobs_b
    # they really overlapped
    ra, rb = k8s.runs.read_run(a.run_id), k8s.runs.read_run(b.run_id)
    assert ra.created_at < rb.finished_at and rb.created_at < ra.finished_at


def test_client_mode_runs_the_dag_from_the_client(k8s):
    k8s.configure(mode="client")
    result = P.diamond.run(enable_cache=False)
    assert result.load("combine") == 406
    assert k8s.runs.read_run(result.run_id).backend["mode"] == "client"
    kinds = {j["metadata"]["labels"][names.L_COMPONENT] for j in k8s.jobs(result.run_id)}
    assert kinds == {"step"}  # no orchestrator Job
    with pytest.raises(RunFailedError):
        P.failing.run()


# -- schedules --------------------------------------------------------------------------------------------


def test_schedule_create_list_trigger_tick_delete(k8s):
    name = f"it-{secrets.token_hex(3)}"
    created = k8s.zen(
        "k8s", "schedule", "create", "zen_core.testing.pipelines:parameters",
        "--name", name, "--cron", "* * * * *", "-p", "factor=7", "--concurrency", "Allow",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = k8s.zen("k8s", "schedule", "list", "--json")
    assert name in listed.stdout and "* * * * *" in listed.stdout
    triggered = k8s.zen("k8s", "schedule", "trigger", name)
    assert triggered.returncode == 0, triggered.stderr

    def finished_runs() -> list[Any]:
        return [
            r for r in k8s.runs.list_runs() if r.backend.get("schedule") == name and r.status == "completed"
        ]

    # the manual run, then at least one run started by the CronJob itself (within a minute)
    runs = wait_for(lambda: len(finished_runs()) >= 2 and finished_runs(), 200, "two scheduled runs")
    for run in runs:
        assert run.parameters == {"start": 2, "factor": 7}
        steps = k8s.runs.read_steps(run.run_id)
        assert steps["multiply"].status in ("completed", "cached")  # later ticks hit the cache
    deleted = k8s.zen("k8s", "schedule", "delete", name)
    assert deleted.returncode == 0, deleted.stderr
    assert k8s.kube.get_cron_job(k8s.namespace, names.cronjob_name(name)) is None
    wait_for(
        lambda: not k8s.kube.list_jobs(k8s.namespace, f"{names.L_SCHEDULE}={name}"),
        120,
        "the schedule's Jobs to go",
    )


def test_rbac_objects_exist_for_the_orchestrator(k8s):
    role_name = manifests.rbac(k8s.namespace, "zen-orchestrator")[1]["metadata"]["name"]
    role = k8s.kube.rbac.read_namespaced_role(role_name, k8s.namespace)
    resources = {r for rule in role.rules for r in rule.resources}
    assert {"jobs", "pods", "pods/log"} <= resources
