"""Benchmark of zen-docker's image builder on a real container engine.

Figures, each beside its target:

* no-op rebuild: nothing changed, so the builder only hashes the build inputs and
  asks the registry (or the local engine) for the tag. Measured in a fresh process
  with a fresh builder (no in-memory cache), as an orchestrator pays it before a run.
  Target: at most 1 s.
* code-only change: one source file changed. The image is rebuilt and pushed, and
  every dependency layer must come from the engine's cache (nothing reinstalled).

The engine is the one ``DOCKER_HOST`` names, else the one ``tools/container-engine/setup.sh``
runs (started here if needed, and stopped at the end if it was started here).
Run with ``python tools/bench_docker.py`` (``--strict`` exits 1 when a target is missed).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE_TOOLS = ROOT / "tools" / "container-engine"
NOOP_TARGET = 1.0
NOOP_REPEAT = 5

PIPELINE = textwrap.dedent("""
    from zen_core import pipeline, step

    # {token}


    @step
    def load(n: int = 100) -> list[int]:
        return list(range(n))


    @step
    def total(values: list[int]) -> int:
        return sum(values)


    @pipeline
    def bench() -> None:
        total(load())
""")

# Run in a child process from the project folder: a fresh builder builds the images
# and prints what it did as JSON on the last line.
CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    sys.path.insert(0, ".")
    from zen_core.stacks import Stack
    from zen_docker.builder import DockerImageBuilder
    from zen_docker.config import DockerImageBuilderConfig
    import benchpipe
    spec = benchpipe.bench.compile()
    t1 = time.perf_counter()
    builder = DockerImageBuilder(config=DockerImageBuilderConfig(output="{output}"), stack=Stack())
    images = builder.build_images(spec)
    t2 = time.perf_counter()
    reports = [
        {{"action": r.action, "reason": r.reason, "layers": r.layers, "pushed": r.pushed}}
        for r in builder.reports
    ]
    print(json.dumps({{"setup": t1 - t0, "build": t2 - t1, "images": images, "reports": reports}}))
""")


def parse_exports(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        parts = shlex.split(line, comments=True)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            env[key] = value
    return env


def api_answers(host: str | None) -> bool:
    if not host:
        return False
    import docker
    import docker.errors

    try:
        client = docker.DockerClient(base_url=host, version="1.41", timeout=10)
        return bool(client.ping())
    except (docker.errors.DockerException, OSError):
        return False


def ensure_engine() -> bool:
    """Point DOCKER_HOST at a working engine; True when this process started it."""
    if api_answers(os.environ.get("DOCKER_HOST")):
        return False
    home = Path(os.environ.get("ZEN_ENGINE_HOME") or Path.home() / ".cache" / "zen" / "engine")
    env_file = home / "env.sh"
    if env_file.is_file():
        known = parse_exports(env_file.read_text())
        if api_answers(known.get("DOCKER_HOST")):
            os.environ.update(known)
            return False
    print("starting the container engine (tools/container-engine/setup.sh) ...", file=sys.stderr)
    proc = subprocess.run([str(ENGINE_TOOLS / "setup.sh")], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"the container engine did not start:\n{proc.stderr[-3000:]}")
    os.environ.update(parse_exports(proc.stdout))
    return True


def make_stack(config_dir: Path, store: Path) -> str:
    from zen_core import plugins
    from zen_core.stacks import StackManager

    os.environ["ZEN_CONFIG_DIR"] = str(config_dir)
    plugins.reset()
    manager = StackManager()
    manager.register_component("artifact_store", "bench", "local", {"path": str(store)})
    manager.register_component("orchestrator", "bench", "local_docker", {"progress": "plain"})
    components = {"orchestrator": "bench", "artifact_store": "bench"}
    registry = os.environ.get("ZEN_TEST_REGISTRY")
    where = "the local engine"
    if registry:
        manager.register_component(
            "container_registry", "bench", "default", {"uri": registry, "insecure": True}
        )
        components["container_registry"] = "bench"
        where = f"registry {registry}"
    manager.register_stack("bench", components)
    manager.set_active("bench")
    manager.save()
    return where


def snapshot_python(tmp: Path) -> str:
    """A venv with zen-core and zen-docker installed from a copy of this checkout.

    The builder hashes the zen packages' sources (development mode); a copy keeps the
    figures steady while someone edits the checkout during the benchmark.
    """
    import shutil

    uv = shutil.which("uv")
    if uv is None:
        sys.exit("the benchmark needs uv (pip install uv), or pass --live")
    copies = []
    for name in ("zen-core", "zen-docker"):
        dest = tmp / "snapshot" / name
        shutil.copytree(
            ROOT / "packages" / name, dest, ignore=shutil.ignore_patterns(".*cache*", "__pycache__")
        )
        copies.append(str(dest))
    venv = tmp / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "pip", "install", "-q", "-p", python, *copies], check=True)
    return python


