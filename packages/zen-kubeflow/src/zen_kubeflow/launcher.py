"""The launcher KFP runs in every step container, in front of zen's universal entrypoint.

The compiler embeds this file's source in the pipeline IR (``python -c <source>``),
so a step image needs zen-core and the step's code, not zen-kubeflow or kfp. It
imports nothing but the standard library and zen-core, and must keep working
on every Python zen-core supports.

KFP gives a container its inputs as one JSON document, the executor input
(``{{$}}``), whatever their types; the launcher turns it into the entrypoint's
arguments::

    python -c <launcher> step --store URL --job-id {{$.pipeline_job_uuid}} --executor-input {{$}}
    python -c <launcher> finalize --store URL --job-id ... --executor-input {{$}}

``step``
    Reads ``zen_step``, ``zen_run_id`` and ``zen_spec`` and the pipeline parameters
    from the executor input, then runs ``zen_core.entrypoint.main`` with
    ``--params`` (typed values, as given to this KFP run) and ``--attempt``. KFP
    has no placeholder for the retry number, so the attempt is the step's own last
    recorded attempt plus one: a KFP retry of a step that failed on attempt 1 runs
    attempt 2. A run started by KFP itself (the UI, a recurring run) has no
    ``zen_run_id``; its zen run id is derived from the KFP run id, and the spec,
    carried by the IR as ``zen_spec``, is stored with the run on first sight.
``finalize``
    The pipeline's exit handler, run once the steps are done whatever happened:
    steps that never ran get a ``skipped`` record naming why, a step whose
    container died without recording an outcome gets a ``failed`` one, and a run
    still marked ``running`` gets its final state. Runs nobody waits for (detached,
    scheduled, started from the KFP UI) end with complete records this way.
    It always exits 0, so the KFP run's state is the steps' state.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
import zlib
from typing import Any

#: Parameters of every step component that are not pipeline parameters.
RUN_ID_INPUT, SPEC_INPUT, STEP_INPUT, STATUS_INPUT = "zen_run_id", "zen_spec", "zen_step", "status"
RESERVED_INPUTS = frozenset({RUN_ID_INPUT, SPEC_INPUT, STEP_INPUT})
SPEC_PREFIX = "zlib+b64:"


def encode_spec(spec_json: str) -> str:
    """The spec as carried by the IR: compressed, base64, deterministic."""
    return SPEC_PREFIX + base64.b64encode(zlib.compress(spec_json.encode(), 9)).decode()


def decode_spec(blob: str) -> str:
    if not blob.startswith(SPEC_PREFIX):
        raise ValueError("the zen_spec pipeline parameter does not hold a zen pipeline spec")
    return zlib.decompress(base64.b64decode(blob[len(SPEC_PREFIX) :])).decode()


def backend_run_id(pipeline: str, job_id: str) -> str:
    """The zen run id of a KFP run zen did not start: ``<pipeline>-kfp-<KFP run id>``."""
    base = re.sub(r"[^a-z0-9-]+", "-", pipeline.lower()).strip("-")[:40] or "run"
    job = re.sub(r"[^A-Za-z0-9_.-]+", "-", job_id).strip("-.")[:80] or "unknown"
    return f"{base}-kfp-{job}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zen-kubeflow-launcher")
    p.add_argument("mode", choices=["step", "finalize"])
    p.add_argument("--store", required=True)
    p.add_argument("--job-id", default="")
    p.add_argument("--executor-input", required=True)
    return p


def _inputs(executor_input: str) -> dict[str, Any]:
    data = json.loads(executor_input)
    values: dict[str, Any] = dict((data.get("inputs") or {}).get("parameterValues") or {})
    return values


def _open(store_url: str, values: dict[str, Any], job_id: str) -> tuple[Any, Any, str]:
    """The run store, the spec and the zen run id; stores the spec for a new run."""
    from zen_core.artifacts.store import ArtifactStore
    from zen_core.errors import ArtifactError
    from zen_core.records import RunStore
    from zen_core.spec import PipelineSpec

    runs = RunStore(ArtifactStore(store_url))
    blob = values.get(SPEC_INPUT) or ""
    embedded = PipelineSpec.from_json(decode_spec(blob)) if blob else None
    run_id = values.get(RUN_ID_INPUT) or ""
    if not run_id:
        if embedded is None:
            raise ValueError("neither zen_run_id nor zen_spec was given")
        run_id = backend_run_id(embedded.name, job_id)
    try:
        spec = runs.read_spec(run_id)
    except ArtifactError:
        if embedded is None:
            raise
        spec = embedded
        runs.write_spec(run_id, spec)
    return runs, spec, run_id


def run_step(args: argparse.Namespace) -> int:
    values = _inputs(args.executor_input)
    step_id = values.get(STEP_INPUT)
    if not step_id:
        print("zen-kubeflow launcher: no zen_step input", file=sys.stderr)
        return 2
    runs, _spec, run_id = _open(args.store, values, args.job_id)
    params = {k: v for k, v in values.items() if k not in RESERVED_INPUTS}
    previous = runs.read_step(run_id, step_id)
    attempt = previous.attempt + 1 if previous is not None else 1
    from zen_core import entrypoint

    argv = ["--store", args.store, "--run-id", run_id, "--step", step_id, "--attempt", str(attempt)]
    if params:
        argv += ["--params", json.dumps(params, sort_keys=True)]
    return entrypoint.main(argv)


def finalize_records(runs: Any, spec: Any, run_id: str, state: str, error: str = "") -> str:
    """Complete a run's records after its backend ended in ``state``; return the zen status.

    ``state`` is the KFP state of the steps as a whole (``SUCCEEDED``, ``FAILED``,
    ``CANCELED``, ...). Idempotent: the orchestrator calls it again after waiting.
    """
    from zen_core.records import SUCCESS, StepRecord

    stopped = state.upper() in ("CANCELED", "CANCELLED", "CANCELING")
    records = runs.read_steps(run_id)
    status: dict[str, str] = {}
    for step in spec.steps:
        rec = records.get(step.id)
        if rec is not None and rec.status == "running":
            why = "the run was stopped" if stopped else "its container ended without recording an outcome"
            rec = rec.model_copy(
                update={
                    "status": "failed",
                    "finished_at": time.time(),
                    "error": f"step did not finish: {why}" + (f" ({error})" if error and not stopped else ""),
                }
            )
            runs.write_step(rec)
        if rec is None:
            bad = [u for u in step.upstream if status.get(u) not in SUCCESS]
            if bad:
                reason = f"upstream step '{bad[0]}' {status[bad[0]]}"
            elif stopped:
                reason = "the run was stopped before it started"
            else:
                reason = "not started: the run ended early after another step failed"
            rec = StepRecord(run_id=run_id, step_id=step.id, status="skipped", skipped_because=reason)
            runs.write_step(rec)
        status[step.id] = rec.status
    if stopped:
        outcome = "stopped"
    elif all(s in SUCCESS for s in status.values()) and state.upper() != "FAILED":
        outcome = "completed"
    else:
        outcome = "failed"
    try:
        run = runs.read_run(run_id)
    except Exception:  # noqa: BLE001 - a run nobody recorded: nothing more to complete
        return outcome
    if run.status == "running":
        failed = [sid for sid, st in status.items() if st == "failed"]
        message = f"failed steps: {', '.join(failed)}" if failed else (error or None)
        runs.write_run(
            run.model_copy(
                update={
                    "status": outcome,
                    "finished_at": time.time(),
                    "error": None if outcome == "completed" else message,
                }
            )
        )
    return outcome


def run_finalize(args: argparse.Namespace) -> int:
    values = _inputs(args.executor_input)
    final = values.get(STATUS_INPUT) or {}
    state = str(final.get("state") or "")
    error = str((final.get("error") or {}).get("message") or "")
    runs, spec, run_id = _open(args.store, values, args.job_id)
    outcome = finalize_records(runs, spec, run_id, state, error)
    print(f"zen: run '{run_id}' {outcome} (KFP state {state or 'unknown'})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run_step(args) if args.mode == "step" else run_finalize(args)
    except Exception as exc:  # noqa: BLE001 - reported in the container log, exit code says failed
        print(f"zen-kubeflow launcher: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2 if args.mode == "step" else 0


if __name__ == "__main__":
    sys.exit(main())
