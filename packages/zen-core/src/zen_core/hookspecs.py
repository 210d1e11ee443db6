"""zen's hook specifications: the whole contract between zen-core and plugins.

A plugin is any module listed under the ``zen`` entry-point group, e.g. in its
``pyproject.toml``::

    [project.entry-points.zen]
    my_plugin = "my_package.zen_plugin"

and implementing some of the hooks below with ``@zen_core.hookimpl``. Built-in
flavors (``local``, ...) register exactly this way, so a third-party flavor is a
first-class citizen.

Rules every implementation must follow:

* The plugin module is imported whenever zen starts (even for ``zen --help``):
  keep its imports light and refer to heavy code by ``"module:attribute"`` strings
  that zen imports only when used.
* Registration hooks receive a *registrar* and call its ``add`` method.
* Lifecycle hooks are notifications: their return values are ignored, and an
  exception raised by one is logged and does not fail the run. They run in the
  process where the event happens: run hooks in the client that submits the run,
  step hooks wherever the step executes (a thread, a container, a pod).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .plugins import CliRegistrar, FlavorRegistrar, MaterializerRegistrar
    from .records import RunRecord, StepRecord
    from .spec import PipelineSpec, StepSpec
    from .stacks import Stack

PROJECT = "zen"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- registration -------------------------------------------------------------


@hookspec
def zen_register_flavors(registrar: FlavorRegistrar) -> None:
    """Register stack component flavors with ``registrar.add(Flavor(...))``.

    A :class:`zen_core.flavors.Flavor` names its component type (``orchestrator``,
    ``artifact_store``, ...), its pydantic config model and its implementation as
    ``"module:Class"`` strings; zen imports them only when the flavor is used. The
    registrar records which distribution registered the flavor (shown by
    ``zen orchestrator flavor list``). Two plugins registering the same type and
    name is an error naming both packages.
    """


@hookspec
def zen_register_materializers(registrar: MaterializerRegistrar) -> None:
    """Register materializers with ``registrar.add("module:Class", ["pkg.Type", ...])``.

    Types are given by their ``module.qualname`` so registering never imports the
    library (a numpy materializer must not import numpy at start-up). For a value,
    the most specific registered class along its MRO wins; later registrations of
    the same type name replace earlier ones, so plugins may override built-ins.
    """


@hookspec
def zen_register_cli_commands(registrar: CliRegistrar) -> None:
    """Add ``zen`` sub-commands with ``registrar.add(group, name, "module:command", help)``.

    ``group`` is ``""`` for a top-level command or an existing group such as
    ``"orchestrator"``. The command (a click command object) is imported only when
    invoked, so ``zen --help`` stays fast.
    """


# -- services -----------------------------------------------------------------


@hookspec(firstresult=True)
def zen_build_images(spec: PipelineSpec, stack: Stack) -> dict[str, str] | None:
    """Provide the container image each step of ``spec`` runs in: ``{step_id: image}``.

    Called by containerised orchestrators before they submit a run. The first
    implementation returning a mapping wins, so a team can swap in its own builder
    (kaniko, a cloud build service) by installing a plugin; zen-docker's builder is
    registered ``trylast`` as the default. Image settings are read from the
    ``"docker"`` entry of the pipeline's and steps' ``settings``. Every returned image
    must contain the step's code and zen-core, so that
    ``python -m zen_core.entrypoint`` can run the step in it. Return ``None`` to
    leave the decision to the next implementation.
    """


# -- lifecycle ----------------------------------------------------------------


@hookspec
def zen_run_started(run: RunRecord, spec: PipelineSpec) -> None:
    """A run was created and is about to be handed to the orchestrator."""


@hookspec
def zen_run_finished(run: RunRecord, spec: PipelineSpec) -> None:
    """A run reached a final state (``run.status`` says which) as seen by the client.

    Not called for detached runs, whose end the client does not see.
    """


@hookspec
def zen_step_started(run_id: str, step: StepSpec, record: StepRecord) -> None:
    """A step is about to execute (cached steps skip straight to finished)."""


@hookspec
def zen_step_finished(run_id: str, step: StepSpec, record: StepRecord) -> None:
    """A step finished successfully (``record.status`` is ``completed`` or ``cached``)."""


@hookspec
def zen_step_failed(run_id: str, step: StepSpec, record: StepRecord, error: BaseException) -> None:
    """A step attempt raised; ``record.error``/``record.traceback`` describe it.

    Called for every failed attempt, so a step with retries may call it several times.
    """
