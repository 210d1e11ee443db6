"""The plugin manager: discovers plugins through the ``zen`` entry-point group.

Registration hooks are called once per process, lazily, and their results cached.
Each implementation is called with a registrar that knows which distribution it
came from, so zen can say which package provides what.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pluggy

from . import hookspecs
from .errors import ZenError
from .flavors import Flavor, missing_flavor_error
from .materializers import MaterializerRegistry

logger = logging.getLogger("zen.plugins")
ENTRY_POINT_GROUP = "zen"


@functools.lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with every installed plugin loaded.

    Plugins are loaded one entry point at a time, so a plugin that fails to import
    is reported (naming it and its package) and skipped instead of breaking every
    ``zen`` command.
    """
    from importlib.metadata import entry_points

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break zen
            dist = getattr(ep, "dist", None)
            package = dist.name if dist is not None else "?"
            logger.warning(
                "zen plugin '%s' (package %s) failed to load and is ignored: %s: %s",
                ep.name,
                package,
                type(exc).__name__,
                exc,
            )
    return pm


def reset() -> None:
    """Forget cached registrations (tests that register plugins at run time use this)."""
    plugin_manager.cache_clear()
    flavor_registry.cache_clear()
    materializer_registry.cache_clear()
    cli_registry.cache_clear()


def _dist_of(pm: pluggy.PluginManager) -> dict[int, tuple[str, str]]:
    return {id(plugin): (dist.project_name, dist.version) for plugin, dist in pm.list_plugin_distinfo()}


def _call_each(hook_name: str, make_registrar: Callable[[str, str], Any]) -> None:
    """Call each implementation with a registrar naming its distribution.

    Implementations are called one by one (not through ``pm.hook``) so each gets its
    own registrar and a failing one is reported by name; hook wrappers therefore do
    not apply to registration hooks.
    """
    pm = plugin_manager()
    dists = _dist_of(pm)
    hook = getattr(pm.hook, hook_name)
    calls = [
        (dists.get(id(impl.plugin), (impl.plugin_name, "")), impl) for impl in reversed(hook.get_hookimpls())
    ]
    # zen-core's built-ins first, so plugins can override what they register
    calls.sort(key=lambda c: c[0][0] != "zen-core")
    for (package, version), impl in calls:
        try:
            impl.function(registrar=make_registrar(package, version))
        except ZenError:
            raise
        except Exception as exc:  # noqa: BLE001
            logger.warning(
                "zen plugin '%s' (package %s) failed in %s and is ignored: %s: %s",
                impl.plugin_name,
                package,
                hook_name,
                type(exc).__name__,
                exc,
            )


class FlavorRegistrar:
    def __init__(self, registry: FlavorRegistry, package: str, version: str) -> None:
        self._registry = registry
        self._package = package
        self._version = version

    def add(self, flavor: Flavor) -> None:
        self._registry.add(replace(flavor, package=self._package, version=self._version))


class FlavorRegistry:
    def __init__(self) -> None:
        self._flavors: dict[tuple[str, str], Flavor] = {}

    def add(self, flavor: Flavor) -> None:
        key = (flavor.type, flavor.name)
        other = self._flavors.get(key)
        if other is not None and other.package != flavor.package:
            raise ZenError(
                f"{flavor.type} flavor '{flavor.name}' is registered by both "
                f"'{other.package}' and '{flavor.package}'; uninstall one of them"
            )
        self._flavors[key] = flavor

    def get(self, component_type: str, name: str) -> Flavor:
        try:
            return self._flavors[(component_type, name)]
        except KeyError:
            raise missing_flavor_error(
                component_type, name, [n for t, n in self._flavors if t == component_type]
            ) from None

    def of_type(self, component_type: str) -> list[Flavor]:
        return sorted((f for (t, _), f in self._flavors.items() if t == component_type), key=lambda f: f.name)

    def all(self) -> list[Flavor]:
        return sorted(self._flavors.values(), key=lambda f: (f.type, f.name))


@functools.lru_cache(maxsize=1)
def flavor_registry() -> FlavorRegistry:
    registry = FlavorRegistry()
    _call_each("zen_register_flavors", lambda pkg, ver: FlavorRegistrar(registry, pkg, ver))
    return registry


class MaterializerRegistrar:
    def __init__(self, registry: MaterializerRegistry) -> None:
        self._registry = registry

    def add(self, materializer: Any, types: list[str] | tuple[str, ...]) -> None:
        self._registry.add(materializer, types)


@functools.lru_cache(maxsize=1)
def materializer_registry() -> MaterializerRegistry:
    registry = MaterializerRegistry()
    _call_each("zen_register_materializers", lambda pkg, ver: MaterializerRegistrar(registry))
    return registry


@dataclass(frozen=True)
class CliCommand:
    group: str
    name: str
    target: str
    help: str
    package: str


class CliRegistrar:
    def __init__(self, commands: list[CliCommand], package: str) -> None:
        self._commands = commands
        self._package = package

    def add(self, group: str, name: str, target: str, help: str = "") -> None:
        self._commands.append(CliCommand(group, name, target, help, self._package))


@functools.lru_cache(maxsize=1)
def cli_registry() -> tuple[CliCommand, ...]:
    commands: list[CliCommand] = []
    _call_each("zen_register_cli_commands", lambda pkg, ver: CliRegistrar(commands, pkg))
    return tuple(commands)


def notify(hook_name: str, **kwargs: Any) -> None:
    """Call a lifecycle hook; a plugin's exception is logged, never fatal to the run.

    Each implementation is called on its own so one failing plugin does not keep the
    others from hearing about the event (hook wrappers do not apply here).
    """
    pm = plugin_manager()
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception:
            logger.exception("plugin '%s' failed in %s", impl.plugin_name, hook_name)
