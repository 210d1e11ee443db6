"""Shared helpers of the CLI commands: output, errors, option parsing."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click


def console() -> Any:
    from rich.console import Console

    return Console()


def error_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def run_cli(cli: click.Group) -> int:
    """Run the CLI, turning zen's own errors into a message and exit code 1."""
    from zen_core.errors import RunFailedError, ZenError

    try:
        cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # click turns Ctrl-C into Abort; finished steps are already recorded
        error_console().print(
            "[red]Interrupted.[/red] Finished steps are recorded; run again to reuse them from the cache."
        )
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except RunFailedError as exc:
        report_failure(exc)
        return 1
    except ZenError as exc:
        # soft_wrap: never break a message (a command to copy) across lines
        # escape: messages hold brackets (pip install 'zen-airflow[airflow]') that are not markup
        error_console().print(
            f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return 1
    return 0


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def report_failure(exc: Any) -> None:
    err = error_console()
    for step_id, message in sorted(exc.failed_steps.items()):
        err.rule(f"[bold red]step '{escape(step_id)}' failed")
        tb = getattr(exc, "tracebacks", {}).get(step_id)
        err.print(tb or message, markup=False, highlight=False, soft_wrap=True)
    err.print(f"[bold red]Error:[/bold red] {escape(exc.summary)}", highlight=False, soft_wrap=True)


def parse_assignments(items: tuple[str, ...], what: str) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{what} must look like key=value, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def run_status(run: Any) -> str:
    """A run's status, saying 'interrupted' for a local run whose client process is gone."""
    if run.status != "running":
        return str(run.status)
    import os
    import socket

    pid, host = run.backend.get("client_pid"), run.backend.get("client_host")
    if isinstance(pid, int) and host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "interrupted"
        except PermissionError:
            pass
    return "running"


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
