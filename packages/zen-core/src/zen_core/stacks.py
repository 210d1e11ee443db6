"""Stacks: named sets of components (an orchestrator and an artifact store, ...).

Everything is kept in one JSON file in the config directory, ``$ZEN_CONFIG_DIR``
or ``~/.config/zen`` (``$XDG_CONFIG_HOME/zen``). The ``default`` stack, a
``local`` orchestrator and a local artifact store under the config directory,
always exists and needs no setup. The active stack is, in order: ``--stack`` on
the command line (which sets ``$ZEN_STACK``), ``$ZEN_STACK``, the one chosen
with ``zen stack set``, else ``default``.

Component configs are validated against their flavor's pydantic model when
registered and again when used, so errors name the flavor and field.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .errors import StackError
from .flavors import COMPONENT_TYPES
from .names import validate_name

DEFAULT = "default"
CONFIG_FILE = "stacks.json"


def config_dir() -> Path:
    env = os.environ.get("ZEN_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "zen"


class ComponentModel(BaseModel):
    type: str
    name: str
    flavor: str
    config: dict[str, Any] = Field(default_factory=dict)
    #: the distribution that provided the flavor when registered, to name it if it goes missing
    package: str = ""


class StackModel(BaseModel):
    name: str
    components: dict[str, str]  # component type -> component name


class StackConfig(BaseModel):
    components: dict[str, dict[str, ComponentModel]] = Field(default_factory=dict)
    stacks: dict[str, StackModel] = Field(default_factory=dict)
    active_stack: str = DEFAULT


def _defaults() -> StackConfig:
    store = str(config_dir() / "store")
    return StackConfig(
        components={
            "orchestrator": {DEFAULT: ComponentModel(type="orchestrator", name=DEFAULT, flavor="local")},
            "artifact_store": {
                DEFAULT: ComponentModel(
                    type="artifact_store", name=DEFAULT, flavor="local", config={"path": store}
                )
            },
        },
        stacks={
            DEFAULT: StackModel(name=DEFAULT, components={"orchestrator": DEFAULT, "artifact_store": DEFAULT})
        },
    )


class StackManager:
    """Loads, edits and saves the stack configuration file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / CONFIG_FILE
        self.config = self._load()

    def _load(self) -> StackConfig:
        config = _defaults()
        if self.path.exists():
            try:
                stored = StackConfig.model_validate_json(self.path.read_text())
            except ValueError as exc:
                raise StackError(f"{self.path} is not a valid zen stack file: {exc}") from None
            for ctype, comps in stored.components.items():
                config.components.setdefault(ctype, {}).update(comps)
            config.stacks.update(stored.stacks)
            config.active_stack = stored.active_stack
        return config

    def save(self) -> None:
        """Write atomically, so an interrupted save never corrupts the file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".stacks-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(self.config.model_dump_json(indent=2))
        os.replace(tmp, self.path)

    # -- components ------------------------------------------------------------
    def components(self, ctype: str) -> dict[str, ComponentModel]:
        return dict(sorted(self.config.components.get(ctype, {}).items()))

    def component(self, ctype: str, name: str) -> ComponentModel:
        try:
            return self.config.components[ctype][name]
        except KeyError:
            have = ", ".join(self.components(ctype)) or "none"
            raise StackError(f"no {ctype.replace('_', ' ')} named '{name}' (registered: {have})") from None

    def register_component(
        self, ctype: str, name: str, flavor: str, config: dict[str, Any], *, replace: bool = False
    ) -> ComponentModel:
        from .plugins import flavor_registry

        if ctype not in COMPONENT_TYPES:
            raise StackError(f"unknown component type '{ctype}'")
        validate_name(name, f"{ctype} name")
        if name in self.config.components.get(ctype, {}) and not replace:
            raise StackError(f"{ctype.replace('_', ' ')} '{name}' already exists")
        flavor_ = flavor_registry().get(ctype, flavor)
        model = flavor_.validate_config(config)
        comp = ComponentModel(
            type=ctype,
            name=name,
            flavor=flavor,
            config=json.loads(model.model_dump_json(exclude_unset=True)),
            package=flavor_.package,
        )
        self.config.components.setdefault(ctype, {})[name] = comp
        return comp

    def delete_component(self, ctype: str, name: str) -> None:
        self.component(ctype, name)
        if name == DEFAULT:
            raise StackError(f"the default {ctype.replace('_', ' ')} cannot be deleted")
        users = sorted(s.name for s in self.config.stacks.values() if s.components.get(ctype) == name)
        if users:
            raise StackError(
                f"{ctype.replace('_', ' ')} '{name}' is used by stack(s) "
                f"{', '.join(users)}; delete or change them first"
            )
        del self.config.components[ctype][name]

    # -- stacks ----------------------------------------------------------------
    def register_stack(self, name: str, components: dict[str, str], *, replace: bool = False) -> StackModel:
        validate_name(name, "stack name")
        if name in self.config.stacks and not replace:
            raise StackError(f"stack '{name}' already exists")
        for required in ("orchestrator", "artifact_store"):
            if required not in components:
                raise StackError(f"stack '{name}' needs an {required.replace('_', ' ')}")
        for ctype, cname in components.items():
            self.component(ctype, cname)
        stack = StackModel(name=name, components=components)
        self.config.stacks[name] = stack
        return stack

    def delete_stack(self, name: str) -> None:
        self.stack(name)
        if name == DEFAULT:
            raise StackError("the default stack cannot be deleted")
        del self.config.stacks[name]
        if self.config.active_stack == name:
            self.config.active_stack = DEFAULT

    def stack(self, name: str) -> StackModel:
        try:
            return self.config.stacks[name]
        except KeyError:
            have = ", ".join(sorted(self.config.stacks))
            raise StackError(f"no stack named '{name}' (registered: {have})") from None

    def active_name(self) -> str:
        return os.environ.get("ZEN_STACK") or self.config.active_stack or DEFAULT

    def set_active(self, name: str) -> None:
        self.stack(name)
        self.config.active_stack = name


class Stack:
    """A resolved stack: instantiates its components on first use."""

    def __init__(self, name: str | None = None, manager: StackManager | None = None) -> None:
        self.manager = manager or StackManager()
        self.name = name or self.manager.active_name()
        self.model = self.manager.stack(self.name)
        self._instances: dict[str, Any] = {}

    def component_model(self, ctype: str) -> ComponentModel:
        cname = self.model.components.get(ctype)
        if cname is None:
            raise StackError(f"stack '{self.name}' has no {ctype.replace('_', ' ')}")
        return self.manager.component(ctype, cname)

    def flavor(self, ctype: str) -> Any:
        from .errors import FlavorNotFoundError
        from .plugins import flavor_registry

        comp = self.component_model(ctype)
        try:
            return flavor_registry().get(ctype, comp.flavor)
        except FlavorNotFoundError as exc:
            if comp.package and f"pip install {comp.package}" not in str(exc):
                raise FlavorNotFoundError(
                    f"{exc} (stack '{self.name}' uses {ctype.replace('_', ' ')} '{comp.name}', "
                    f"registered from package {comp.package}: pip install {comp.package})"
                ) from None
            raise

    def component(self, ctype: str) -> Any:
        if ctype not in self._instances:
            comp = self.component_model(ctype)
            flavor = self.flavor(ctype)
            config = flavor.validate_config(comp.config)
            impl = flavor.load_implementation()
            self._instances[ctype] = impl(name=comp.name, config=config, stack=self)
        return self._instances[ctype]

    def has(self, ctype: str) -> bool:
        return ctype in self.model.components

    @property
    def orchestrator(self) -> Any:
        return self.component("orchestrator")

    @property
    def artifact_store(self) -> Any:
        return self.component("artifact_store")
