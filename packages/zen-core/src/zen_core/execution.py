"""Running one step: the single code path every flavor ends up in.

:func:`execute_step` resolves the step's inputs from the artifact store, checks
the cache, calls the function with its output captured, writes each output
through its materializer, and records the result. The universal entrypoint
(``python -m zen_core.entrypoint``) and in-process orchestrators both call it,
so no flavor re-implements step execution.
"""

from __future__ import annotations

import contextlib
import functools
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import cache
from .artifacts.store import HashingWriter
from .context import _CURRENT, StepContext
from .errors import ArtifactError, StepFailedError, Terminated
from .logcapture import LineCallback, capture
from .plugins import materializer_registry, notify
from .records import SUCCESS, ArtifactRecord, CacheEntry, RunStore, StepRecord
from .sources import load_source, type_name
from .spec import ArtifactInput, ArtifactListInput, LiteralInput, ParameterInput, PipelineSpec, StepSpec
from .typing_utils import compatible


@dataclass
class StepRun:
    """Everything needed to execute one attempt of one step."""

    spec: PipelineSpec
    step: StepSpec
    run_id: str
    runs: RunStore
    parameters: Mapping[str, Any] = field(default_factory=dict)
    enable_cache: bool | None = None  # the run's override; None follows the spec
    attempt: int = 1
    func: Any = None  # the Step or function when already imported (in-process runs)
    upstream: Mapping[str, StepRecord] | None = None  # known upstream records
    echo: LineCallback | None = None
    on_start: Callable[[], None] | None = None  # called when the step really executes (cache miss)

    @property
    def cache_enabled(self) -> bool:
        run_level = self.spec.enable_cache if self.enable_cache is None else self.enable_cache
        return run_level and self.step.enable_cache


