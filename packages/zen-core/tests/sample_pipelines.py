"""Pipelines importable by source string (the entrypoint and subprocess tests use them)."""

from __future__ import annotations

from typing import Annotated

from zen_core import pipeline, step


@step
def seed(value: int = 3) -> int:
    return value


@step
def square(x: int) -> int:
    print(f"squaring {x}")
    return x * x


@step
def split_digits(x: int) -> tuple[Annotated[int, "tens"], Annotated[int, "ones"]]:
    return x // 10, x % 10


@step
def fail_if(x: int, limit: int = 10) -> int:
    if x > limit:
        raise ValueError(f"{x} is over the limit {limit}")
    return x


@pipeline
def squares(start: int = 3) -> None:
    _tens, ones = split_digits(square(seed(value=start)))
    fail_if(ones, limit=100)


@pipeline
def failing(start: int = 5) -> None:
    fail_if(square(seed(value=start)), limit=10, id="check")
    seed(value=1, id="independent")


@step
def nap(seconds: float = 30.0) -> int:
    import time

    time.sleep(seconds)
    return 0


@pipeline
def napping() -> None:
    nap()
