"""``zen stack ...``."""

from __future__ import annotations

import click

from ._util import console, print_json


@click.group(help="Manage stacks (an orchestrator and an artifact store, ...).")
def stack() -> None:
    pass


@stack.command(help="Register a stack from registered components.")
@click.argument("name")
@click.option("--orchestrator", "-o", required=True, help="Orchestrator component name.")
@click.option(
    "--artifact-store", "-a", default="default", show_default=True, help="Artifact store component name."
)
@click.option(
    "--container-registry", "-r", help="Container registry component name (images are pushed there)."
)
@click.option("--image-builder", "-i", help="Image builder component name.")
@click.option("--set", "set_active", is_flag=True, help="Make it the active stack.")
@click.option("--replace", is_flag=True, help="Overwrite an existing stack of that name.")
def register(
    name: str,
    orchestrator: str,
    artifact_store: str,
    container_registry: str | None,
    image_builder: str | None,
    set_active: bool,
    replace: bool,
) -> None:
    from zen_core.stacks import StackManager

    manager = StackManager()
    components = {"orchestrator": orchestrator, "artifact_store": artifact_store}
    if container_registry:
        components["container_registry"] = container_registry
    if image_builder:
        components["image_builder"] = image_builder
    manager.register_stack(name, components, replace=replace)
    if set_active:
        manager.set_active(name)
    manager.save()
    console().print(f"Registered stack [bold]{name}[/bold]{' (active)' if set_active else ''}.")


@stack.command(name="list", help="List stacks; * marks the active one.")
def list_() -> None:
    from rich.table import Table

    from zen_core.stacks import StackManager

    manager = StackManager()
    active = manager.active_name()
    table = Table(title="stacks")
    for col in ("", "name", "orchestrator", "artifact store", "other components"):
        table.add_column(col)
    for name, st in sorted(manager.config.stacks.items()):
        others = {k: v for k, v in st.components.items() if k not in ("orchestrator", "artifact_store")}
        table.add_row(
            "*" if name == active else "",
            name,
            st.components.get("orchestrator", ""),
            st.components.get("artifact_store", ""),
            ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(others.items())),
        )
    console().print(table)


@stack.command(name="set", help="Make a stack the active one.")
@click.argument("name")
def set_(name: str) -> None:
    from zen_core.stacks import StackManager

    manager = StackManager()
    manager.set_active(name)
    manager.save()
    console().print(f"Active stack: [bold]{name}[/bold]")


@stack.command(help="Show a stack's components (default: the active stack).")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def describe(name: str | None, as_json: bool) -> None:
    from rich.table import Table

    from zen_core.stacks import Stack

    st = Stack(name)
    rows = []
    for ctype, cname in sorted(st.model.components.items()):
        comp = st.manager.component(ctype, cname)
        flavor = st.flavor(ctype)
        rows.append(
            {
                "type": ctype,
                "name": cname,
                "flavor": comp.flavor,
                "package": flavor.package,
                "config": comp.config,
            }
        )
    if as_json:
        print_json({"name": st.name, "active": st.name == st.manager.active_name(), "components": rows})
        return
    table = Table(title=f"stack '{st.name}'")
    for col in ("component", "name", "flavor", "package", "config"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["type"],
            r["name"],
            r["flavor"],
            r["package"],
            ", ".join(f"{k}={v}" for k, v in sorted(r["config"].items())),
        )
    console().print(table)


@stack.command(help="Delete a stack.")
@click.argument("name")
def delete(name: str) -> None:
    from zen_core.stacks import StackManager

    manager = StackManager()
    manager.delete_stack(name)
    manager.save()
    console().print(f"Deleted stack {name}.")
