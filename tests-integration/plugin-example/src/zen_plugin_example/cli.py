"""``zen example-hello``: a command contributed through ``zen_register_cli_commands``."""

from __future__ import annotations

import click


@click.command(name="example-hello", help="Say hello from zen-plugin-example.")
@click.option("--name", default="zen user", show_default=True, help="Who to greet.")
def hello(name: str) -> None:
    from importlib.metadata import version

    from zen_core.plugins import flavor_registry

    ours = [
        f"{f.type} flavor '{f.name}'" for f in flavor_registry().all() if f.package == "zen-plugin-example"
    ]
    click.echo(
        f"Hello, {name}! This is zen-plugin-example {version('zen-plugin-example')}, "
        f"providing {', '.join(ours) or 'nothing'}."
    )
