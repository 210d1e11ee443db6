"""Stuck-pod detection and Job outcomes from fake pod and Job statuses."""

from __future__ import annotations

from typing import Any

from zen_k8s.status import StuckTracker, job_state, pod_problem, termination_summary


def pod(
    phase: str = "Pending", waiting: str | None = None, message: str = "", **status: Any
) -> dict[str, Any]:
    st: dict[str, Any] = {"phase": phase, **status}
    if waiting:
        st["containerStatuses"] = [
            {"name": "step", "state": {"waiting": {"reason": waiting, "message": message}}}
        ]
    return {"metadata": {"name": "p-1", "uid": "u1"}, "status": st}


UNSCHEDULABLE = {
    "conditions": [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
        }
    ]
}


def test_pod_problems():
    assert pod_problem(pod(waiting="ErrImagePull", message="not found")) == ("ErrImagePull", "not found")
    assert pod_problem(pod(waiting="ImagePullBackOff"))[0] == "ImagePullBackOff"
    assert pod_problem(pod(waiting="CreateContainerConfigError", message='secret "x" not found'))[1] == (
        'secret "x" not found'
    )
    assert pod_problem(pod(**UNSCHEDULABLE))[0] == "Unschedulable"
    assert "node affinity" in pod_problem(pod(**UNSCHEDULABLE))[1]
    assert pod_problem(pod(waiting="ContainerCreating")) is None
    assert pod_problem(pod()) is None
    assert pod_problem(pod("Running")) is None


def test_init_container_problems_count():
    p = pod()
    p["status"]["initContainerStatuses"] = [
        {"name": "init", "state": {"waiting": {"reason": "ErrImagePull"}}}
    ]
    assert pod_problem(p)[0] == "ErrImagePull"


def test_tracker_fires_only_after_timeout_while_the_problem_lasts():
    t = StuckTracker()
    assert t.check(pod(waiting="ContainerCreating"), 0.0, 30) is None  # clock starts when first pending
    assert t.check(pod(waiting="ErrImagePull"), 10.0, 30) is None
    assert t.check(pod(waiting="ImagePullBackOff"), 29.0, 30) is None
    stuck = t.check(pod(waiting="ImagePullBackOff", message="back-off pulling"), 31.0, 30)
    assert stuck is not None and stuck.reason == "ImagePullBackOff" and stuck.waited == 31.0
    assert "stuck in ImagePullBackOff for 31s: back-off pulling" in stuck.describe()


def test_tracker_does_not_fire_on_a_plain_slow_start():
    t = StuckTracker()
    assert t.check(pod(waiting="ContainerCreating"), 0.0, 5) is None
    assert t.check(pod(waiting="ContainerCreating"), 100.0, 5) is None


def test_tracker_resets_when_the_pod_runs():
    t = StuckTracker()
    t.check(pod(waiting="ErrImagePull"), 0.0, 30)
    assert t.check(pod("Running"), 20.0, 30) is None
    assert t.check(pod(waiting="ErrImagePull"), 40.0, 30) is None  # pending again: a new clock


def test_unschedulable_past_timeout():
    t = StuckTracker()
    assert t.check(pod(**UNSCHEDULABLE), 0.0, 60) is None
    stuck = t.check(pod(**UNSCHEDULABLE), 61.0, 60)
    assert stuck is not None and "Unschedulable" in stuck.describe()


def test_fatal_reasons_fire_at_once():
    stuck = StuckTracker().check(pod(waiting="InvalidImageName", message="bad ref"), 0.0, 300)
    assert stuck is not None
    assert stuck.describe() == "pod p-1 cannot start: InvalidImageName: bad ref"


def test_job_states():
    assert job_state({"status": {}}).state == "active"
    assert (
        job_state({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}).state == "succeeded"
    )
    failed = job_state(
        {
            "status": {
                "conditions": [
                    {"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "m"}
                ]
            }
        }
    )
    assert (failed.state, failed.reason, failed.message) == ("failed", "DeadlineExceeded", "m")
    # interim conditions of newer Kubernetes are not final
    interim = {
        "status": {
            "conditions": [{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "False"}]
        }
    }
    assert job_state(interim).state == "active"


def test_termination_summary():
    p = {
        "status": {
            "phase": "Failed",
            "containerStatuses": [
                {"name": "step", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
            ],
        }
    }
    assert termination_summary(p, "step") == "OOMKilled (exit code 137)"
    assert termination_summary({"status": {"reason": "Evicted", "message": "low memory"}}, "step") == (
        "Evicted: low memory"
    )
    assert termination_summary({"status": {}}, "step") == ""
