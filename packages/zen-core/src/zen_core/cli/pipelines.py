"""``zen pipeline ...``: run, compile and draw pipelines given as ``module:name``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._util import console, parse_assignments

if TYPE_CHECKING:
    from zen_core.pipelines import Pipeline


def _load_pipeline(target: str) -> Pipeline[Any, Any]:
    from zen_core.errors import ZenError
    from zen_core.pipelines import Pipeline
    from zen_core.sources import load_source

    obj = load_source(target)
    if not isinstance(obj, Pipeline):
        raise ZenError(f"{target} is a {type(obj).__name__}, not a @pipeline")
    return obj


def _orchestrator_for(flavor: str) -> Any:
    """The active stack's orchestrator if it has this flavor, else one with default config."""
    from zen_core.plugins import flavor_registry
    from zen_core.stacks import Stack

    stack = Stack()
    if stack.component_model("orchestrator").flavor == flavor:
        return stack.orchestrator
    fl = flavor_registry().get("orchestrator", flavor)
    return fl.load_implementation()(name=flavor, config=fl.validate_config({}), stack=stack)


@click.group(help="Run, compile and draw pipelines (TARGET is module:pipeline or file.py:pipeline).")
def pipeline() -> None:
    pass


@pipeline.command(name="run", help="Run a pipeline on the active stack.")
@click.argument("target")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A pipeline parameter; values parse as JSON when they can.",
)
@click.option("--no-cache", is_flag=True, help="Run every step even if a cached result exists.")
@click.option("--run-name", help="Prefix of the run id (default: the pipeline name).")
def run_(target: str, params: tuple[str, ...], no_cache: bool, run_name: str | None) -> None:
    pipe = _load_pipeline(target)
    result = pipe.run(
        run_name=run_name,
        enable_cache=False if no_cache else None,
        **parse_assignments(params, "--param"),
    )
    if result.status == "running":
        console().print(f"Submitted run {result.run_id}; follow it with: zen run show {result.run_id}")


@pipeline.command(help="Print or write a pipeline's compiled spec, or a flavor's native form of it.")
@click.argument("target")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--flavor", help="Compile to this orchestrator flavor's own format (e.g. kubeflow).")
def compile(target: str, output: Path | None, flavor: str | None) -> None:
    spec = _load_pipeline(target).compile()
    if flavor:
        text, _suffix = _orchestrator_for(flavor).compile_native(spec)
    else:
        text = spec.to_json()
    if output:
        output.write_text(text)
        console().print(f"Wrote {output}")
    else:
        click.echo(text, nl=False)


@pipeline.command(help="Draw a pipeline's DAG (with --run, coloured by step state).")
@click.argument("target")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg", "png"]),
    default="mermaid",
    show_default=True,
    help="svg and png need Graphviz's 'dot'.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--run", "run_id", metavar="RUN", help="Colour steps by their state in this run.")
def dag(target: str, fmt: str, output: Path | None, run_id: str | None) -> None:
    from zen_core import dagviz

    spec = _load_pipeline(target).compile()
    states = None
    if run_id:
        from .runs import _resolve_run_id, _runs

        runs = _runs()
        rid = _resolve_run_id(runs, run_id)
        spec = runs.read_spec(rid)
        states = runs.read_steps(rid)
    if fmt == "mermaid":
        data = dagviz.to_mermaid(spec, states).encode()
    else:
        dot = dagviz.to_dot(spec, states)
        data = dot.encode() if fmt == "dot" else dagviz.render(dot, fmt)
    if output:
        output.write_bytes(data)
        console().print(f"Wrote {output}")
    elif fmt in ("svg", "png"):
        raise click.UsageError(f"--format {fmt} needs --output FILE")
    else:
        click.echo(data.decode(), nl=False)
