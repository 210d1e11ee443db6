"""The pipelines the conformance suite runs.

They live in zen-core itself so that every backend can import them by source
string: a container or pod that has zen-core installed can run them with no
test code shipped alongside.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Annotated

from zen_core.context import step_context
from zen_core.pipelines import collect, pipeline
from zen_core.steps import step

logger = logging.getLogger("zen.conformance")
LARGE_SIZE = 100 * 1024 * 1024


@step
def number(value: int = 1) -> int:
    return value


@step
def add(x: int, y: int = 1) -> int:
    return x + y


@step
def multiply(x: int, factor: int = 2) -> int:
    return x * factor


@step
def total(values: list[int]) -> int:
    return sum(values)


@step
def combine(a: int, b: int) -> int:
    return a * 100 + b


@step
def divmod_step(x: int, by: int) -> tuple[Annotated[int, "quotient"], Annotated[int, "remainder"]]:
    return x // by, x % by


@step
def zeta_alpha(x: int) -> tuple[Annotated[str, "zeta"], Annotated[int, "alpha"]]:
    # output names deliberately out of alphabetical order: position, not name order, counts
    return f"zeta of {x}", x + 1


@step
def describe(quotient: int, remainder: int, label: str) -> str:
    return f"{label}: {quotient} r {remainder}"


@step(retries=0)
def explode(x: int) -> int:
    raise RuntimeError(f"conformance failure on purpose (input {x})")


@step
def slow_number(value: int, seconds: float = 0.5) -> int:
    time.sleep(seconds)
    return value


@step(retries=3, retry_delay=0.1, retry_backoff=2.0)
def flaky(x: int, fail_times: int = 2) -> int:
    attempt = step_context().attempt
    if attempt <= fail_times:
        raise RuntimeError(f"flaky step failing on purpose at attempt {attempt}")
    return x + attempt


@step
def big_blob(size: int = LARGE_SIZE) -> bytes:
    block = hashlib.sha256(b"zen").digest() * 32  # 1 KiB, deterministic
    return block * (size // len(block))


@step
def blob_digest(blob: bytes) -> Annotated[str, "digest"]:
    return f"{len(blob)}:{hashlib.sha256(blob).hexdigest()}"


@step
def chatty(x: int) -> int:
    print(f"stdout line from chatty, x={x}")
    import sys

    print("stderr line from chatty", file=sys.stderr)
    logger.info("log record from chatty")
    return x


@pipeline
def linear_chain() -> None:
    multiply(add(add(number(value=1))))  # ((1+1)+1)*2 = 6


@pipeline
def diamond() -> None:
    top = number(value=3)
    combine(a=add(top), b=multiply(top))  # 4*100 + 6 = 406


@pipeline
def fan_out_fan_in() -> None:
    source = number(value=10)
    parts = [add(source, y=i) for i in range(5)]
    total(values=collect(parts))  # 10*5 + 0+1+2+3+4 = 60


@pipeline
def parameters(start: int = 2, factor: int = 3) -> None:
    multiply(add(number(value=start), y=10), factor=factor)  # (start+10)*factor


@pipeline
def multiple_outputs() -> None:
    q, r = divmod_step(number(value=17), by=5)
    describe(quotient=q, remainder=r, label="17/5")
    zeta_alpha(q)


@pipeline
def failing() -> None:
    base = number(value=1)
    broken = explode(base)
    add(broken, id="after_failure")  # skipped
    multiply(add(base, id="independent"), id="independent_tail")  # completes


@pipeline
def retrying() -> None:
    flaky(number(value=10))


@pipeline
def large_artifact() -> None:
    blob_digest(big_blob())


@pipeline
def logs() -> None:
    chatty(number(value=7))


@pipeline
def ordering() -> None:
    first = slow_number(value=1, seconds=0.3, id="first")
    number(value=2, id="second", after=[first])
