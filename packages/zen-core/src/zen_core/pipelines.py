"""The ``@pipeline`` decorator and the compiler that turns it into a PipelineSpec.

Compiling calls the pipeline function once with placeholder parameters while a
tracer is active: each step call records an invocation instead of running. The
recorded graph is then validated and written out as a :class:`PipelineSpec`.
Every definition error is raised here, naming the pipeline, step and input,
before any backend is touched.
"""

from __future__ import annotations

import collections.abc
import contextvars
import heapq
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

from .errors import PipelineDefinitionError
from .names import validate_name
from .sources import source_of, type_name
from .spec import (
    ArtifactInput,
    InputSpec,
    LiteralInput,
    OutputSpec,
    ParameterInput,
    ParameterSpec,
    PipelineSpec,
    StepSpec,
)
from .steps import Step, as_list
from .typing_utils import compatible, error_message, to_json_value, validate_value

P = ParamSpec("P")
R = TypeVar("R")

_TRACER: contextvars.ContextVar[_Tracer | None] = contextvars.ContextVar("zen_tracer", default=None)


def current_tracer() -> _Tracer | None:
    return _TRACER.get()


@dataclass(frozen=True)
class OutputRef:
    """A reference to one named output of one step invocation, made while compiling."""

    invocation: str
    output: str
    type: Any = field(compare=False, default=Any)

    def __repr__(self) -> str:
        return f"<output {self.invocation}.{self.output}>"

    def __bool__(self) -> bool:
        raise PipelineDefinitionError(
            f"output '{self.output}' of step '{self.invocation}' has no value while the "
            "pipeline is compiled; branch inside a step instead of on a step's output"
        )


@dataclass(frozen=True)
class InvocationRef:
    """What a step with no outputs returns: something to pass to ``after=``."""

    invocation: str


class PipelineParameter:
    """Placeholder a pipeline function receives for each parameter while compiling.

    Its value is only known when a run starts (a remote backend may supply it), so it
    can be passed to steps but not computed with.
    """

    def __init__(self, pipeline: str, name: str, annotation: Any) -> None:
        self._pipeline = pipeline
        self.name = name
        self.annotation = annotation

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise PipelineDefinitionError(
            f"pipeline '{self._pipeline}': parameter '{self.name}' is only known when the "
            "run starts; pass it to a step and compute with it there"
        )

    __bool__ = __int__ = __float__ = __index__ = __len__ = __iter__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __getitem__ = __format__ = __lt__ = __gt__ = _refuse

    def __repr__(self) -> str:
        return f"<pipeline parameter {self.name}>"


@dataclass
class _Invocation:
    step: Step[Any, Any]
    id: str
    index: int
    inputs: dict[str, InputSpec]
    after: list[str]


