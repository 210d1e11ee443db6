"""The universal step entrypoint: run one step of one run, from the spec and store alone.

Every flavor ends up running::

    python -m zen_core.entrypoint --store URL --run-id ID --step STEP_ID \\
        [--spec URI] [--params JSON] [--attempt N] [--no-cache]

What the step prints is captured into its log in the store and also streamed,
line by line, to this process's stderr, so a backend's own log view (``kubectl
logs``, a CI job log) shows it live and a step that crashes hard still leaves its
output behind. zen's own lines on stderr start with ``zen: ``; the line
``zen: step 'ID' running`` marks a cache miss that starts executing.

``--spec`` defaults to the spec the client stored with the run. ``--params``
overrides run parameter values (a backend that supplies them at trigger time
passes them here); otherwise they come from the run record. The exit code is 0
when the step completed or was cached, 1 when it failed (its record holds the
traceback), 2 for bad arguments or a missing run, 143 when stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

EXIT_OK, EXIT_STEP_FAILED, EXIT_USAGE, EXIT_TERMINATED = 0, 1, 2, 143
#: prefix of the entrypoint's own lines on stderr (everything else is the step's output)
MARKER = "zen: "


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m zen_core.entrypoint", description="Run one step of a zen pipeline run."
    )
    p.add_argument("--store", required=True, help="artifact store URL")
    p.add_argument("--run-id", required=True)
    p.add_argument("--step", required=True, help="step invocation id")
    p.add_argument("--spec", help="URI of the pipeline spec (default: the run's stored spec)")
    p.add_argument("--params", help="JSON object of pipeline parameter values")
    p.add_argument("--attempt", type=int, default=int(os.environ.get("ZEN_STEP_ATTEMPT", "1")))
    p.add_argument("--no-cache", action="store_true", help="ignore cached outputs")
    p.add_argument(
        "--source-root",
        default=os.environ.get("ZEN_SOURCE_ROOT"),
        help="folder put first on sys.path to import step code (default: cwd)",
    )
    return p


def _terminated(signum: int, frame: object) -> None:
    from .errors import Terminated

    raise Terminated("SIGTERM")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # In a container the entrypoint is PID 1, which ignores SIGTERM by default: exit on
    # it (143), so a stopped pod or container ends now rather than after its grace
    # period. The step is not recorded failed: whoever stopped the run closes its record.
    if threading.current_thread() is threading.main_thread():  # (tests call main() in threads)
        signal.signal(signal.SIGTERM, _terminated)
    sys.path.insert(0, args.source_root or os.getcwd())

    import fsspec

    from .artifacts.store import ArtifactStore
    from .errors import StepFailedError, Terminated, ZenError
    from .execution import StepRun, execute_step
    from .records import RunRecord, RunStore
    from .spec import PipelineSpec

    try:
        runs = RunStore(ArtifactStore(args.store))
        if args.spec:
            with fsspec.open(args.spec, "rb") as f:
                spec = PipelineSpec.from_json(f.read())
        else:
            spec = runs.read_spec(args.run_id)
        step = spec.step(args.step)
        given = json.loads(args.params) if args.params else {}
        defaults = {n: p.default for n, p in spec.parameters.items() if not p.required}
        try:
            run = runs.read_run(args.run_id)
        except ZenError:
            # a run started by the backend itself (a schedule, a UI trigger): record it on first sight
            run = RunRecord(
                run_id=args.run_id,
                pipeline=spec.name,
                spec_digest=spec.digest(),
                enable_cache=spec.enable_cache,
                parameters={**defaults, **given},
            )
            if not runs.store.exists(runs.store.key("runs", args.run_id, "spec.json")):
                runs.write_spec(args.run_id, spec)  # so `zen run show` and later steps find it
            runs.write_run(run)
        params = {**defaults, **run.parameters, **given}
    except (ZenError, KeyError, ValueError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"zen entrypoint: {message}", file=sys.stderr)
        return EXIT_USAGE

    enable_cache = False if args.no_cache else run.enable_cache
    started = time.perf_counter()
    err = sys.__stderr__ or sys.stderr

    def stream(line: str) -> None:
        err.write(line + "\n")
        err.flush()

    ctx = StepRun(
        spec=spec,
        step=step,
        run_id=args.run_id,
        runs=runs,
        parameters=params,
        enable_cache=enable_cache,
        attempt=args.attempt,
        echo=stream,
        on_start=lambda: stream(f"{MARKER}step '{step.id}' running"),
    )
    try:
        record = execute_step(ctx)
    except StepFailedError as exc:
        print(exc.traceback_text, file=sys.stderr)
        print(f"{MARKER}step '{step.id}' failed (attempt {args.attempt})", file=sys.stderr)
        return EXIT_STEP_FAILED
    except Terminated:
        print(f"{MARKER}step '{step.id}' terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    took = time.perf_counter() - started
    print(f"{MARKER}step '{step.id}' {record.status} in {took:.2f}s", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
