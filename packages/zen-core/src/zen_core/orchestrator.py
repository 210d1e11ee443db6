"""The orchestrator interface every flavor implements."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import PipelineDefinitionError, ZenError
from .records import RunRecord, RunStore
from .spec import PipelineSpec


@dataclass
class RunRequest:
    """What the client hands an orchestrator: the spec, the run and where it is stored."""

    spec: PipelineSpec
    run: RunRecord
    runs: RunStore
    spec_uri: str
    parameters: dict[str, Any]
    enable_cache: bool | None = None
    #: step id -> the Step object, when the pipeline was defined in this process;
    #: in-process orchestrators use it instead of importing ``source`` again.
    steps: Mapping[str, Any] = field(default_factory=dict)

    # An orchestrator may add backend details (job names, URLs) to ``run.backend``;
    # the client keeps them when it writes the run's final state.

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def store_url(self) -> str:
        return self.runs.store.url


class Orchestrator(abc.ABC):
    """Base class of orchestrator implementations.

    Implementations get ``name`` (the component's name), ``config`` (their
    validated pydantic config) and ``stack``. :meth:`run` may block until the run
    ends (returning its final status) or detach (returning ``"running"``).
    """

    #: The flavor name, used to pick this orchestrator's ``settings={...}`` entry.
    flavor: str = ""
    #: The pydantic model for per-step settings of this flavor, if any.
    settings_model: type[Any] | None = None

    def __init__(self, name: str, config: Any, stack: Any) -> None:
        self.name = name
        self.config = config
        self.stack = stack

    def imports_steps(self) -> bool:
        """Whether steps run in another interpreter that must import them by source."""
        return True

    def validate(self, spec: PipelineSpec) -> None:
        """Check the spec for this flavor; raise before anything is stored or submitted."""
        if self.imports_steps():
            for s in spec.steps:
                module, _, qualname = s.source.partition(":")
                if "<locals>" in qualname or module == "__main__":
                    raise PipelineDefinitionError(
                        f"pipeline '{spec.name}', step '{s.id}': its code ({s.source}) cannot be "
                        f"imported by the '{self.flavor}' orchestrator, which runs steps in their own "
                        "interpreter; define the step at module level in an importable module"
                    )
        if self.settings_model is None:
            return
        from pydantic import ValidationError

        scopes = [("pipeline", spec.settings)] + [(f"step '{s.id}'", s.settings) for s in spec.steps]
        for where, settings in scopes:
            if self.flavor in settings:
                try:
                    self.settings_model.model_validate(settings[self.flavor])
                except ValidationError as exc:
                    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                    raise PipelineDefinitionError(
                        f"pipeline '{spec.name}', {where}: invalid '{self.flavor}' settings: {problems}"
                    ) from None

    def step_settings(self, spec: PipelineSpec, step_id: str) -> Any:
        """This flavor's settings for a step: pipeline-level merged with step-level."""
        merged = {**spec.settings.get(self.flavor, {}), **spec.step(step_id).settings.get(self.flavor, {})}
        return self.settings_model.model_validate(merged) if self.settings_model else merged

    @abc.abstractmethod
    def run(self, request: RunRequest) -> str:
        """Run (or submit) the pipeline; return the run status when it returns."""

    def stop(self, run: RunRecord, runs: RunStore) -> None:
        """Stop a running run and everything it started. Flavors that cannot, say so."""
        raise ZenError(f"the '{self.flavor}' orchestrator cannot stop runs")

    def compile_native(self, spec: PipelineSpec) -> tuple[str, str]:
        """The pipeline in the backend's own format: ``(text, file suffix)``.

        Backs ``zen pipeline compile --flavor NAME`` (a KFP IR YAML, an Airflow DAG,
        a workflow file). Flavors without a native format keep this default.
        """
        raise ZenError(f"the '{self.flavor}' orchestrator has no native pipeline format")
