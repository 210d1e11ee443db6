"""Entry point of the ``zen`` command.

Start-up is kept to click alone: every sub-command module (and rich, pydantic,
the plugins' commands) is imported only when that command runs, so ``zen --help``
stays fast however many plugins are installed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

#: name -> ("module:attribute", help). Help is here so listing needs no import.
BUILTIN_COMMANDS: dict[str, tuple[str, str]] = {
    "pipeline": ("zen_core.cli.pipelines:pipeline", "Run, compile and draw pipelines."),
    "run": ("zen_core.cli.runs:run", "Inspect and stop runs: list, show, logs, stop."),
    "stack": ("zen_core.cli.stacks:stack", "Manage stacks (orchestrator + artifact store)."),
    "orchestrator": ("zen_core.cli.components:orchestrator", "Manage orchestrators and their flavors."),
    "artifact-store": ("zen_core.cli.components:artifact_store", "Manage artifact stores and their flavors."),
}


def _load(target: str) -> click.Command:
    from zen_core.sources import load_source

    command: click.Command = load_source(target)
    return command


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, tuple[str, str]] | None = None,
        plugin_group: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.plugin_group = plugin_group

    def _load_plugins(self) -> None:
        from zen_core.plugins import cli_registry  # cached per process by the registry

        for cmd in cli_registry():
            if cmd.group == self.plugin_group and cmd.name not in self.lazy:
                self.lazy[cmd.name] = (cmd.target, cmd.help or f"(from {cmd.package})")

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        self._load_plugins()
        if name not in self.lazy:
            return None
        command = _load(self.lazy[name][0])
        if isinstance(command, click.Group):
            # plugin commands registered for this group (e.g. "run") join it when it loads
            from zen_core.plugins import cli_registry

            for cmd in cli_registry():
                if cmd.group == name and cmd.name not in command.commands:
                    command.add_command(_load(cmd.target), cmd.name)
        self.add_command(command, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._load_plugins()
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(70)))
            else:
                rows.append((name, self.lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _version() -> str:
    from zen_core import __version__

    return __version__


@click.group(cls=LazyGroup, lazy=BUILTIN_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=_version(), prog_name="zen")
@click.option(
    "--stack",
    "stack_name",
    metavar="NAME",
    envvar="ZEN_STACK",
    help="Use this stack instead of the active one (or set ZEN_STACK).",
)
def cli(stack_name: str | None) -> None:
    """zen: write ML pipelines once, run them on any orchestrator."""
    if stack_name:
        os.environ["ZEN_STACK"] = stack_name


def main() -> None:
    from zen_core.cli._util import run_cli

    code = run_cli(cli)
    if code == 130:
        # Interrupted: records are written; don't wait for step threads still running.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
