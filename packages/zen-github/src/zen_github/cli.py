"""``zen github ...``: commit a pipeline's workflow without running it (for schedules)."""

from __future__ import annotations

import click


@click.group(help="GitHub Actions: commit pipelines' workflows to the repository.")
def github() -> None:
    pass


@github.command(help="Commit a pipeline's workflow and its schedules without starting a run.")
@click.argument("target")
def deploy(target: str) -> None:
    from zen_core.errors import StackError, ZenError
    from zen_core.pipelines import Pipeline
    from zen_core.sources import load_source
    from zen_core.stacks import Stack

    pipe = load_source(target)
    if not isinstance(pipe, Pipeline):
        raise ZenError(f"{target} is a {type(pipe).__name__}, not a @pipeline")
    stack = Stack()
    if stack.component_model("orchestrator").flavor != "github":
        raise StackError(f"the active stack '{stack.name}' has no github orchestrator")
    path, branch, change = stack.orchestrator.deploy(pipe.compile())
    repository = stack.orchestrator.config.repository
    click.echo(f"{path} on {repository}@{branch}: {change}")
