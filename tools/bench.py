"""Speed and memory benchmarks of zen on the local stack.

Each figure is measured on whole processes, start to exit, as a user sees them:
a child Python runs a pipeline in a fresh config dir and the parent times it
and reads its peak RSS from ``wait4``. Caching is off unless the figure is about
caching. Prints every figure beside its target; ``--strict`` exits 1 if one is
missed. Run with ``python3 -m nox -s bench`` (or ``python tools/bench.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_PIPELINES = textwrap.dedent("""
    import time
    from zen_core import collect, pipeline, step

    @step
    def start() -> int:
        return 0

    @step
    def inc(x: int) -> int:
        return x + 1

    @step
    def nap(i: int) -> int:
        time.sleep(1)
        return i

    @step
    def join(values: list[int]) -> int:
        return sum(values)

    def chain(n):
        @pipeline(name=f"chain{n}")
        def p():
            x = start()
            for _ in range(n - 1):
                x = inc(x)
        return p

    def fan(n):
        @pipeline(name=f"fan{n}")
        def p():
            s = start()
            join(collect([inc(s) for _ in range(n)]))
        return p

    @pipeline
    def sleepers():
        join(collect([nap(i=i) for i in range(4)]))
""")


@dataclass
class Sample:
    wall: float
    rss_mib: float


def run_child(code: str, workdir: Path, env: dict[str, str]) -> Sample:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}):\n{code}\n{err}")
    return Sample(wall, usage.ru_maxrss / 1024)


def measure(
    code: str, workdir: Path, repeat: int, *, fresh_config: bool = True, setup: str | None = None
) -> Sample:
    """Median wall time and max RSS over ``repeat`` runs, each in a fresh config dir."""
    samples = []
    for i in range(repeat):
        cfg = workdir / f"cfg-{time.monotonic_ns()}-{i}"
        env = {**os.environ, "ZEN_CONFIG_DIR": str(cfg), "PYTHONPATH": str(workdir)}
        if setup:
            run_child(setup, workdir, env)
        samples.append(run_child(code, workdir, env))
        if not fresh_config:
            break
    return Sample(statistics.median(s.wall for s in samples), max(s.rss_mib for s in samples))


def run_code(pipe: str, cache: bool = False) -> str:
    return f"import bench_pipelines as b; b.{pipe}.run(enable_cache={cache})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per small figure (median)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows: list[tuple[str, str, str, bool]] = []

    def row(figure: str, value: float, target: float, unit: str, fmt: str = "{:.3f}") -> None:
        rows.append(
            (figure, f"{fmt.format(value)} {unit}", f"≤ {fmt.format(target)} {unit}", value <= target)
        )
        console.print(f"  {figure}: {fmt.format(value)} {unit} (target ≤ {fmt.format(target)})")

    with tempfile.TemporaryDirectory(prefix="zen-bench-") as tmp:
        work = Path(tmp)
        (work / "bench_pipelines.py").write_text(BENCH_PIPELINES)
        r = args.repeat
        console.print(
            f"[bold]zen benchmarks[/bold] (python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cores, median of {r} runs for small figures)"
        )

        empty = measure("pass", work, r)
        imp = measure(
            "import time; t=time.perf_counter(); import zen_core; "
            "import sys; sys.stderr.write(str(time.perf_counter()-t))",
            work,
            r,
        )
        api = measure("from zen_core import step, pipeline", work, r)
        row("import zen_core (process, minus bare python)", imp.wall - empty.wall, 0.150, "s")
        row("from zen_core import step, pipeline (minus bare python)", api.wall - empty.wall, 0.150, "s")

        helps = []
        for _ in range(r):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "zen_core.cli.main", "--help"],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "ZEN_CONFIG_DIR": str(work)},
            )
            helps.append(time.perf_counter() - t0)
        row("zen --help", statistics.median(helps), 0.3, "s")

        c10 = measure(run_code("chain(10)"), work, r)
        row("10-step chain, start to exit", c10.wall, 0.5, "s")
        c110 = measure(run_code("chain(110)"), work, r)
        row("cost per extra step (110 vs 10 steps)", (c110.wall - c10.wall) / 100 * 1000, 5.0, "ms", "{:.2f}")
        sl = measure(run_code("sleepers"), work, max(1, r // 2))
        row("4 parallel sleep(1) steps + join", sl.wall, 1.3, "s")
        c1000 = measure(run_code("chain(1000)"), work, 1)
        row("1,000-step chain", c1000.wall, 10.0, "s", "{:.2f}")
        row("1,000-step chain peak RSS", c1000.rss_mib, 150, "MiB", "{:.0f}")
        f1000 = measure(run_code("fan(1000)"), work, 1)
        row("1,000-wide fan-out/fan-in", f1000.wall, 10.0, "s", "{:.2f}")
        row("1,000-wide fan-out/fan-in peak RSS", f1000.rss_mib, 150, "MiB", "{:.0f}")
        cached = measure(run_code("chain(10)", cache=True), work, r, setup=run_code("chain(10)", cache=True))
        row("fully cached rerun of the 10-step chain", cached.wall, 0.4, "s")

    table = Table(title="zen benchmarks: local stack, process start to exit")
    for col in ("figure", "measured", "target", "met"):
        table.add_column(col)
    for figure, measured, target, ok in rows:
        table.add_row(figure, measured, target, "[green]yes[/green]" if ok else "[red]NO[/red]")
    console.print(table)
    missed = [f for f, _, _, ok in rows if not ok]
    if missed:
        console.print(f"[red]missed:[/red] {', '.join(missed)}")
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
