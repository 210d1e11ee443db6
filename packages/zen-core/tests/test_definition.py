"""@step / @pipeline definitions and the compile-time errors they raise."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from zen_core import PipelineDefinitionError, collect, pipeline, step
from zen_core.errors import InvalidNameError
from zen_core.spec import ArtifactInput, ArtifactListInput, LiteralInput, ParameterInput


@step
def produce(value: int = 1) -> int:
    return value


@step
def consume(x: int, scale: float = 1.0) -> float:
    return x * scale


@step
def text() -> str:
    return "hello"


@step
def pair(x: int) -> tuple[Annotated[int, "left"], Annotated[str, "right"]]:
    return x, str(x)


@step
def nothing() -> None:
    return None


@step
def many(values: list[int]) -> int:
    return sum(values)


def test_step_outside_a_pipeline_is_a_plain_call() -> None:
    assert consume(3, scale=2.0) == 6.0
    assert pair(4) == (4, "4")


def test_outputs_come_from_the_return_annotation() -> None:
    assert list(produce.outputs) == ["output"]
    assert pair.outputs == {"left": int, "right": str}
    assert nothing.outputs == {}

    @step
    def unannotated(x: int):  # type: ignore[no-untyped-def]
        return x

    assert list(unannotated.outputs) == ["output"]

    @step
    def named() -> Annotated[int, "count"]:
        return 1

    assert list(named.outputs) == ["count"]


def test_compiled_spec_records_inputs_outputs_and_unique_ids() -> None:
    @pipeline
    def p(scale: float = 2.0) -> None:
        a = produce(value=5)
        b = produce()
        consume(a, scale=scale)
        consume(b, scale=0.5, id="custom")
        left, right = pair(a)
        many(collect(left, left))
        nothing(after=[right])

    spec = p.compile()
    assert [s.id for s in spec.steps] == [
        "produce",
        "produce_2",
        "consume",
        "custom",
        "pair",
        "many",
        "nothing",
    ]
    consume_spec = spec.step("consume")
    assert consume_spec.inputs["x"] == ArtifactInput(step="produce", output="output")
    assert consume_spec.inputs["scale"] == ParameterInput(name="scale")
    assert spec.step("custom").inputs["scale"] == LiteralInput(value=0.5)
    assert spec.step("produce").inputs["value"] == LiteralInput(value=5)
    assert "value" not in spec.step("produce_2").inputs  # defaults stay in the code
    assert isinstance(spec.step("many").inputs["values"], ArtifactListInput)
    assert spec.step("nothing").after == ["pair"]
    assert spec.step("nothing").upstream == ["pair"]
    assert set(spec.step("pair").outputs) == {"left", "right"}
    assert spec.parameters["scale"].default == 2.0
    assert spec.source.endswith(":test_compiled_spec_records_inputs_outputs_and_unique_ids.<locals>.p")


def _error(p: Any) -> str:
    with pytest.raises(PipelineDefinitionError) as info:
        p.compile()
    return str(info.value)


def test_missing_input_names_pipeline_step_and_input() -> None:
    @pipeline
    def broken() -> None:
        consume()

    msg = _error(broken)
    assert "pipeline 'broken'" in msg and "step 'consume'" in msg and "missing input 'x'" in msg


def test_unknown_input_is_rejected() -> None:
    @pipeline
    def broken() -> None:
        consume(produce(), nope=3)

    msg = _error(broken)
    assert "step 'consume'" in msg and "nope" in msg


def test_type_mismatch_between_output_and_input() -> None:
    @pipeline
    def broken() -> None:
        consume(text())

    msg = _error(broken)
    assert "input 'x' expects int" in msg and "output 'output' of step 'text' is str" in msg


def test_int_output_may_feed_a_float_input() -> None:
    @step
    def takes_float(v: float) -> float:
        return v

    @pipeline
    def ok() -> None:
        takes_float(produce())

    ok.compile()


def test_literal_of_the_wrong_type() -> None:
    @pipeline
    def broken() -> None:
        consume(produce(), scale="fast")

    msg = _error(broken)
    assert "input 'scale' expects float" in msg and "valid number" in msg  # pydantic's reason


def test_duplicate_explicit_ids() -> None:
    @pipeline
    def broken() -> None:
        produce(id="same")
        produce(id="same")

    assert "duplicate step id" in _error(broken)


def test_cycle_through_after() -> None:
    @pipeline
    def broken() -> None:
        produce(id="a", after=["b"])
        produce(id="b", after=["a"])

    msg = _error(broken)
    assert "cycle" in msg and "a" in msg and "b" in msg


def test_after_unknown_step() -> None:
    @pipeline
    def broken() -> None:
        produce(after=["ghost"])

    assert "unknown step 'ghost'" in _error(broken)


def test_unserialisable_parameter() -> None:
    @step
    def takes_any(obj: Any) -> None:
        return None

    @pipeline
    def broken() -> None:
        takes_any(obj=object())

    msg = _error(broken)
    assert "input 'obj' is not serialisable" in msg


def test_pipeline_parameter_cannot_be_computed_with() -> None:
    @pipeline
    def broken(n: int = 2) -> None:
        produce(value=n + 1)

    assert "parameter 'n' is only known when the run starts" in _error(broken)


def test_output_refs_cannot_be_branched_on() -> None:
    @pipeline
    def broken() -> None:
        if produce():
            produce()

    assert "branch inside a step" in _error(broken)


def test_list_of_outputs_needs_collect() -> None:
    @pipeline
    def broken() -> None:
        many([produce(), produce()])

    assert "collect" in _error(broken)


def test_step_with_no_outputs_cannot_feed_an_input() -> None:
    @pipeline
    def broken() -> None:
        consume(nothing())

    assert "has no outputs" in _error(broken)


def test_empty_pipeline() -> None:
    @pipeline
    def empty() -> None:
        pass

    assert "calls no steps" in _error(empty)


def test_reserved_and_variadic_inputs_rejected_at_decoration() -> None:
    with pytest.raises(PipelineDefinitionError, match="reserved"):

        @step
        def bad(id: int) -> int:
            return id

    with pytest.raises(PipelineDefinitionError, match=r"\*args"):

        @step
        def bad2(*xs: int) -> int:
            return 0


def test_unsafe_names_rejected() -> None:
    with pytest.raises(InvalidNameError):
        step(name="../escape")(lambda: 1)  # type: ignore[arg-type]

    @pipeline
    def broken() -> None:
        produce(id="a/b")

    assert "must not contain path separators" in _error(broken)


def test_run_parameters_are_validated_before_anything_runs() -> None:
    @pipeline
    def p(n: int, scale: float = 1.0) -> None:
        consume(produce(value=n), scale=scale)

    assert p.resolve_parameters({"n": "3"}) == {"n": 3, "scale": 1.0}
    with pytest.raises(PipelineDefinitionError, match="needs a value for parameter 'n'"):
        p.resolve_parameters({})
    with pytest.raises(PipelineDefinitionError, match="has no parameter 'm'"):
        p.resolve_parameters({"n": 1, "m": 2})
    with pytest.raises(PipelineDefinitionError, match="parameter 'scale' is invalid"):
        p.resolve_parameters({"n": 1, "scale": "big"})
    assert p.compile().parameters["n"].required


def test_invalid_retry_options() -> None:
    with pytest.raises(PipelineDefinitionError, match="invalid retry options"):

        @step(retries=-1)
        def bad() -> int:
            return 1


def test_orchestrators_that_import_steps_refuse_local_definitions() -> None:
    from zen_core.orchestrator import Orchestrator

    class Remote(Orchestrator):
        flavor = "remote"

        def run(self, request: Any) -> str:
            return "completed"

    @step
    def inner() -> int:
        return 1

    @pipeline
    def p() -> None:
        inner()

    with pytest.raises(PipelineDefinitionError, match=r"step 'inner'.*cannot be imported by the 'remote'"):
        Remote(name="r", config=None, stack=None).validate(p.compile())
    Remote(name="r", config=None, stack=None).validate(produce_pipeline.compile())


@pipeline
def produce_pipeline() -> None:
    consume(produce())
