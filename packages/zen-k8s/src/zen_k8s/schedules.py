"""Schedules: a CronJob per schedule, each tick starting one orchestrator Job (one run).

``create`` compiles the pipeline and builds its images once, stores the spec and
the launch plan in the artifact store (``schedules/<name>/``) and creates the
CronJob ``zen-<name>``; every tick then runs
``python -m zen_k8s.orchestrator_job --schedule <name>``, which records a new run
``<name>-<time>-<random>``. Deleting the schedule deletes the CronJob, the Jobs it
started (and so their step Jobs) and the stored plan; past runs stay recorded.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zen_core.errors import ZenError

from . import manifests
from . import names as N
from .plan import read_schedule, write_schedule

if TYPE_CHECKING:
    from zen_core.pipelines import Pipeline

    from .orchestrator import KubernetesOrchestrator

CONCURRENCY = ("Forbid", "Allow", "Replace")
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def validate_cron(cron: str) -> str:
    cron = " ".join(cron.split())
    if cron in _MACROS or (len(cron.split(" ")) == 5 and not cron.startswith("@")):
        return cron
    raise ZenError(
        f"schedule {cron!r} is not a cron expression: five fields (minute hour day-of-month month "
        f"day-of-week, e.g. '0 3 * * *') or one of {', '.join(sorted(_MACROS))}"
    )


def create_schedule(
    orchestrator: KubernetesOrchestrator,
    pipeline: Pipeline[Any, Any],
    *,
    name: str,
    cron: str,
    parameters: Mapping[str, Any] | None = None,
    enable_cache: bool | None = None,
    time_zone: str | None = None,
    concurrency_policy: str = "Forbid",
    replace: bool = False,
) -> dict[str, Any]:
    """Create (or with ``replace`` update) the CronJob of schedule ``name``; returns it."""
    N.validate_schedule_name(name)
    cron = validate_cron(cron)
    if concurrency_policy not in CONCURRENCY:
        raise ZenError(f"concurrency policy must be one of {', '.join(CONCURRENCY)}")
    spec = pipeline.compile()
    params = pipeline.resolve_parameters(dict(parameters or {}))
    orchestrator.validate(spec)
    kube = orchestrator.kube()
    ns = orchestrator.config.namespace
    existing = kube.get_cron_job(ns, N.cronjob_name(name))
    if existing is not None and not replace:
        raise ZenError(
            f"schedule '{name}' exists already (CronJob {ns}/{N.cronjob_name(name)}); pass --replace"
        )
    plan = orchestrator.make_plan(spec, enable_cache=enable_cache, schedule=name, parameters=params)
    store = orchestrator.stack.artifact_store
    write_schedule(store, name, plan, spec)
    body = manifests.cron_job(
        plan, spec, name, cron, time_zone=time_zone, concurrency_policy=concurrency_policy
    )
    if existing is not None:
        body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        return kube.replace_cron_job(ns, body)
    return kube.create_cron_job(ns, body)


def list_schedules(orchestrator: KubernetesOrchestrator) -> list[dict[str, Any]]:
    """One row per zen CronJob in the namespace: name, cron, pipeline, state, last tick."""
    kube = orchestrator.kube()
    ns = orchestrator.config.namespace
    rows = []
    for cj in kube.list_cron_jobs(ns, f"{N.MANAGED_BY}=zen,{N.L_COMPONENT}=schedule"):
        meta, spec, status = cj["metadata"], cj.get("spec") or {}, cj.get("status") or {}
        rows.append(
            {
                "name": (meta.get("labels") or {}).get(N.L_SCHEDULE, meta["name"]),
                "cronjob": meta["name"],
                "namespace": ns,
                "schedule": spec.get("schedule", ""),
                "time_zone": spec.get("timeZone") or "",
                "pipeline": (meta.get("annotations") or {}).get(N.A_PIPELINE, ""),
                "suspended": bool(spec.get("suspend")),
                "last_schedule": status.get("lastScheduleTime") or "",
                "active_runs": len(status.get("active") or []),
            }
        )
    return sorted(rows, key=lambda r: r["name"])


def delete_schedule(orchestrator: KubernetesOrchestrator, name: str) -> bool:
    """Delete the CronJob (its Jobs and their step Jobs go with it) and the stored plan."""
    N.validate_schedule_name(name)
    kube = orchestrator.kube()
    found = kube.delete_cron_job(orchestrator.config.namespace, N.cronjob_name(name))
    store = orchestrator.stack.artifact_store
    stored = store.exists(store.key("schedules", name))
    store.delete(store.key("schedules", name))
    return found or stored


def trigger_schedule(orchestrator: KubernetesOrchestrator, name: str) -> str:
    """Start one run of a schedule now (``kubectl create job --from=cronjob/...``); returns the Job."""
    N.validate_schedule_name(name)
    kube = orchestrator.kube()
    ns = orchestrator.config.namespace
    cj = kube.get_cron_job(ns, N.cronjob_name(name))
    if cj is None:
        raise ZenError(f"no schedule '{name}' (CronJob {ns}/{N.cronjob_name(name)})")
    read_schedule(orchestrator.stack.artifact_store, name)  # fails clearly if the plan is gone
    template = cj["spec"]["jobTemplate"]
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%H%M%S")
    job_name = f"{cj['metadata']['name']}-m{stamp}{secrets.token_hex(2)}"[: N.MAX_NAME].rstrip("-")
    metadata = dict(template.get("metadata") or {})
    metadata.update(
        {
            "name": job_name,
            "namespace": ns,
            "annotations": {
                **(metadata.get("annotations") or {}),
                "cronjob.kubernetes.io/instantiate": "manual",
            },
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": cj["metadata"]["name"],
                    "uid": cj["metadata"]["uid"],
                    "blockOwnerDeletion": True,
                    "controller": True,
                }
            ],
        }
    )
    kube.create_job(
        ns, {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": template["spec"]}
    )
    return job_name