def build(python: str, project: Path, output: str = "off") -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", CHILD.format(output=output)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def is_dependency_install(instruction: str) -> bool:
    return instruction.startswith(("RUN apt-get", "RUN python -m pip install -r"))


def table(rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--live",
        action="store_true",
        help="use this interpreter's zen packages instead of a venv made from a copy of the checkout",
    )
    args = parser.parse_args()

    started = ensure_engine()
    try:
        with tempfile.TemporaryDirectory(prefix="zen-bench-docker-") as tmp:
            tmp_path = Path(tmp)
            project = tmp_path / "project"
            project.mkdir()
            where = make_stack(tmp_path / "config", tmp_path / "store")
            python = sys.executable if args.live else snapshot_python(tmp_path)
            (project / "benchpipe.py").write_text(PIPELINE.format(token=uuid.uuid4().hex))

            _, first = build(python, project, output="summary")
            noop = [build(python, project) for _ in range(NOOP_REPEAT)]
            noop_build = statistics.median(r["build"] for _, r in noop)
            noop_wall = statistics.median(w for w, _ in noop)
            noop_actions = {rep["action"] for _, r in noop for rep in r["reports"]}

            (project / "benchpipe.py").write_text(PIPELINE.format(token=uuid.uuid4().hex))
            _, change = build(python, project, output="summary")
            report = change["reports"][0]
            layers = report["layers"]
            code_at = next(i for i, (instr, _) in enumerate(layers) if instr.startswith("COPY code/"))
            # dependency installs: system packages and requirements (the zen wheels' layer
            # is zen's own code, which --live may see change)
            deps = [(instr, cached) for instr, cached in layers[:code_at] if is_dependency_install(instr)]
            deps_cached = bool(deps) and all(cached for _, cached in deps)
            only_code = all(not is_dependency_install(instr) for instr, cached in layers if not cached)
    finally:
        if started:
            subprocess.run([str(ENGINE_TOOLS / "teardown.sh")], capture_output=True, check=False)

    noop_met = noop_build <= NOOP_TARGET and noop_actions == {"skipped"}
    change_met = report["action"] == "built" and deps_cached and only_code
    rows = [
        (
            "first build of the bench pipeline (info)",
            f"{first['build']:.2f} s",
            "-",
            "-",
        ),
        (
            f"no-op rebuild: hash inputs + look up tag in {where}",
            f"{noop_build:.3f} s",
            f"<= {NOOP_TARGET:g} s",
            "yes" if noop_met else "NO",
        ),
        (
            "no-op rebuild, whole process incl. Python start + imports (info)",
            f"{noop_wall:.2f} s",
            "-",
            "-",
        ),
        (
            "code-only change: rebuild (+ push)",
            f"{change['build']:.2f} s",
            "dependency layers from cache",
            "yes" if change_met else "NO",
        ),
    ]
    print()
    print("zen-docker image builder benchmark")
    print(table(rows, ("figure", "measured", "target", "met?")))
    print()
    print(f"code-only change: {report['reason']}")
    print(
        table(
            [
                (instr if len(instr) <= 72 else instr[:69] + "...", "cache hit" if cached else "rebuilt")
                for instr, cached in layers
            ],
            ("build step", "layer"),
        )
    )
    print(f"\nno-op rebuild actions: {sorted(noop_actions)}; first build: {first['reports'][0]['action']}")
    missed = not (noop_met and change_met)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
