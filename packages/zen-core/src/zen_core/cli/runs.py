"""``zen run ...``: runs recorded in the active stack's artifact store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._util import console, print_json, run_status, seconds, when

if TYPE_CHECKING:
    from zen_core.records import RunStore


def _runs() -> RunStore:
    from zen_core.records import RunStore
    from zen_core.stacks import Stack

    return RunStore(Stack().artifact_store)


def _resolve_run_id(runs: RunStore, run: str) -> str:
    """Accept a full run id, a unique prefix, or 'latest'."""
    from zen_core.errors import ZenError

    ids = runs.store.list("runs")
    if run in ids:
        return run
    if run == "latest":
        listed = runs.list_runs()
        if not listed:
            raise ZenError("there are no runs yet")
        return str(listed[0].run_id)
    matches = [i for i in ids if i.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ZenError(f"no run '{run}' in artifact store {runs.store.url}")
    raise ZenError(f"'{run}' matches several runs: {', '.join(matches[:5])}")


@click.group(help="Inspect pipeline runs.")
def run() -> None:
    pass


@run.command(name="list", help="List runs, newest first.")
@click.option("--pipeline", "-p", help="Only runs of this pipeline.")
@click.option("--limit", "-n", default=20, show_default=True, help="How many runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(pipeline: str | None, limit: int, as_json: bool) -> None:
    from rich.table import Table

    runs = _runs()
    records = [r for r in runs.list_runs() if pipeline in (None, r.pipeline)][:limit]
    if as_json:
        print_json([r.model_dump(mode="json") for r in records])
        return
    table = Table(title=f"runs in {runs.store.url}")
    for col in ("run", "pipeline", "status", "started", "duration", "orchestrator"):
        table.add_column(col)
    for r in records:
        table.add_row(
            r.run_id, r.pipeline, run_status(r), when(r.created_at), seconds(r.duration), r.orchestrator
        )
    console().print(table)


@run.command(help="Show a run's steps: states, durations, cache hits, outputs.")
@click.argument("run_id", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(run_id: str, as_json: bool) -> None:
    from rich.table import Table

    runs = _runs()
    rid = _resolve_run_id(runs, run_id)
    record = runs.read_run(rid)
    spec = runs.read_spec(rid)
    steps = runs.read_steps(rid)
    if as_json:
        print_json(
            {
                "run": record.model_dump(mode="json"),
                "steps": {k: v.model_dump(mode="json") for k, v in steps.items()},
            }
        )
        return
    out = console()
    out.print(
        f"[bold]run[/bold] {record.run_id}   [bold]pipeline[/bold] {record.pipeline}   "
        f"[bold]status[/bold] {run_status(record)}"
    )
    out.print(
        f"stack {record.stack or '-'} ({record.orchestrator or '-'})   started "
        f"{when(record.created_at)}   duration {seconds(record.duration)}"
    )
    if record.parameters:
        out.print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in record.parameters.items()))
    if record.error:
        out.print(f"[red]error:[/red] {record.error}")
    table = Table()
    table.add_column("step", no_wrap=True)
    for col in ("status", "duration", "attempts", "cache"):
        table.add_column(col)
    table.add_column("outputs", overflow="fold")  # whole URIs, to copy; folded, never cut
    for s in spec.steps:
        rec = steps.get(s.id)
        if rec is None:
            table.add_row(s.id, "pending", "-", "-", "-", "")
            continue
        cache = f"hit ({rec.cached_from})" if rec.status == "cached" else ("miss" if rec.cache_key else "-")
        outputs = "\n".join(f"{n}: {a.uri}" for n, a in rec.outputs.items())
        extra = rec.error or rec.skipped_because or ""
        backend = ", ".join(f"{k}={v}" for k, v in rec.backend.items())
        table.add_row(
            s.id,
            rec.status + (f"\n{extra}" if extra else "") + (f"\n{backend}" if backend else ""),
            seconds(rec.duration),
            str(rec.attempt),
            cache,
            outputs,
        )
    out.print(table)


@run.command(help="Print the captured output of one step of a run.")
@click.argument("run_id", metavar="RUN")
@click.argument("step")
def logs(run_id: str, step: str) -> None:
    from zen_core.errors import ZenError

    runs = _runs()
    rid = _resolve_run_id(runs, run_id)
    rec = runs.read_step(rid, step)
    if rec is None:
        known = ", ".join(runs.read_steps(rid)) or "none"
        raise ZenError(f"run '{rid}' has no step '{step}' (steps with records: {known})")
    if rec.logs_uri is None:
        click.echo(f"(step '{step}' {rec.status}; it captured no output)", err=True)
    else:
        click.echo(runs.read_logs(rid, step), nl=False)
    if rec.traceback:
        click.echo(rec.traceback, err=True)


@run.command(help="Stop a run and everything its orchestrator started for it.")
@click.argument("run_id", metavar="RUN")
def stop(run_id: str) -> None:
    import time

    from zen_core.stacks import Stack

    runs = _runs()
    rid = _resolve_run_id(runs, run_id)
    record = runs.read_run(rid)
    if record.status != "running":
        console().print(f"Run {rid} already ended ({record.status}).")
        return
    Stack(record.stack or None).orchestrator.stop(record, runs)
    runs.write_run(
        record.model_copy(
            update={"status": "stopped", "finished_at": time.time(), "error": "stopped by the user"}
        )
    )
    console().print(f"Stopped run {rid}.")
