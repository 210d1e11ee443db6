"""How fast the KFP compiler is: time to compile zen pipelines to KFP IR, printed as a table.

The target (from the zen-kubeflow issue): a 200-step pipeline compiles "in well under a
second". Each figure is the median of several runs in this process, after a warm-up,
for: building the zen spec, compiling it to the IR dict, and writing the YAML. Shapes:
a chain (each step feeds the next), a fan-out/fan-in (one source, N parallel steps, one
join) and a chain where every step has its own resources (so every step gets its own
executor, the IR's worst case). Importing the compiler is timed once, in a fresh
interpreter. Needs zen-core and zen-kubeflow installed; imports no kfp code::

    python tools/bench_kfp.py [--steps 10,50,200,500] [--repeat 5] [--strict]

``--strict`` exits 1 when a 200-step compile (spec to YAML) takes 1 s or more.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

TARGET_STEPS, TARGET_SECONDS = 200, 1.0


def _pipelines(n: int) -> dict[str, Any]:
    from zen_core import collect, pipeline
    from zen_core.testing.pipelines import add, number, total

    @pipeline(name=f"chain{n}")
    def chain() -> None:
        x = number(value=1)
        for _ in range(n - 1):
            x = add(x)

    @pipeline(name=f"fan{n}")
    def fan() -> None:
        s = number(value=1)
        total(values=collect([add(s, y=i) for i in range(n - 2)]))

    return {"chain": chain, "fan-out/in": fan, "own executor per step": chain}


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _per_step_settings(spec: Any) -> Any:
    """The spec with distinct resources on every step (when the step API cannot say it)."""
    steps = [
        s.model_copy(update={"settings": {"kubeflow": {"cpu_request": f"{100 + i}m"}}})
        for i, s in enumerate(spec.steps)
    ]
    return spec.model_copy(update={"steps": steps})


def import_time() -> float:
    code = "import time; t=time.perf_counter(); import zen_kubeflow.compiler; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", default="10,50,200,500", help="comma-separated step counts")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--strict", action="store_true", help="exit 1 if the 200-step target is missed")
    args = parser.parse_args()

    from zen_kubeflow.compiler import compile_pipeline

    sizes = [int(s) for s in args.steps.split(",")]
    print(f"import zen_kubeflow.compiler (fresh interpreter): {import_time() * 1000:.0f} ms\n")
    header = (
        f"{'shape':<24}{'steps':>6}{'spec ms':>10}{'IR ms':>9}{'YAML ms':>10}{'total ms':>10}{'YAML KiB':>10}"
    )
    print(header)
    print("-" * len(header))
    worst_200 = 0.0
    for n in sizes:
        for shape, pipe in _pipelines(n).items():
            t_spec, spec = _median(pipe.compile, args.repeat)
            if shape == "own executor per step":
                spec = _per_step_settings(spec)
            images = {s.id: "registry.example.com/zen:1" for s in spec.steps}
            t_ir, compiled = _median(
                functools.partial(compile_pipeline, spec, images, store_url="gs://b/zen"), args.repeat
            )
            t_yaml, text = _median(compiled.to_yaml, args.repeat)
            total = t_spec + t_ir + t_yaml
            if n == TARGET_STEPS:
                worst_200 = max(worst_200, total)
            print(
                f"{shape:<24}{len(spec.steps):>6}{t_spec * 1000:>10.1f}{t_ir * 1000:>9.1f}"
                f"{t_yaml * 1000:>10.1f}{total * 1000:>10.1f}{len(text) / 1024:>10.0f}"
            )
    if TARGET_STEPS in sizes:
        verdict = "met" if worst_200 < TARGET_SECONDS else "MISSED"
        print(
            f"\ntarget: {TARGET_STEPS} steps in < {TARGET_SECONDS:g} s (spec + IR + YAML): "
            f"worst {worst_200 * 1000:.0f} ms, {verdict}"
        )
        if args.strict and worst_200 >= TARGET_SECONDS:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
