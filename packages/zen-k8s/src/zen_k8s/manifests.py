"""The Kubernetes objects zen creates, as plain dicts (golden-tested, no client needed).

* one **step Job** per step attempt: runs ``python -m zen_core.entrypoint``; owned by
  the run's orchestrator Job (cluster mode), so deleting that Job deletes them all;
* the **orchestrator Job**: runs ``python -m zen_k8s.orchestrator_job``, which walks
  the DAG in the cluster;
* a **CronJob** per schedule, whose Job template is the orchestrator Job's;
* the **RBAC** objects the orchestrator Job's service account needs.

Nothing secret goes into labels or annotations: they hold run, step and pipeline
names only. Environment values given in settings go into the pod spec, where
Kubernetes keeps them (use ``secret_env``/``env_from_secrets`` for secrets).
"""

from __future__ import annotations

import copy
from typing import Any

from zen_core.spec import PipelineSpec

from . import names as N
from .plan import RunPlan
from .settings import KubernetesSettings, settings_for_step

STEP_CONTAINER = "step"
ORCHESTRATOR_CONTAINER = "orchestrator"
STORE_VOLUME = "zen-artifact-store"
#: Exit codes of zen_core.entrypoint that mean "the step itself failed / bad arguments":
#: Kubernetes must not restart such a pod (zen's own retry policy applies instead).
ENTRYPOINT_FAILURE_CODES = [1, 2]


def merge_overrides(base: Any, override: Any) -> Any:
    """``override`` laid over ``base``: dicts merge key by key, lists of named objects
    merge item by item (new names are appended), anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge_overrides(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(override, list)
        and all(isinstance(i, dict) and "name" in i for i in base + override)
    ):
        merged = [copy.deepcopy(i) for i in base]
        index = {item["name"]: n for n, item in enumerate(merged)}
        for item in override:
            if item["name"] in index:
                merged[index[item["name"]]] = merge_overrides(merged[index[item["name"]]], item)
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(override)


def _resources(s: KubernetesSettings) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", s.cpu_request), ("memory", s.memory_request)) if v is not None}
    limits: dict[str, Any] = {
        k: v for k, v in (("cpu", s.cpu_limit), ("memory", s.memory_limit)) if v is not None
    }
    if s.gpus:
        limits[s.gpu_resource] = s.gpus
    out = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _env(s: KubernetesSettings, base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    env = list(base)
    taken = {e["name"] for e in env}
    for name, value in sorted(s.env.items()):
        if name not in taken:
            env.append({"name": name, "value": value})
    for name, ref in sorted(s.secret_env.items()):
        if name not in taken:
            key_ref: dict[str, Any] = {"name": ref.secret, "key": ref.key}
            if ref.optional:
                key_ref["optional"] = True
            env.append({"name": name, "valueFrom": {"secretKeyRef": key_ref}})
    return env


def _store_volume(plan: RunPlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if plan.host_path is None:
        return [], []
    volume = {"name": STORE_VOLUME, "hostPath": {"path": plan.host_path, "type": "DirectoryOrCreate"}}
    return [volume], [{"name": STORE_VOLUME, "mountPath": plan.host_path}]


def _container(
    name: str,
    image: str,
    command: list[str],
    s: KubernetesSettings,
    pull_policy: str,
    env: list[dict[str, Any]],
    mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": s.image_pull_policy or pull_policy,
        "command": command,
        "env": _env(s, env),
    }
    if s.env_from_secrets:
        container["envFrom"] = [{"secretRef": {"name": n}} for n in s.env_from_secrets]
    resources = _resources(s)
    if resources:
        container["resources"] = resources
    all_mounts = mounts + list(s.volume_mounts)
    if all_mounts:
        container["volumeMounts"] = all_mounts
    return container


def _pod_spec(
    s: KubernetesSettings,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    service_account: str | None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": "Never", "enableServiceLinks": False, "containers": [container]}
    if service_account:
        spec["serviceAccountName"] = service_account
    if s.node_selector:
        spec["nodeSelector"] = dict(s.node_selector)
    if s.tolerations:
        spec["tolerations"] = [t.manifest() for t in s.tolerations]
    if s.affinity:
        spec["affinity"] = copy.deepcopy(s.affinity)
    if s.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in s.image_pull_secrets]
    all_volumes = volumes + list(s.volumes)
    if all_volumes:
        spec["volumes"] = all_volumes
    if s.pod_spec_overrides:
        spec = merge_overrides(spec, s.pod_spec_overrides)
    return spec


def _metadata(
    name: str | None, namespace: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if name is not None:
        meta["name"] = name
    meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def run_labels(run_id: str, pipeline: str, component: str) -> dict[str, str]:
    return {
        N.MANAGED_BY: "zen",
        N.L_COMPONENT: component,
        N.L_PIPELINE: N.label_value(pipeline),
        N.L_RUN: N.label_value(run_id),
    }


def run_selector(run_id: str) -> str:
    """The label selector of every Job and pod of one run."""
    return f"{N.MANAGED_BY}=zen,{N.L_RUN}={N.label_value(run_id)}"


def owner_reference(job: dict[str, Any]) -> dict[str, Any]:
    """An ownerReference to ``job`` (an orchestrator Job as the API returned it)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": job["metadata"]["name"],
        "uid": job["metadata"]["uid"],
        "blockOwnerDeletion": True,
        "controller": False,
    }