@functools.lru_cache(maxsize=512)
def _adapter(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _validate(value: Any, annotation: Any) -> Any:
    if annotation is Any or annotation is None:
        return value
    try:
        return _adapter(annotation).validate_python(value)
    except TypeError:  # unhashable annotation: no caching
        from pydantic import TypeAdapter

        return TypeAdapter(annotation).validate_python(value)


class _InputError(Exception):
    pass


def _upstream_output(ctx: StepRun, ref: ArtifactInput) -> ArtifactRecord:
    record = (ctx.upstream or {}).get(ref.step) or ctx.runs.read_step(ctx.run_id, ref.step)
    if record is None or record.status not in SUCCESS:
        state = record.status if record else "not run"
        raise _InputError(f"upstream step '{ref.step}' has not finished ({state})")
    try:
        return record.outputs[ref.output]
    except KeyError:
        raise _InputError(f"upstream step '{ref.step}' recorded no output '{ref.output}'") from None


def _resolve(ctx: StepRun) -> dict[str, Any]:
    """Each input's literal value, parameter value or artifact record(s)."""
    resolved: dict[str, Any] = {}
    for name, inp in ctx.step.inputs.items():
        try:
            if isinstance(inp, ArtifactInput):
                resolved[name] = _upstream_output(ctx, inp)
            elif isinstance(inp, ArtifactListInput):
                resolved[name] = [_upstream_output(ctx, i) for i in inp.items]
            elif isinstance(inp, LiteralInput):
                resolved[name] = inp.value
            elif isinstance(inp, ParameterInput):
                if inp.name not in ctx.parameters:
                    raise _InputError(f"pipeline parameter '{inp.name}' has no value in this run")
                resolved[name] = ctx.parameters[inp.name]
        except _InputError as exc:
            raise _InputError(f"input '{name}': {exc}") from None
    return resolved


def _load(ctx: StepRun, artifact: ArtifactRecord, annotation: Any) -> Any:
    store = ctx.runs.store
    materializer = materializer_registry().by_id(artifact.materializer)
    with store.open_read(store.key_of_uri(artifact.uri)) as f:
        return materializer.load(f, annotation)


def _save(ctx: StepRun, output: str, value: Any) -> ArtifactRecord:
    store = ctx.runs.store
    materializer = materializer_registry().for_value(value)
    key = ctx.runs.artifact_key(ctx.run_id, ctx.step.id, output, ctx.attempt, materializer.extension)
    with store.open_write(key) as raw:
        writer = HashingWriter(raw)
        materializer.save(value, writer)  # type: ignore[arg-type]
    return ArtifactRecord(
        uri=store.uri(key),
        materializer=materializer.id,
        materializer_version=materializer.version,
        type=type_name(type(value)),
        hash=writer.hexdigest,
        size=writer.size,
    )


def _split_outputs(ctx: StepRun, result: Any, declared: dict[str, Any]) -> dict[str, Any]:
    # the function's own annotation fixes which tuple position is which output
    names = list(declared) if set(declared) == set(ctx.step.outputs) else list(ctx.step.outputs)
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise TypeError(
            f"step '{ctx.step.id}' declares outputs {', '.join(names)} and must "
            f"return a tuple of {len(names)} values, got {type(result).__name__}"
        )
    return dict(zip(names, result, strict=True))


def _function(ctx: StepRun) -> tuple[Callable[..., Any], dict[str, Any]]:
    obj = ctx.func if ctx.func is not None else load_source(ctx.step.source)
    func = getattr(obj, "func", obj)
    hints: dict[str, Any] = getattr(obj, "hints", {})
    return func, hints


def execute_step(ctx: StepRun) -> StepRecord:
    """Execute one attempt of a step and record it. Raises StepFailedError on failure."""
    runs, step = ctx.runs, ctx.step
    started = time.time()
    record = StepRecord(
        run_id=ctx.run_id, step_id=step.id, status="running", attempt=ctx.attempt, started_at=started
    )
    previous = runs.read_step(ctx.run_id, step.id)
    if previous is not None and previous.attempt == ctx.attempt:
        # keep what the orchestrator recorded for this attempt (e.g. its Kubernetes Job)
        record.backend = dict(previous.backend)
    logs_key = runs.logs_key(ctx.run_id, step.id)
    log_text = ""
    try:
        resolved = _resolve(ctx)
        key = cache.cache_key(step, resolved)
        record.cache_key = key
        if ctx.cache_enabled:
            hit = cache.lookup(runs, key)
            if hit is not None:
                record.status = "cached"
                record.outputs = hit.outputs
                record.cached_from = f"{hit.run_id}/{hit.step_id}"
                record.finished_at = time.time()
                runs.write_step(record)
                notify("zen_step_finished", run_id=ctx.run_id, step=step, record=record)
                return record
        runs.write_step(record)
        if ctx.on_start is not None:
            ctx.on_start()
        notify("zen_step_started", run_id=ctx.run_id, step=step, record=record)
        func, hints = _function(ctx)
        kwargs: dict[str, Any] = {}
        for name, value in resolved.items():
            annotation = hints.get(name, Any)
            if isinstance(value, ArtifactRecord):
                kwargs[name] = _load(ctx, value, annotation)
                if value.materializer == "zen.json":
                    # JSON loses tuples and non-string keys; the input's annotation restores them
                    kwargs[name] = _validate(kwargs[name], annotation)
            elif isinstance(value, list) and value and isinstance(value[0], ArtifactRecord):
                kwargs[name] = [_load(ctx, v, Any) for v in value]
            else:
                kwargs[name] = _validate(value, annotation)
        token = _CURRENT.set(StepContext(ctx.run_id, step.id, ctx.attempt, runs.store.url))
        with capture(ctx.echo) as log:
            try:
                result = func(**kwargs)
            finally:
                log_text = log.text()
                _CURRENT.reset(token)
        from .steps import parse_outputs

        declared = parse_outputs(func, hints) if hints else {}
        outputs = _split_outputs(ctx, result, declared)
        for name, value in outputs.items():
            expected = declared.get(name, Any)
            if value is not None and not compatible(type(value), expected):
                raise TypeError(
                    f"output '{name}' is declared {type_name(expected)} but the "
                    f"step returned {type_name(type(value))}"
                )
        record.outputs = {name: _save(ctx, name, value) for name, value in outputs.items()}
    except BaseException as exc:
        # sys.exit() in a step fails the step; only interrupts propagate
        if isinstance(exc, (KeyboardInterrupt, GeneratorExit, Terminated)):
            raise
        record.status = "failed"
        record.finished_at = time.time()
        record.error = f"{type(exc).__name__}: {exc}"
        record.traceback = "".join(traceback.format_exception(exc))
        if log_text:
            runs.store.write_text(logs_key, log_text)
            record.logs_uri = runs.store.uri(logs_key)
        # if the store itself is failing, the error raised below still says what happened
        with contextlib.suppress(OSError, ArtifactError):
            runs.write_step(record)
        notify("zen_step_failed", run_id=ctx.run_id, step=step, record=record, error=exc)
        raise StepFailedError(step.id, record.error, record.traceback, record) from exc
    if log_text:
        runs.store.write_text(logs_key, log_text)
        record.logs_uri = runs.store.uri(logs_key)
    record.status = "completed"
    record.finished_at = time.time()
    # order matters: outputs, then the completed record, then the cache entry
    runs.write_step(record)
    if step.enable_cache:  # written even when this run ignores the cache, for later runs
        runs.write_cache(key, CacheEntry(run_id=ctx.run_id, step_id=step.id, outputs=record.outputs))
    notify("zen_step_finished", run_id=ctx.run_id, step=step, record=record)
    return record


def execute_attempt(ctx: StepRun) -> StepRecord:
    """Like :func:`execute_step`, but a failure is returned as the failed record."""
    try:
        return execute_step(ctx)
    except StepFailedError as exc:
        assert isinstance(exc.record, StepRecord)
        return exc.record


RetryCallback = Callable[[int, StepRecord, float], None]


def with_retries(
    step: StepSpec,
    attempt: Callable[[int], StepRecord],
    *,
    on_retry: RetryCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stopped: Callable[[], bool] = lambda: False,
) -> StepRecord:
    """Run ``attempt(n)`` for n = 1, 2, ... until it succeeds or ``step.retry`` is used up.

    Orchestrators that retry on the client side share this loop; ``on_retry`` hears
    ``(failed attempt number, its record, seconds until the next attempt)``. No new
    attempt starts once ``stopped()`` is true (the run was interrupted).
    Returns the last attempt's record.
    """
    number = 1
    while True:
        record = attempt(number)
        if record.status != "failed" or number > step.retry.max_retries or stopped():
            return record
        delay = step.retry.wait_before(number + 1)
        if on_retry is not None:
            on_retry(number, record, delay)
        sleep(delay)
        if stopped():
            return record
        number += 1
