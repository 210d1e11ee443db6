"""The DAG loop (RunLoop) against a fake API whose Jobs run the real entrypoint in-process."""

from __future__ import annotations

from typing import Any

from zen_core.testing import pipelines as P
from zen_k8s.runner import RunLoop


def loop(
    env: Any, kube: Any, clock: Any, spec: Any, run_id: str, owner: Any = None, **config: Any
) -> RunLoop:
    plan = env.make_plan(env.store, **config)
    return RunLoop(kube, plan, spec, env.runs, run_id, owner=owner, clock=clock, sleep=clock.sleep)


def test_linear_chain_completes_with_one_job_per_step_in_order(k8s_env, fake_kube, clock):
    spec = P.linear_chain.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r1")
    owner = {"metadata": {"name": "zen-r1-abc", "uid": "owner-uid"}}
    assert loop(k8s_env, fake_kube, clock, spec, "r1", owner=owner).run() == "completed"
    steps = k8s_env.runs.read_steps("r1")
    assert {s: r.status for s, r in steps.items()} == dict.fromkeys(
        ["number", "add", "add_2", "multiply"], "completed"
    )
    assert [j.split("-")[0] for j in fake_kube.created] == ["number", "add", "add", "multiply"]
    for sid, rec in steps.items():
        assert rec.backend["job"] in fake_kube.created
        assert rec.backend["namespace"] == "zen-test"
        assert rec.backend["pod"].startswith(rec.backend["job"])
        job = fake_kube.jobs[rec.backend["job"]]
        assert job["metadata"]["ownerReferences"][0]["uid"] == "owner-uid"
        assert job["metadata"]["annotations"]["zen.dev/step-id"] == sid
    out = steps["multiply"].outputs["output"]
    assert k8s_env.runs.store.read_bytes(k8s_env.runs.store.key_of_uri(out.uri)) == b"6"


def test_failed_step_skips_dependents_and_creates_no_job_for_them(k8s_env, fake_kube, clock):
    spec = P.failing.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r2")
    assert loop(k8s_env, fake_kube, clock, spec, "r2").run() == "failed"
    steps = k8s_env.runs.read_steps("r2")
    assert steps["explode"].status == "failed"
    assert "conformance failure on purpose" in steps["explode"].traceback
    assert steps["after_failure"].status == "skipped"
    assert "explode" in steps["after_failure"].skipped_because
    assert steps["independent_tail"].status == "completed"
    assert not any(name.startswith("after-failure") for name in fake_kube.created)


def test_retries_make_a_new_job_per_attempt_after_the_policy_delay(k8s_env, fake_kube, clock):
    spec = P.retrying.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r3")
    assert loop(k8s_env, fake_kube, clock, spec, "r3").run() == "completed"
    rec = k8s_env.runs.read_steps("r3")["flaky"]
    assert rec.status == "completed" and rec.attempt == 3
    flaky_jobs = [j for j in fake_kube.created if j.startswith("flaky")]
    assert [j[-3:] for j in flaky_jobs] == ["-a1", "-a2", "-a3"]
    assert rec.backend["job"] == flaky_jobs[-1]
    commands = [fake_kube.jobs[j]["spec"]["template"]["spec"]["containers"][0]["command"] for j in flaky_jobs]
    assert [c[c.index("--attempt") + 1] for c in commands] == ["1", "2", "3"]
    assert clock.slept >= 0.1 + 0.2  # retry_delay=0.1, backoff=2


def test_killed_attempt_is_retried_with_the_next_attempt_number(k8s_env, fake_kube, clock):
    spec = P.retrying.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r4")
    fake_kube.die[("flaky", 1)] = "OOMKilled"
    assert loop(k8s_env, fake_kube, clock, spec, "r4").run() == "completed"
    rec = k8s_env.runs.read_steps("r4")["flaky"]
    assert rec.attempt == 3 and rec.status == "completed"
    assert len([j for j in fake_kube.created if j.startswith("flaky")]) == 3


def test_killed_step_without_retries_records_oom_and_the_pod_log(k8s_env, fake_kube, clock):
    spec = P.logs.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r5")
    fake_kube.die[("chatty", 1)] = "OOMKilled"
    assert loop(k8s_env, fake_kube, clock, spec, "r5").run() == "failed"
    rec = k8s_env.runs.read_steps("r5")["chatty"]
    assert rec.status == "failed"
    assert "OOMKilled (exit code 137)" in rec.error
    assert "BackoffLimitExceeded" in rec.error
    assert rec.started_at == 1.0
    assert k8s_env.runs.read_logs("r5", "chatty") == "about to be killed: chatty\n"
    assert "about to be killed" in rec.traceback


