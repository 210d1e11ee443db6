"""The orchestrator end to end against the fake API: client mode, cluster mode, schedules, checks."""

from __future__ import annotations

import os
from typing import Any

import pytest

from zen_core import plugins
from zen_core.errors import PipelineDefinitionError, RunFailedError, StackError
from zen_core.hookspecs import hookimpl
from zen_core.pipelines import pipeline
from zen_core.stacks import Stack
from zen_core.testing import pipelines as P
from zen_k8s import orchestrator_job, schedules
from zen_k8s.orchestrator import KubernetesOrchestrator, KubernetesRunError


@pytest.fixture
def use_fake(monkeypatch, fake_kube):
    """Every Kube the orchestrator or the orchestrator Job makes is the fake."""
    from zen_k8s.client import Kube

    monkeypatch.setattr(KubernetesOrchestrator, "kube", lambda self: fake_kube)
    monkeypatch.setattr(Kube, "connect", classmethod(lambda cls, **kw: fake_kube))
    monkeypatch.setattr("time.sleep", lambda s: None)
    return fake_kube


def run_orchestrator_pod(kube: Any, job: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """What the orchestrator Job's pod does: run the module with the downward-API env."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    monkeypatch.setenv("ZEN_K8S_JOB_NAME", job["metadata"]["name"])
    monkeypatch.setenv("ZEN_K8S_NAMESPACE", job["metadata"]["namespace"])
    code = orchestrator_job.main(container["command"][3:])
    job["status"] = {"conditions": [{"type": "Complete" if code == 0 else "Failed", "status": "True"}]}
    return code


# -- client mode ----------------------------------------------------------------------------


def test_client_mode_runs_the_pipeline_through_run_pipeline(k8s_env, use_fake):
    k8s_env.configure(image="registry.example/zen:1", mode="client", progress="off")
    result = P.diamond.run()
    assert result.status == "completed"
    assert result.load("combine") == 406
    run = k8s_env.runs.read_run(result.run_id)
    assert run.backend["mode"] == "client" and "client_pid" in run.backend
    assert all("ownerReferences" not in j["metadata"] for j in use_fake.jobs.values())
    assert all(j["spec"]["ttlSecondsAfterFinished"] == 86400 for j in use_fake.jobs.values())


def test_client_mode_failure_raises_run_failed(k8s_env, use_fake):
    k8s_env.configure(image="registry.example/zen:1", mode="client", progress="off")
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    assert set(info.value.failed_steps) == {"explode"}


# -- cluster mode ---------------------------------------------------------------------------


def test_detached_submission_then_the_orchestrator_pod_runs_the_dag(k8s_env, use_fake, monkeypatch):
    k8s_env.configure(image="registry.example/zen:1", wait=False, progress="off")
    result = P.linear_chain.run()
    assert result.status == "running"
    [job] = use_fake.jobs.values()
    assert job["metadata"]["labels"]["zen.dev/component"] == "orchestrator"
    run = k8s_env.runs.read_run(result.run_id)
    assert run.backend["orchestrator_job"] == job["metadata"]["name"]
    assert "client_pid" not in run.backend  # the run lives on without the client
    assert k8s_env.runs.store.exists(k8s_env.runs.store.key("runs", result.run_id, "kubernetes-plan.json"))

    assert run_orchestrator_pod(use_fake, job, monkeypatch) == 0
    run = k8s_env.runs.read_run(result.run_id)
    assert run.status == "completed" and run.finished_at is not None
    steps = [j for j in use_fake.jobs.values() if j["metadata"]["labels"]["zen.dev/component"] == "step"]
    assert len(steps) == 4
    for step_job in steps:
        [owner] = step_job["metadata"]["ownerReferences"]
        assert owner["name"] == job["metadata"]["name"] and owner["uid"] == job["metadata"]["uid"]
    assert result.load("multiply") == 6


def test_waiting_client_reports_the_outcome_the_orchestrator_recorded(k8s_env, use_fake, monkeypatch):
    k8s_env.configure(image="registry.example/zen:1", progress="off")
    original = use_fake.get_job

    def get_job(namespace: str, name: str) -> Any:
        job = original(namespace, name)
        if job and job["metadata"]["labels"]["zen.dev/component"] == "orchestrator" and not job["status"]:
            job["status"] = {"active": 1}
            run_orchestrator_pod(use_fake, job, monkeypatch)
        return job

    use_fake.get_job = get_job
    with pytest.raises(RunFailedError) as info:
        P.failing.run()
    run = k8s_env.runs.read_run(info.value.run_id)
    assert run.status == "failed"
    assert k8s_env.runs.read_step(run.run_id, "after_failure").status == "skipped"


def test_orchestrator_crash_is_reported_with_its_log(k8s_env, use_fake):
    k8s_env.configure(image="registry.example/zen:1", progress="off")
    original = use_fake.get_job

    def get_job(namespace: str, name: str) -> Any:
        job = original(namespace, name)
        if job and not job["status"]:
            job["status"] = {
                "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
            }
            pod = next(p for p in use_fake.pods.values() if p["metadata"]["labels"]["job-name"] == name)
            use_fake.logs[pod["metadata"]["name"]] = "Traceback ...\nImportError: no zen_k8s here"
        return job

    use_fake.get_job = get_job
    with pytest.raises(KubernetesRunError, match="no zen_k8s here"):
        P.linear_chain.run()


def test_stuck_orchestrator_pod_fails_the_run(k8s_env, use_fake):
    k8s_env.configure(image="nowhere/none:0", progress="off", pending_timeout=1)
    use_fake.stuck_images["nowhere/none:0"] = "ErrImagePull"
    with pytest.raises(KubernetesRunError, match="ErrImagePull"):
        P.linear_chain.run()
    assert use_fake.jobs == {}  # deleted


def test_stop_records_the_run_stopped_and_deletes_its_jobs(k8s_env, use_fake):
    k8s_env.configure(image="registry.example/zen:1", wait=False, progress="off")
    result = P.linear_chain.run()
    stack = Stack()
    stack.orchestrator.stop(k8s_env.runs.read_run(result.run_id), k8s_env.runs)
    assert use_fake.jobs == {}
    run = k8s_env.runs.read_run(result.run_id)
    assert run.status == "stopped"
    assert {r.status for r in k8s_env.runs.read_steps(result.run_id).values()} == {"skipped"}


def test_missing_orchestrator_service_account_is_reported_before_submitting(k8s_env, use_fake):
    use_fake.service_accounts = {"default"}
    with pytest.raises(StackError, match=r"service account 'zen-orchestrator'.*zen k8s rbac --apply"):
        P.linear_chain.run()
    assert use_fake.created == []


def test_orchestrator_job_without_a_pod_fails_the_run_with_the_event(k8s_env, use_fake):
    k8s_env.configure(image="registry.example/zen:1", progress="off", pending_timeout=0.05)
    use_fake.podless_images["registry.example/zen:1"] = "exceeded quota: compute-resources"
    with pytest.raises(KubernetesRunError, match=r"could not create its pod.*exceeded quota"):
        P.linear_chain.run()


# -- schedules ------------------------------------------------------------------------------


def test_schedule_create_list_trigger_delete(k8s_env, use_fake, monkeypatch):
    orch = Stack().orchestrator
    cj = schedules.create_schedule(
        orch, P.parameters, name="nightly", cron="0 3 * * *", parameters={"factor": 5}
    )
    assert cj["metadata"]["name"] == "zen-nightly"
    with pytest.raises(Exception, match="exists already"):
        schedules.create_schedule(orch, P.parameters, name="nightly", cron="0 3 * * *")
    schedules.create_schedule(
        orch, P.parameters, name="nightly", cron="0 3 * * *", parameters={"factor": 5}, replace=True
    )
    [row] = schedules.list_schedules(orch)
    assert (row["name"], row["schedule"], row["pipeline"]) == ("nightly", "0 3 * * *", "parameters")

    job_name = schedules.trigger_schedule(orch, "nightly")
    job = use_fake.jobs[job_name]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert run_orchestrator_pod(use_fake, job, monkeypatch) == 0
    [run] = k8s_env.runs.list_runs()
    assert run.run_id.startswith("nightly-") and run.status == "completed"
    assert run.parameters == {"start": 2, "factor": 5}
    assert run.backend["schedule"] == "nightly"
    steps = k8s_env.runs.read_steps(run.run_id)
    assert steps["multiply"].status == "completed"

    assert schedules.delete_schedule(orch, "nightly")
    assert use_fake.cron_jobs == {}
    assert not k8s_env.runs.store.exists("schedules/nightly")


def test_schedule_validation(k8s_env, use_fake):
    orch = Stack().orchestrator
    with pytest.raises(Exception, match="not a cron expression"):
        schedules.create_schedule(orch, P.diamond, name="x", cron="every day")
    with pytest.raises(Exception, match="schedule name"):
        schedules.create_schedule(orch, P.diamond, name="Bad_Name", cron="@daily")


# -- checks before submission ---------------------------------------------------------------


def test_a_local_store_not_declared_shared_is_refused_with_the_fix(k8s_env, use_fake):
    k8s_env.configure(shared=False, image="registry.example/zen:1")
    with pytest.raises(StackError) as info:
        P.diamond.run()
    message = str(info.value)
    assert "cannot see the local artifact store" in message
    assert "shared=true" in message and "fsspec" in message
    assert use_fake.created == []
    assert not k8s_env.store.exists() or k8s_env.runs.list_runs() == []


@pipeline(settings={"kubernetes": {"memory_limit": "lots"}})
def bad_settings() -> None:
    P.number(value=1)


def test_invalid_settings_fail_before_anything_is_stored(k8s_env, use_fake):
    with pytest.raises(PipelineDefinitionError, match="memory_limit"):
        bad_settings.run()
    assert use_fake.created == []


def test_no_image_builder_is_a_clear_error(k8s_env, use_fake):
    k8s_env.configure(progress="off")  # no prebuilt image
    pm = plugins.plugin_manager()
    for impl in pm.hook.zen_build_images.get_hookimpls():  # zen-docker, when installed
        pm.unregister(impl.plugin)
    with pytest.raises(StackError, match="pip install zen-docker"):
        P.diamond.run()


class _Builder:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def zen_build_images(self, spec: Any, stack: Any) -> dict[str, str]:
        self.calls += 1
        return {s.id: f"registry.example/built:{s.id}" for s in spec.steps}


def test_images_come_from_the_build_hook(k8s_env, use_fake):
    k8s_env.configure(wait=False, progress="off")
    builder = _Builder()
    pm = plugins.plugin_manager()
    pm.register(builder)
    try:
        result = P.diamond.run()
    finally:
        pm.unregister(builder)
    assert builder.calls == 1
    [job] = use_fake.jobs.values()
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/built:number"
    from zen_k8s.plan import read_run_plan

    plan = read_run_plan(k8s_env.runs.store, result.run_id)
    assert plan.images["combine"] == "registry.example/built:combine"


def test_config_errors_name_the_flavor_and_field(k8s_env):
    with pytest.raises(StackError, match=r"flavor 'kubernetes'.*wait"):
        k8s_env.configure(mode="client", wait=False)
    with pytest.raises(StackError, match="namespace"):
        k8s_env.configure(namespace="Not_A_Namespace")


def test_compile_native_prints_the_manifests(k8s_env):
    text, suffix = Stack().orchestrator.compile_native(P.diamond.compile())
    assert suffix == ".yaml"
    assert text.count("kind: Job") == 5
    assert "zen_k8s.orchestrator_job" in text and "registry.example/zen/step:1" in text
    assert os.fspath(k8s_env.store) in text
