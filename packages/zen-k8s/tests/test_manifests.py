"""Golden tests of the generated manifests (tests/golden/*.yaml, reviewed like code).

Regenerate after an intended change with ``ZEN_UPDATE_GOLDEN=1 pytest tests/test_manifests.py``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from zen_core.spec import PipelineSpec
from zen_core.testing import pipelines as P
from zen_k8s import manifests
from zen_k8s.config import KubernetesOrchestratorConfig
from zen_k8s.plan import RunPlan

GOLDEN = Path(__file__).parent / "golden"
RUN_ID = "diamond-20260101-120000-a1b2c3"
STORE = "/srv/zen/store"

FULL_SETTINGS: dict[str, Any] = {
    "cpu_request": "500m",
    "cpu_limit": "2",
    "memory_request": "1Gi",
    "memory_limit": "4Gi",
    "gpus": 1,
    "node_selector": {"pool": "gpu"},
    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
                ]
            }
        }
    },
    "labels": {"team": "ml"},
    "annotations": {"example.com/owner": "ml-team"},
    "env": {"MODE": "train"},
    "secret_env": {"API_TOKEN": {"secret": "ml-secrets", "key": "token"}},
    "env_from_secrets": ["s3-credentials"],
    "volumes": [{"name": "scratch", "emptyDir": {"medium": "Memory"}}],
    "volume_mounts": [{"name": "scratch", "mountPath": "/scratch"}],
    "image_pull_secrets": ["regcred"],
    "service_account": "trainer",
    "active_deadline_seconds": 3600,
    "backoff_limit": 2,
    "ttl_seconds_after_finished": 600,
    "pod_spec_overrides": {
        "priorityClassName": "high",
        "containers": [{"name": "step", "securityContext": {"runAsNonRoot": True}}],
    },
}


def golden(name: str, objects: Any) -> None:
    text = yaml.safe_dump(objects, sort_keys=True, default_flow_style=False)
    path = GOLDEN / name
    if os.environ.get("ZEN_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with ZEN_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{name} differs from the golden file (ZEN_UPDATE_GOLDEN=1 to update)"


def plan(**config: Any) -> RunPlan:
    cfg = KubernetesOrchestratorConfig.model_validate(
        {"namespace": "ml", "image_pull_policy": "IfNotPresent", **config}
    )
    return RunPlan(
        store_url=STORE,
        host_path=STORE,
        namespace="ml",
        images={
            "number": "registry.example/zen:abc",
            "add": "registry.example/zen:abc",
            "multiply": "registry.example/zen:def",
            "combine": "registry.example/zen:abc",
        },
        orchestrator_image="registry.example/zen:abc",
        config=cfg,
    )


def with_step_settings(spec: PipelineSpec, step_id: str, settings: dict[str, Any]) -> PipelineSpec:
    steps = [
        s.model_copy(update={"settings": {"kubernetes": settings}}) if s.id == step_id else s
        for s in spec.steps
    ]
    return spec.model_copy(update={"steps": steps})


OWNER = {"metadata": {"name": "zen-diamond-20260101-120000-a1b2c3-0f3a9c1e", "uid": "1234-abcd"}}


def test_step_job_default_settings():
    spec = P.diamond.compile()
    golden("step_job.yaml", manifests.step_job(plan(), spec, RUN_ID, "add", 1, owner=OWNER))


def test_step_job_every_setting():
    spec = with_step_settings(P.diamond.compile(), "multiply", FULL_SETTINGS)
    golden("step_job_full.yaml", manifests.step_job(plan(), spec, RUN_ID, "multiply", 2, owner=OWNER))


def test_step_job_client_mode_no_cache_remote_store():
    p = plan(mode="client", ttl_seconds_after_finished=120).model_copy(
        update={"store_url": "s3://bucket/zen", "host_path": None, "enable_cache": False}
    )
    golden("step_job_client_mode.yaml", manifests.step_job(p, P.diamond.compile(), RUN_ID, "combine", 1))


def test_orchestrator_job():
    p = plan(
        run_timeout=7200,
        orchestrator_pod={
            "cpu_request": "100m",
            "memory_limit": "256Mi",
            "env": {"KUBERNETES_SERVICE_HOST": "127.0.0.1"},
            "pod_spec_overrides": {"hostNetwork": True},
        },
    )
    golden("orchestrator_job.yaml", manifests.orchestrator_job(p, P.diamond.compile(), RUN_ID))


def test_cron_job():
    body = manifests.cron_job(plan(), P.diamond.compile(), "nightly", "0 3 * * *", time_zone="Europe/Paris")
    golden("cronjob.yaml", body)


def test_rbac():
    golden("rbac.yaml", manifests.rbac("ml", "zen-orchestrator"))


def test_nothing_secret_in_annotations_or_labels():
    spec = with_step_settings(P.diamond.compile(), "multiply", FULL_SETTINGS)
    job = manifests.step_job(plan(), spec, RUN_ID, "multiply", 1)
    text = yaml.safe_dump(
        [job["metadata"]["labels"], job["metadata"]["annotations"], job["spec"]["template"]["metadata"]]
    )
    for value in ("train", "ml-secrets", "token", "s3-credentials", "API_TOKEN"):
        assert value not in text


def test_overrides_merge_named_items_and_replace_scalars():
    base = {"containers": [{"name": "step", "image": "a", "env": [{"name": "X", "value": "1"}]}], "x": 1}
    over = {
        "containers": [{"name": "step", "env": [{"name": "Y", "value": "2"}]}, {"name": "sidecar"}],
        "x": 2,
        "dnsPolicy": "Default",
    }
    merged = manifests.merge_overrides(base, over)
    assert merged["containers"][0]["image"] == "a"
    assert merged["containers"][0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert merged["containers"][1] == {"name": "sidecar"}
    assert merged["x"] == 2 and merged["dnsPolicy"] == "Default"
    assert base["x"] == 1  # inputs untouched


@pytest.mark.parametrize("attempt", [1, 7])
def test_step_job_names_are_unique_per_run_step_and_attempt(attempt):
    spec = P.diamond.compile()
    a = manifests.step_job(plan(), spec, RUN_ID, "add", attempt)["metadata"]["name"]
    b = manifests.step_job(plan(), spec, RUN_ID + "x", "add", attempt)["metadata"]["name"]
    c = manifests.step_job(plan(), spec, RUN_ID, "multiply", attempt)["metadata"]["name"]
    assert len({a, b, c}) == 3
    assert a.endswith(f"-a{attempt}")
