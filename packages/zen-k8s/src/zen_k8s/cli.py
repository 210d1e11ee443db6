"""``zen k8s ...``: schedules (CronJobs) and the orchestrator's RBAC (``zen run stop`` stops runs).

Imported only when ``zen k8s`` is invoked; the kubernetes client only when a
command talks to the cluster.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .orchestrator import KubernetesOrchestrator


def _orchestrator(stack_name: str | None = None) -> KubernetesOrchestrator:
    from zen_core.errors import ZenError
    from zen_core.stacks import Stack

    stack = Stack(stack_name)
    model = stack.component_model("orchestrator")
    if model.flavor != "kubernetes":
        raise ZenError(
            f"stack '{stack.name}' has a '{model.flavor}' orchestrator, not a kubernetes one; "
            "pick a stack with --stack NAME (zen --stack NAME k8s ...)"
        )
    orch: KubernetesOrchestrator = stack.orchestrator
    return orch


def _yaml(objects: list[dict[str, Any]]) -> str:
    import yaml  # type: ignore[import-untyped, unused-ignore]

    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


@click.group(help="Kubernetes orchestrator: schedules (CronJobs) and RBAC.")
def k8s() -> None:
    pass


@k8s.command(help="Print (or --apply) the ServiceAccount, Role and RoleBinding the orchestrator Job needs.")
@click.option("--apply", "apply_", is_flag=True, help="Create or update them in the cluster.")
@click.option("--namespace", "-n", help="Default: the orchestrator's namespace.")
@click.option("--service-account", help="Default: the orchestrator's service_account.")
def rbac(apply_: bool, namespace: str | None, service_account: str | None) -> None:
    from .manifests import rbac as rbac_objects

    orch = _orchestrator()
    objects = rbac_objects(namespace or orch.config.namespace, service_account or orch.config.service_account)
    if not apply_:
        click.echo(_yaml(objects), nl=False)
        return
    kube = orch.kube()
    for obj in objects:
        result = kube.apply(obj)
        click.echo(f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']} {result}")


@k8s.group(help="Run a pipeline on a cron schedule (a CronJob per schedule).")
def schedule() -> None:
    pass


@schedule.command(name="create", help="Schedule TARGET (module:pipeline or file.py:pipeline) as a CronJob.")
@click.argument("target")
@click.option("--name", required=True, help="Schedule name (becomes CronJob zen-NAME).")
@click.option("--cron", required=True, help="Cron expression, e.g. '0 3 * * *', or @daily, @hourly, ...")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="A pipeline parameter.")
@click.option("--no-cache", is_flag=True, help="Scheduled runs ignore cached results.")
@click.option("--time-zone", help="IANA time zone of the cron expression (default: the cluster's, UTC).")
@click.option(
    "--concurrency",
    type=click.Choice(["Forbid", "Allow", "Replace"]),
    default="Forbid",
    show_default=True,
    help="What to do when a tick comes while the previous run still runs.",
)
@click.option("--replace", is_flag=True, help="Update the schedule if it exists.")
def create(
    target: str,
    name: str,
    cron: str,
    params: tuple[str, ...],
    no_cache: bool,
    time_zone: str | None,
    concurrency: str,
    replace: bool,
) -> None:
    from zen_core.cli._util import parse_assignments
    from zen_core.errors import ZenError
    from zen_core.pipelines import Pipeline
    from zen_core.sources import load_source

    from .schedules import create_schedule

    pipe = load_source(target)
    if not isinstance(pipe, Pipeline):
        raise ZenError(f"{target} is a {type(pipe).__name__}, not a @pipeline")
    cj = create_schedule(
        _orchestrator(),
        pipe,
        name=name,
        cron=cron,
        parameters=parse_assignments(params, "--param"),
        enable_cache=False if no_cache else None,
        time_zone=time_zone,
        concurrency_policy=concurrency,
        replace=replace,
    )
    meta = cj["metadata"]
    click.echo(f"schedule {name}: CronJob {meta['namespace']}/{meta['name']} runs '{cron}'")


@schedule.command(name="list", help="List the schedules in the orchestrator's namespace.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    from zen_core.cli._util import console

    from .schedules import list_schedules

    rows = list_schedules(_orchestrator())
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    from rich.table import Table

    table = Table()
    for col in ("schedule", "cron", "pipeline", "cronjob", "last run", "active", "suspended"):
        table.add_column(col)
    for r in rows:
        cron = r["schedule"] + (f" ({r['time_zone']})" if r["time_zone"] else "")
        table.add_row(
            r["name"],
            cron,
            r["pipeline"],
            f"{r['namespace']}/{r['cronjob']}",
            r["last_schedule"] or "-",
            str(r["active_runs"]),
            "yes" if r["suspended"] else "no",
        )
    console().print(table)


@schedule.command(help="Delete a schedule (its CronJob and the Jobs it started). Past runs stay recorded.")
@click.argument("name")
def delete(name: str) -> None:
    from zen_core.errors import ZenError

    from .schedules import delete_schedule

    if not delete_schedule(_orchestrator(), name):
        raise ZenError(f"no schedule '{name}'")
    click.echo(f"deleted schedule {name}")


@schedule.command(help="Start one run of a schedule now.")
@click.argument("name")
def trigger(name: str) -> None:
    from .schedules import trigger_schedule

    job = trigger_schedule(_orchestrator(), name)
    click.echo(f"started Job {job}; the run appears in: zen run list")