def test_stuck_pod_fails_the_step_after_pending_timeout_and_its_job_is_deleted(k8s_env, fake_kube, clock):
    spec = P.diamond.compile()
    add = spec.step("add").model_copy(update={"settings": {"kubernetes": {"image": "nowhere/none:0"}}})
    spec = spec.model_copy(update={"steps": [add if s.id == "add" else s for s in spec.steps]})
    k8s_env.start_run(k8s_env.runs, spec, "r6")
    fake_kube.stuck_images["nowhere/none:0"] = "ImagePullBackOff"
    t0 = clock.now
    assert loop(k8s_env, fake_kube, clock, spec, "r6", pending_timeout=30).run() == "failed"
    steps = k8s_env.runs.read_steps("r6")
    assert steps["add"].status == "failed"
    assert "ImagePullBackOff" in steps["add"].error and "stuck" in steps["add"].error
    assert steps["add"].attempt == 1  # never retried
    assert steps["combine"].status == "skipped"
    assert steps["multiply"].status == "completed"
    assert steps["add"].backend["job"] in fake_kube.deleted
    assert 30 <= clock.now - t0 < 40


def test_fatal_waiting_reason_fails_at_once(k8s_env, fake_kube, clock):
    spec = P.linear_chain.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r7")
    fake_kube.stuck_images["registry.example/zen/step:1"] = "InvalidImageName"
    t0 = clock.now
    assert loop(k8s_env, fake_kube, clock, spec, "r7", pending_timeout=300).run() == "failed"
    assert clock.now - t0 < 5
    assert "cannot start: InvalidImageName" in k8s_env.runs.read_steps("r7")["number"].error


def test_parallelism_is_bounded(k8s_env, fake_kube, clock):
    spec = P.fan_out_fan_in.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r8")
    original = fake_kube._advance
    calls = {"n": 0}

    def slow_advance() -> None:  # let jobs pile up: only every third poll finishes them
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            original()

    fake_kube._advance = slow_advance
    assert loop(k8s_env, fake_kube, clock, spec, "r8", max_parallelism=2).run() == "completed"
    assert fake_kube.max_active == 2
    assert k8s_env.runs.read_steps("r8")["total"].status == "completed"


def test_run_recorded_stopped_deletes_jobs_and_closes_records(k8s_env, fake_kube, clock):
    spec = P.diamond.compile()
    run = k8s_env.start_run(k8s_env.runs, spec, "r9")
    fake_kube.stuck_images["registry.example/zen/step:1"] = "ContainerCreating-not-stuck"

    def stop_now(kube: Any) -> None:
        k8s_env.runs.write_run(run.model_copy(update={"status": "stopped"}))

    fake_kube.on_list = stop_now
    assert loop(k8s_env, fake_kube, clock, spec, "r9").run() == "stopped"
    assert fake_kube.jobs == {}
    steps = k8s_env.runs.read_steps("r9")
    assert {r.status for r in steps.values()} == {"skipped"}
    assert "stopped" in steps["combine"].skipped_because
    assert steps["number"].backend["job"] in fake_kube.deleted


def test_job_deleted_by_hand_fails_its_step(k8s_env, fake_kube, clock):
    spec = P.linear_chain.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r10")
    fake_kube.stuck_images["registry.example/zen/step:1"] = "Waiting"  # not a stuck reason: stays pending

    def delete_all(kube: Any) -> None:
        for name in list(kube.jobs):
            kube.delete_job("zen-test", name)

    fake_kube.on_list = delete_all
    assert loop(k8s_env, fake_kube, clock, spec, "r10").run() == "failed"
    steps = k8s_env.runs.read_steps("r10")
    assert "was deleted before the step recorded an outcome" in steps["number"].error
    assert steps["multiply"].status == "skipped"


def test_interrupt_cleans_up_and_reraises(k8s_env, fake_kube, clock):
    spec = P.linear_chain.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r11")

    def interrupt(kube: Any) -> None:
        raise KeyboardInterrupt

    fake_kube.on_list = interrupt
    try:
        loop(k8s_env, fake_kube, clock, spec, "r11").run()
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("KeyboardInterrupt was swallowed")
    assert fake_kube.jobs == {}
    assert k8s_env.runs.read_steps("r11")["number"].status == "skipped"


def test_job_that_cannot_create_its_pod_fails_with_the_event_message(k8s_env, fake_kube, clock):
    spec = P.linear_chain.compile()
    k8s_env.start_run(k8s_env.runs, spec, "r12")
    fake_kube.podless_images["registry.example/zen/step:1"] = (
        'pods "number-x" is forbidden: error looking up service account zen-test/trainer: '
        'serviceaccount "trainer" not found'
    )
    assert loop(k8s_env, fake_kube, clock, spec, "r12", pending_timeout=20).run() == "failed"
    rec = k8s_env.runs.read_steps("r12")["number"]
    assert "could not create a pod for 2" in rec.error
    assert 'FailedCreate: pods "number-x" is forbidden' in rec.error
    assert rec.backend["job"] in fake_kube.deleted
