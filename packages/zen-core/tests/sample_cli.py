"""A plugin CLI command, imported only when invoked."""

import click


@click.command(help="Say hello.")
def hello() -> None:
    click.echo("hello from a plugin")
