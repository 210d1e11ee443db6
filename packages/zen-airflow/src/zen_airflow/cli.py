"""``zen airflow ...``: write pipelines as Airflow DAG files without running them."""

from __future__ import annotations

from typing import Any

import click


def _orchestrator(dags_folder: str | None) -> Any:
    """The active stack's airflow orchestrator, else one with default config on the active stack."""
    from zen_core.plugins import flavor_registry
    from zen_core.stacks import Stack

    stack = Stack()
    flavor = flavor_registry().get("orchestrator", "airflow")
    if stack.component_model("orchestrator").flavor == "airflow":
        config = stack.orchestrator.config.model_copy()
        name = stack.orchestrator.name
    else:
        config, name = flavor.validate_config({}), "airflow"
    if dags_folder:
        config = config.model_copy(update={"dags_folder": dags_folder})
    return flavor.load_implementation()(name=name, config=config, stack=stack)


@click.group(help="Airflow DAGs of zen pipelines.")
def airflow() -> None:
    pass


@airflow.command(
    help="Write the DAG files of a pipeline (TARGET is module:pipeline or file.py:pipeline) into the "
    "DAGs folder, building step images if its steps need them. Airflow then runs it on its schedule "
    "or when triggered."
)
@click.argument("target")
@click.option("--dags-folder", help="Write here instead of the orchestrator's DAGs folder.")
def write(target: str, dags_folder: str | None) -> None:
    from zen_core.errors import ZenError
    from zen_core.pipelines import Pipeline
    from zen_core.sources import load_source

    pipe = load_source(target)
    if not isinstance(pipe, Pipeline):
        raise ZenError(f"{target} is a {type(pipe).__name__}, not a @pipeline")
    files, paths = _orchestrator(dags_folder).deploy(pipe.compile())
    for path in paths:
        click.echo(f"wrote {path}")
    click.echo(f"DAG id: {files.dag_id}")