def entrypoint_command(plan: RunPlan, run_id: str, step_id: str, attempt: int) -> list[str]:
    cmd = [
        "python",
        "-m",
        "zen_core.entrypoint",
        "--store",
        plan.store_url,
        "--run-id",
        run_id,
        "--step",
        step_id,
        "--attempt",
        str(attempt),
    ]
    if plan.enable_cache is False:
        cmd.append("--no-cache")
    return cmd


def step_image(plan: RunPlan, spec: PipelineSpec, step_id: str) -> str:
    s = settings_for_step(spec, step_id)
    return s.image or plan.images.get(step_id) or plan.orchestrator_image


def step_job(
    plan: RunPlan,
    spec: PipelineSpec,
    run_id: str,
    step_id: str,
    attempt: int,
    owner: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Job running one attempt of one step."""
    s = settings_for_step(spec, step_id)
    name = N.step_job_name(run_id, step_id, attempt)
    labels = {
        **s.labels,
        **run_labels(run_id, spec.name, "step"),
        N.L_STEP: N.label_value(step_id),
        N.L_ATTEMPT: str(attempt),
    }
    annotations = {**s.annotations, N.A_RUN_ID: run_id, N.A_STEP_ID: step_id}
    volumes, mounts = _store_volume(plan)
    container = _container(
        STEP_CONTAINER,
        step_image(plan, spec, step_id),
        entrypoint_command(plan, run_id, step_id, attempt),
        s,
        plan.config.image_pull_policy,
        [{"name": "PYTHONUNBUFFERED", "value": "1"}],
        mounts,
    )
    account = s.service_account or plan.config.step_service_account
    job_spec: dict[str, Any] = {"backoffLimit": s.backoff_limit}
    if s.backoff_limit:
        job_spec["podFailurePolicy"] = {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": STEP_CONTAINER,
                        "operator": "In",
                        "values": ENTRYPOINT_FAILURE_CODES,
                    },
                }
            ]
        }
    if s.active_deadline_seconds:
        job_spec["activeDeadlineSeconds"] = s.active_deadline_seconds
    ttl = s.ttl_seconds_after_finished
    if ttl is None and owner is None:
        ttl = plan.config.ttl_seconds_after_finished
    if ttl is not None:
        job_spec["ttlSecondsAfterFinished"] = ttl
    job_spec["template"] = {
        "metadata": {"labels": dict(labels), "annotations": dict(annotations)},
        "spec": _pod_spec(s, container, volumes, account),
    }
    metadata = _metadata(name, plan.namespace, labels, annotations)
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec}


# -- the orchestrator Job -----------------------------------------------------------


def _orchestrator_job_spec(plan: RunPlan, args: list[str], labels: dict[str, str]) -> dict[str, Any]:
    cfg = plan.config
    s = cfg.orchestrator_pod
    volumes, mounts = _store_volume(plan)
    env: list[dict[str, Any]] = [
        {"name": "PYTHONUNBUFFERED", "value": "1"},
        # the Job's own name and namespace, to own the step Jobs it creates
        {"name": "ZEN_K8S_JOB_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['job-name']"}}},
        {"name": "ZEN_K8S_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    container = _container(
        ORCHESTRATOR_CONTAINER,
        plan.orchestrator_image,
        ["python", "-m", "zen_k8s.orchestrator_job", "--store", plan.store_url, *args],
        s,
        cfg.image_pull_policy,
        env,
        mounts,
    )
    spec: dict[str, Any] = {"backoffLimit": 0}
    if cfg.run_timeout:
        spec["activeDeadlineSeconds"] = cfg.run_timeout
    if cfg.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = cfg.ttl_seconds_after_finished
    pod_labels = {**s.labels, **labels}
    spec["template"] = {
        "metadata": {"labels": pod_labels, **({"annotations": dict(s.annotations)} if s.annotations else {})},
        "spec": _pod_spec(s, container, volumes, s.service_account or cfg.service_account),
    }
    return spec


def orchestrator_job(plan: RunPlan, spec: PipelineSpec, run_id: str) -> dict[str, Any]:
    """The Job that walks one run's DAG in the cluster."""
    labels = {**plan.config.orchestrator_pod.labels, **run_labels(run_id, spec.name, "orchestrator")}
    annotations = {
        **plan.config.orchestrator_pod.annotations,
        N.A_RUN_ID: run_id,
        N.A_PIPELINE: spec.name,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(N.orchestrator_job_name(run_id), plan.namespace, labels, annotations),
        "spec": _orchestrator_job_spec(plan, ["--run-id", run_id], labels),
    }


def schedule_labels(name: str, pipeline: str) -> dict[str, str]:
    return {
        N.MANAGED_BY: "zen",
        N.L_COMPONENT: "schedule",
        N.L_PIPELINE: N.label_value(pipeline),
        N.L_SCHEDULE: name,
    }


def cron_job(
    plan: RunPlan,
    spec: PipelineSpec,
    name: str,
    cron: str,
    *,
    time_zone: str | None = None,
    concurrency_policy: str = "Forbid",
    history_limit: int = 3,
    starting_deadline_seconds: int | None = None,
) -> dict[str, Any]:
    """A CronJob starting one orchestrator Job (so one run) per tick."""
    labels = schedule_labels(name, spec.name)
    job_labels = {**labels, N.L_COMPONENT: "orchestrator"}
    annotations = {**plan.config.orchestrator_pod.annotations, N.A_SCHEDULE: name, N.A_PIPELINE: spec.name}
    cron_spec: dict[str, Any] = {
        "schedule": cron,
        "concurrencyPolicy": concurrency_policy,
        "successfulJobsHistoryLimit": history_limit,
        "failedJobsHistoryLimit": history_limit,
        "suspend": False,
    }
    if time_zone:
        cron_spec["timeZone"] = time_zone
    if starting_deadline_seconds is not None:
        cron_spec["startingDeadlineSeconds"] = starting_deadline_seconds
    cron_spec["jobTemplate"] = {
        "metadata": {"labels": dict(job_labels), "annotations": dict(annotations)},
        "spec": _orchestrator_job_spec(plan, ["--schedule", name], job_labels),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(N.cronjob_name(name), plan.namespace, labels, annotations),
        "spec": cron_spec,
    }


# -- RBAC ----------------------------------------------------------------------------


def rbac(namespace: str, service_account: str) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding the orchestrator Job runs with."""
    labels = {N.MANAGED_BY: "zen"}
    role = f"{service_account}-role" if len(service_account) < 250 else "zen-orchestrator-role"
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": service_account, "namespace": namespace, "labels": dict(labels)},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role, "namespace": namespace, "labels": dict(labels)},
            "rules": [
                {
                    "apiGroups": ["batch"],
                    "resources": ["jobs"],
                    "verbs": ["create", "get", "list", "watch", "delete", "deletecollection", "patch"],
                },
                # ownerReferences with blockOwnerDeletion need this where the
                # OwnerReferencesPermissionEnforcement admission plugin is on
                {"apiGroups": ["batch"], "resources": ["jobs/finalizers"], "verbs": ["update"]},
                {
                    "apiGroups": [""],
                    "resources": ["pods"],
                    "verbs": ["get", "list", "watch", "delete", "deletecollection"],
                },
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                # why a Job could not create its pod (a missing service account, a quota)
                {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": namespace, "labels": dict(labels)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
        },
    ]
