"""The ``@step`` decorator.

A step is a plain function with typed inputs and outputs. Called outside a
pipeline it simply runs (handy in unit tests); called while a ``@pipeline`` is
being compiled it records an invocation and returns references to its outputs.

Outputs come from the return annotation:

* ``-> int``: one output named ``output``;
* ``-> Annotated[int, "count"]``: one output named ``count``;
* ``-> tuple[Annotated[int, "a"], Annotated[str, "b"]]``: two outputs, ``a`` and ``b``;
* ``-> None``: no outputs.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

from .errors import PipelineDefinitionError
from .names import validate_name
from .sources import code_hash, source_of
from .spec import RetrySpec

P = ParamSpec("P")
R = TypeVar("R")

#: Call-time keywords of a step inside a pipeline; a step may not use them as inputs.
RESERVED_CALL_KEYWORDS = frozenset({"id", "after"})
DEFAULT_OUTPUT = "output"


def _annotated_name(tp: Any) -> tuple[Any, str] | None:
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        names = [m for m in meta if isinstance(m, str)]
        if names:
            return base, names[0]
    return None


def parse_outputs(func: Callable[..., Any], hints: Mapping[str, Any]) -> dict[str, Any]:
    """Named outputs and their types, read from the return annotation."""
    if "return" not in hints:
        return {DEFAULT_OUTPUT: Any}
    ret = hints["return"]
    if ret is None or ret is type(None):
        return {}
    single = _annotated_name(ret)
    if single:
        return {single[1]: single[0]}
    if typing.get_origin(ret) is tuple:
        members = [_annotated_name(a) for a in typing.get_args(ret)]
        if members and all(members):
            outputs: dict[str, Any] = {}
            for base, name in typing.cast(list[tuple[Any, str]], members):
                if name in outputs:
                    raise PipelineDefinitionError(f"step '{func.__name__}' declares output '{name}' twice")
                outputs[name] = base
            return outputs
    return {DEFAULT_OUTPUT: ret}


@dataclass(frozen=True)
class StepOptions:
    """Options fixed by the decorator, overridable per invocation."""

    enable_cache: bool = True
    retry: RetrySpec = field(default_factory=RetrySpec)
    settings: Mapping[str, Any] = field(default_factory=dict)


class Step(Generic[P, R]):
    """A step definition. Create with :func:`step`."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        enable_cache: bool = True,
        retry: RetrySpec | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.func = func
        self.name = validate_name(name or func.__name__, "step name")
        self.signature = inspect.signature(func)
        try:
            self.hints = typing.get_type_hints(func, include_extras=True)
        except Exception as exc:  # unresolvable forward references
            raise PipelineDefinitionError(
                f"step '{self.name}': cannot resolve its type annotations ({exc})"
            ) from exc
        clash = RESERVED_CALL_KEYWORDS.intersection(self.signature.parameters)
        if clash:
            raise PipelineDefinitionError(
                f"step '{self.name}' has an input named {sorted(clash)[0]!r}, which is "
                "reserved for call options (id=, after=); rename the input"
            )
        for pname, param in self.signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise PipelineDefinitionError(
                    f"step '{self.name}': *args/**kwargs ('{pname}') are not supported; "
                    "declare each input by name"
                )
        self.outputs = parse_outputs(func, self.hints)
        self.options = StepOptions(
            enable_cache=enable_cache,
            retry=retry or RetrySpec(),
            settings=dict(settings or {}),
        )
        functools.update_wrapper(self, func)

    @functools.cached_property
    def source(self) -> str:
        return source_of(self.func)

    @functools.cached_property
    def code_hash(self) -> str:
        return code_hash(self.func)

    def input_annotation(self, name: str) -> Any:
        return self.hints.get(name, Any)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .pipelines import current_tracer

        tracer = current_tracer()
        if tracer is None:
            return self.func(*args, **kwargs)
        invocation_id = kwargs.pop("id", None)
        after = kwargs.pop("after", None)
        return tracer.record(self, args, kwargs, invocation_id=invocation_id, after=after)

    def with_options(
        self,
        *,
        enable_cache: bool | None = None,
        retry: RetrySpec | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Step[P, R]:
        """A copy of this step with some decorator options replaced."""
        copy = Step(
            self.func,
            name=self.name,
            enable_cache=self.options.enable_cache if enable_cache is None else enable_cache,
            retry=retry or self.options.retry,
            settings={**self.options.settings, **(settings or {})},
        )
        return copy

    def __repr__(self) -> str:
        return f"<step {self.name}>"


@overload
def step(func: Callable[P, R], /) -> Step[P, R]: ...


@overload
def step(
    *,
    name: str | None = ...,
    enable_cache: bool = ...,
    retries: int = ...,
    retry_delay: float = ...,
    retry_backoff: float = ...,
    settings: Mapping[str, Any] | None = ...,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    enable_cache: bool = True,
    retries: int = 0,
    retry_delay: float = 0.0,
    retry_backoff: float = 1.0,
    settings: Mapping[str, Any] | None = None,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Turn a function into a pipeline step.

    ``retries`` extra attempts are made after a failure, waiting
    ``retry_delay * retry_backoff**(n-1)`` seconds before the n-th retry. ``settings``
    maps a flavor name to its per-step settings (resources, images, ...).
    """

    def wrap(f: Callable[P, R]) -> Step[P, R]:
        try:
            retry = RetrySpec(max_retries=retries, delay=retry_delay, backoff=retry_backoff)
        except ValueError as exc:
            raise PipelineDefinitionError(f"step '{f.__name__}': invalid retry options: {exc}") from None
        return Step(f, name=name, enable_cache=enable_cache, retry=retry, settings=settings)

    return wrap(func) if func is not None else wrap


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)