class _Tracer:
    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.invocations: dict[str, _Invocation] = {}
        self._name_counts: dict[str, int] = {}

    def _error(self, step_id: str, message: str) -> PipelineDefinitionError:
        return PipelineDefinitionError(f"pipeline '{self.pipeline}', step '{step_id}': {message}")

    def _new_id(self, step: Step[Any, Any], requested: str | None) -> str:
        if requested is not None:
            try:
                validate_name(requested, "step id")
            except ValueError as exc:
                raise PipelineDefinitionError(f"pipeline '{self.pipeline}': {exc}") from None
            if requested in self.invocations:
                raise self._error(requested, "duplicate step id; each invocation needs a unique id=")
            return requested
        count = self._name_counts.get(step.name, 0)
        while True:
            count += 1
            candidate = step.name if count == 1 else f"{step.name}_{count}"
            if candidate not in self.invocations:
                self._name_counts[step.name] = count
                return candidate

    def _input(self, step_id: str, step: Step[Any, Any], name: str, value: Any) -> InputSpec:
        expected = step.input_annotation(name)
        if isinstance(value, OutputRef):
            self._check_type(step_id, name, value, expected)
            return ArtifactInput(step=value.invocation, output=value.output)
        if isinstance(value, InvocationRef):
            raise self._error(
                step_id,
                f"input '{name}' was given step '{value.invocation}', "
                "which has no outputs; use after= for ordering",
            )
        if isinstance(value, PipelineParameter):
            if not compatible(value.annotation, expected):
                raise self._error(
                    step_id,
                    f"input '{name}' expects {type_name(expected)} but "
                    f"parameter '{value.name}' is {type_name(value.annotation)}",
                )
            return ParameterInput(name=value.name)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, OutputRef) for v in value):
            raise self._error(
                step_id,
                f"input '{name}' was given a list of step outputs; "
                "use zen_core.collect(...) around it to feed several outputs to one input",
            )
        if isinstance(value, _Collected):
            item_type = _item_type(expected)
            for ref in value.refs:
                self._check_type(step_id, name, ref, item_type)
            return value.spec()
        try:
            value = validate_value(value, expected)
            return LiteralInput(value=to_json_value(value))
        except TypeError as exc:
            raise self._error(step_id, f"input '{name}' is not serialisable: {exc}") from None
        except ValueError as exc:
            raise self._error(
                step_id,
                f"input '{name}' expects {type_name(expected)}: {error_message(exc)}",
            ) from None

    def _check_type(self, step_id: str, name: str, ref: OutputRef, expected: Any) -> None:
        if not compatible(ref.type, expected):
            raise self._error(
                step_id,
                f"input '{name}' expects {type_name(expected)} but output "
                f"'{ref.output}' of step '{ref.invocation}' is {type_name(ref.type)}",
            )

    def record(
        self,
        step: Step[Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        invocation_id: str | None,
        after: Any,
    ) -> Any:
        step_id = self._new_id(step, invocation_id)
        try:
            bound = step.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise self._error(step_id, f"{exc}") from None
        for pname, param in step.signature.parameters.items():
            if pname not in bound.arguments and param.default is inspect.Parameter.empty:
                raise self._error(step_id, f"missing input '{pname}'")
        inputs = {n: self._input(step_id, step, n, v) for n, v in bound.arguments.items()}
        after_ids: list[str] = []
        for item in as_list(after):
            if isinstance(item, (OutputRef, InvocationRef)):
                after_ids.append(item.invocation)
            elif isinstance(item, str):
                after_ids.append(item)
            elif isinstance(item, tuple):
                after_ids.extend(i.invocation for i in item if isinstance(i, OutputRef))
            else:
                raise self._error(step_id, f"after= takes step outputs or step ids, got {item!r}")
        self.invocations[step_id] = _Invocation(
            step, step_id, len(self.invocations), inputs, sorted(set(after_ids))
        )
        refs = tuple(OutputRef(step_id, name, tp) for name, tp in step.outputs.items())
        if not refs:
            return InvocationRef(step_id)
        return refs[0] if len(refs) == 1 else refs


class _Collected:
    """Several step outputs fed to one list-typed input (a fan-in)."""

    def __init__(self, refs: list[OutputRef]) -> None:
        self.refs = refs

    def spec(self) -> InputSpec:
        from .spec import ArtifactListInput

        return ArtifactListInput(items=[ArtifactInput(step=r.invocation, output=r.output) for r in self.refs])


def collect(*refs: Any) -> Any:
    """Feed several step outputs to one ``list[T]`` input: ``join(values=collect(*parts))``."""
    flat: list[OutputRef] = []
    for r in refs:
        items = r if isinstance(r, (list, tuple)) else [r]
        for item in items:
            if not isinstance(item, OutputRef):
                raise PipelineDefinitionError(f"collect() takes step outputs, got {item!r}")
            flat.append(item)
    return _Collected(flat)


def _item_type(expected: Any) -> Any:
    args = typing.get_args(expected)
    if typing.get_origin(expected) in (list, tuple, collections.abc.Sequence) and args:
        return args[0]
    return Any


def _topological(pipeline: str, invocations: dict[str, _Invocation]) -> list[_Invocation]:
    """Kahn's algorithm, ties broken by definition order, so the order is deterministic."""
    downstream: dict[str, list[str]] = {i: [] for i in invocations}
    indegree: dict[str, int] = {}
    for inv in invocations.values():
        ups = {i.step for i in inv.inputs.values() if isinstance(i, ArtifactInput)}
        for li in inv.inputs.values():
            ups.update(a.step for a in getattr(li, "items", []))
        ups.update(inv.after)
        for up in ups:
            if up not in invocations:
                raise PipelineDefinitionError(
                    f"pipeline '{pipeline}', step '{inv.id}': after= names unknown step '{up}'"
                )
            downstream[up].append(inv.id)
        indegree[inv.id] = len(ups)
    heap = [(inv.index, inv.id) for inv in invocations.values() if indegree[inv.id] == 0]
    heapq.heapify(heap)
    order: list[_Invocation] = []
    while heap:
        _, sid = heapq.heappop(heap)
        order.append(invocations[sid])
        for d in downstream[sid]:
            indegree[d] -= 1
            if indegree[d] == 0:
                heapq.heappush(heap, (invocations[d].index, d))
    if len(order) != len(invocations):
        stuck = sorted(s for s, n in indegree.items() if n > 0)
        raise PipelineDefinitionError(
            f"pipeline '{pipeline}' has a dependency cycle through steps {', '.join(stuck)} "
            "(check their after= options)"
        )
    return order


class Pipeline(Generic[P, R]):
    """A pipeline definition. Create with :func:`pipeline`; call it to run it."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        enable_cache: bool = True,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.func = func
        self.name = validate_name(name or func.__name__, "pipeline name")
        self.enable_cache = enable_cache
        self.settings = dict(settings or {})
        self.signature = inspect.signature(func)
        self.hints = typing.get_type_hints(func, include_extras=True)

    def _parameters(self) -> dict[str, ParameterSpec]:
        params: dict[str, ParameterSpec] = {}
        for pname, p in self.signature.parameters.items():
            annotation = self.hints.get(pname, Any)
            if p.default is inspect.Parameter.empty:
                params[pname] = ParameterSpec(type=type_name(annotation), required=True)
                continue
            try:
                default = to_json_value(validate_value(p.default, annotation))
            except (TypeError, ValueError) as exc:
                raise PipelineDefinitionError(
                    f"pipeline '{self.name}': default of parameter '{pname}' is invalid: {exc}"
                ) from None
            params[pname] = ParameterSpec(type=type_name(annotation), default=default)
        return params

    def compile(self) -> PipelineSpec:
        """Trace the pipeline function and return its validated spec."""
        return self.compile_with_steps()[0]

    def compile_with_steps(self) -> tuple[PipelineSpec, dict[str, Step[Any, Any]]]:
        """The spec, and each step id's Step object (for in-process execution)."""
        tracer = _Tracer(self.name)
        placeholders = {
            n: PipelineParameter(self.name, n, self.hints.get(n, Any)) for n in self.signature.parameters
        }
        token = _TRACER.set(tracer)
        try:
            typing.cast(Any, self.func)(**placeholders)
        finally:
            _TRACER.reset(token)
        if not tracer.invocations:
            raise PipelineDefinitionError(f"pipeline '{self.name}' calls no steps")
        steps = []
        for inv in _topological(self.name, tracer.invocations):
            outputs = {n: OutputSpec(type=type_name(t)) for n, t in inv.step.outputs.items()}
            for inp in inv.inputs.values():
                for art in [inp] if isinstance(inp, ArtifactInput) else getattr(inp, "items", []):
                    if art.output not in tracer.invocations[art.step].step.outputs:
                        raise PipelineDefinitionError(
                            f"pipeline '{self.name}', step '{inv.id}': step '{art.step}' "
                            f"has no output '{art.output}'"
                        )
            steps.append(
                StepSpec(
                    id=inv.id,
                    name=inv.step.name,
                    source=inv.step.source,
                    code_hash=inv.step.code_hash,
                    inputs=inv.inputs,
                    outputs=outputs,
                    after=inv.after,
                    enable_cache=inv.step.options.enable_cache,
                    retry=inv.step.options.retry,
                    settings=_settings_dict(inv.step.options.settings),
                )
            )
        spec = PipelineSpec(
            name=self.name,
            source=source_of(self.func),
            parameters=self._parameters(),
            steps=steps,
            enable_cache=self.enable_cache,
            settings=_settings_dict(self.settings),
        )
        return spec, {sid: inv.step for sid, inv in tracer.invocations.items()}

    def resolve_parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Run parameter values: defaults filled in, validated, JSON-ready."""
        unknown = sorted(set(values) - set(self.signature.parameters))
        if unknown:
            raise PipelineDefinitionError(
                f"pipeline '{self.name}' has no parameter '{unknown[0]}' "
                f"(parameters: {', '.join(self.signature.parameters) or 'none'})"
            )
        resolved: dict[str, Any] = {}
        for pname, p in self.signature.parameters.items():
            if pname in values:
                raw = values[pname]
            elif p.default is not inspect.Parameter.empty:
                raw = p.default
            else:
                raise PipelineDefinitionError(f"pipeline '{self.name}' needs a value for parameter '{pname}'")
            try:
                resolved[pname] = to_json_value(validate_value(raw, self.hints.get(pname, Any)))
            except (TypeError, ValueError) as exc:
                raise PipelineDefinitionError(
                    f"pipeline '{self.name}': parameter '{pname}' is invalid: {error_message(exc)}"
                ) from None
        return resolved

    def run(
        self,
        *,
        run_name: str | None = None,
        enable_cache: bool | None = None,
        stack: str | None = None,
        **parameters: Any,
    ) -> Any:
        """Compile and run on the active (or named) stack; returns the run's record."""
        from .run import run_pipeline

        return run_pipeline(
            self, parameters=parameters, run_name=run_name, enable_cache=enable_cache, stack_name=stack
        )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        if current_tracer() is not None:
            raise PipelineDefinitionError(
                f"pipeline '{self.name}' was called inside another pipeline; call its steps instead"
            )
        if args:
            raise PipelineDefinitionError(
                f"pipeline '{self.name}': pass parameters by name, e.g. {self.name}(lr=0.1)"
            )
        return self.run(**typing.cast(dict[str, Any], kwargs))

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def _settings_dict(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for flavor, value in settings.items():
        try:
            data = to_json_value(value)
        except TypeError as exc:
            raise PipelineDefinitionError(f"settings for '{flavor}' are not serialisable: {exc}") from None
        if not isinstance(data, dict):
            raise PipelineDefinitionError(f"settings for '{flavor}' must be a mapping or model")
        out[str(flavor)] = data
    return out


@overload
def pipeline(func: Callable[P, R], /) -> Pipeline[P, R]: ...


@overload
def pipeline(
    *, name: str | None = ..., enable_cache: bool = ..., settings: Mapping[str, Any] | None = ...
) -> Callable[[Callable[P, R]], Pipeline[P, R]]: ...


def pipeline(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    enable_cache: bool = True,
    settings: Mapping[str, Any] | None = None,
) -> Pipeline[P, R] | Callable[[Callable[P, R]], Pipeline[P, R]]:
    """Turn a function that calls steps into a pipeline.

    The function's parameters are the pipeline's parameters: their values are
    given when a run starts (``my_pipeline(lr=0.01)``) and flow to the steps that
    receive them.
    """

    def wrap(f: Callable[P, R]) -> Pipeline[P, R]:
        return Pipeline(f, name=name, enable_cache=enable_cache, settings=settings)

    return wrap(func) if func is not None else wrap
