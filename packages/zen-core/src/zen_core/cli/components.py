"""``zen orchestrator ...`` and ``zen artifact-store ...``: components and flavors."""

from __future__ import annotations

import click

from ._util import console, parse_assignments, print_json


def _flavor_table(ctype: str) -> None:
    from rich.table import Table

    from zen_core.plugins import flavor_registry

    flavors = flavor_registry().of_type(ctype)
    table = Table(title=f"{ctype.replace('_', ' ')} flavors")
    for col in ("flavor", "package", "version", "description"):
        table.add_column(col)
    for f in flavors:
        table.add_row(f.name, f.package, f.version, f.description)
    console().print(table)


def make_component_group(ctype: str, cli_name: str) -> click.Group:
    label = ctype.replace("_", " ")
    article = "an" if label[0] in "aeiou" else "a"

    @click.group(name=cli_name, help=f"Manage {label}s and their flavors.")
    def group() -> None:
        pass

    @group.group(name="flavor", help=f"Installed {label} flavors.")
    def flavor() -> None:
        pass

    @flavor.command(name="list", help=f"List installed {label} flavors with their package and version.")
    def flavor_list() -> None:
        _flavor_table(ctype)

    @flavor.command(name="describe", help="Show a flavor's config fields.")
    @click.argument("name")
    def flavor_describe(name: str) -> None:
        from rich.table import Table

        from zen_core.plugins import flavor_registry

        f = flavor_registry().get(ctype, name)
        model = f.load_config_class()
        table = Table(title=f"{label} flavor '{f.name}' ({f.package} {f.version})")
        for col in ("field", "type", "default", "description"):
            table.add_column(col)
        for field_name, field in model.model_fields.items():
            default = (
                "(required)" if field.is_required() else repr(field.get_default(call_default_factory=True))
            )
            from zen_core.sources import type_name

            ann = type_name(field.annotation)
            table.add_row(field_name, ann, default, field.description or "")
        console().print(table)

    @group.command(name="register", help=f"Register {article} {label}: NAME --flavor F -c key=value ...")
    @click.argument("name")
    @click.option("--flavor", "-f", required=True, help="Flavor name (see 'flavor list').")
    @click.option(
        "--config",
        "-c",
        "config",
        multiple=True,
        metavar="KEY=VALUE",
        help="A config field; values parse as JSON when they can.",
    )
    @click.option("--replace", is_flag=True, help="Overwrite an existing component of that name.")
    def register(name: str, flavor: str, config: tuple[str, ...], replace: bool) -> None:
        from zen_core.stacks import StackManager

        manager = StackManager()
        comp = manager.register_component(
            ctype, name, flavor, parse_assignments(config, "--config"), replace=replace
        )
        manager.save()
        console().print(f"Registered {label} [bold]{comp.name}[/bold] (flavor {comp.flavor}).")

    @group.command(name="list", help=f"List registered {label}s.")
    def list_() -> None:
        from rich.table import Table

        from zen_core.stacks import Stack, StackManager

        manager = StackManager()
        active = Stack(manager=manager).model.components.get(ctype)
        table = Table(title=f"{label}s")
        for col in ("", "name", "flavor", "config"):
            table.add_column(col)
        for name, comp in manager.components(ctype).items():
            table.add_row(
                "*" if name == active else "",
                name,
                comp.flavor,
                ", ".join(f"{k}={v}" for k, v in sorted(comp.config.items())),
            )
        console().print(table)

    @group.command(name="describe", help=f"Show {article} {label}'s flavor and full config.")
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def describe(name: str, as_json: bool) -> None:
        from rich.table import Table

        from zen_core.plugins import flavor_registry
        from zen_core.stacks import StackManager

        comp = StackManager().component(ctype, name)
        flavor_ = flavor_registry().get(ctype, comp.flavor)
        config = flavor_.validate_config(comp.config)
        if as_json:
            print_json(
                {
                    "name": comp.name,
                    "type": ctype,
                    "flavor": comp.flavor,
                    "package": flavor_.package,
                    "config": config.model_dump(mode="json"),
                }
            )
            return
        table = Table(title=f"{label} '{comp.name}' (flavor {comp.flavor}, {flavor_.package})")
        table.add_column("field")
        table.add_column("value")
        for key, value in config.model_dump(mode="json").items():
            table.add_row(key, str(value))
        console().print(table)

    @group.command(name="delete", help=f"Delete {article} {label} no stack uses.")
    @click.argument("name")
    def delete(name: str) -> None:
        from zen_core.stacks import StackManager

        manager = StackManager()
        manager.delete_component(ctype, name)
        manager.save()
        console().print(f"Deleted {label} {name}.")

    return group


orchestrator = make_component_group("orchestrator", "orchestrator")
artifact_store = make_component_group("artifact_store", "artifact-store")
