"""Run a compiled KFP pipeline on this machine with KFP's own local executor.

``kfp.local`` with its ``DockerRunner`` runs each task of an IR as a container on
the Docker API that ``DOCKER_HOST`` names, one task at a time, honouring task
retries, exit handlers and the failure rules of KFP (dependents of a failed task
do not run). The ``kubeflow`` orchestrator's ``local`` mode uses it, and so do the
tests of the KFP client path. It runs as its own process::

    python -m zen_kubeflow.local_runner PIPELINE.yaml --result result.json \\
        [--arguments JSON] [--pipeline-root DIR] [--mount SRC:DST]... [--label K=V]... \\
        [--network-mode MODE]

and writes ``{"state": "SUCCEEDED" | "FAILED" | "CANCELED", "error": ..., "failed_tasks": [...]}``.
SIGTERM stops it: the running container is removed and the state is ``CANCELED``.

kfp.local's container handler is replaced while this runs, for two reasons seen
with podman's Docker API (podman 4.3): kfp.local starts containers with
``auto_remove=True``, and when a container exits before kfp reads its logs or
exit code, podman answers 500 ("no such container") where Docker answers 404, so
kfp either crashes or (on 404) assumes exit code 0 and reports a failed step as
succeeded. The replacement waits for the exit code, then removes the container.
It also finds images by any of their names (podman names a locally built
``zen:1`` ``docker.io/library/zen:1``), where kfp compares tags literally and
would try to pull.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_INNER = re.compile(r"Inner task failed: (.*)\.\s*$", re.S)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Canceled(BaseException):
    """SIGTERM arrived: stop the current container and report the run canceled."""


def _run_container(
    client: Any, image: str, command: list[str], volumes: dict[str, Any], **kwargs: Any
) -> int:
    import docker  # type: ignore[import-untyped]

    kwargs.pop("auto_remove", None)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        print(f"Pulling image {image!r}", flush=True)
        client.images.pull(image)
    container = client.containers.run(
        image=image, command=command, detach=True, stdout=True, stderr=True, volumes=volumes, **kwargs
    )
    try:
        for chunk in container.logs(stream=True, follow=True):
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
        code: int = container.wait()["StatusCode"]
        return code
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


@contextlib.contextmanager
def _podman_safe_handler() -> Iterator[None]:
    from kfp.local import docker_task_handler  # type: ignore[import-untyped]

    original = docker_task_handler.run_docker_container
    docker_task_handler.run_docker_container = _run_container
    try:
        yield
    finally:
        docker_task_handler.run_docker_container = original


def _mounts(specs: list[str]) -> list[Any]:
    import docker  # type: ignore[import-untyped]

    mounts = []
    for spec in specs:
        source, _, target = spec.partition(":")
        mounts.append(docker.types.Mount(target=target or source, source=source, type="bind"))
    return mounts


def run(
    package: str | Path,
    arguments: dict[str, Any],
    *,
    pipeline_root: str,
    mounts: list[str] | None = None,
    labels: dict[str, str] | None = None,
    network_mode: str | None = None,
) -> dict[str, Any]:
    """Run the pipeline package under kfp.local's DockerRunner; return the result dict."""
    from kfp import components, local  # type: ignore[import-untyped]

    run_args: dict[str, Any] = {}
    if mounts:
        run_args["mounts"] = _mounts(mounts)
    if labels:
        run_args["labels"] = dict(labels)
    if network_mode:
        run_args["network_mode"] = network_mode
    local.init(
        runner=local.DockerRunner(**run_args),
        pipeline_root=pipeline_root,
        raise_on_error=True,
        enable_caching=False,
    )
    pipeline = components.load_component_from_file(str(package))
    with _podman_safe_handler():
        try:
            pipeline(**arguments)
        except RuntimeError as exc:
            message = _ANSI.sub("", str(exc))
            match = _INNER.search(message)
            chain = match.group(1) if match else ""
            failed = [t.strip().strip("'") for t in chain.split(" inside ")] if chain else []
            return {"state": "FAILED", "error": message, "failed_tasks": failed}
    return {"state": "SUCCEEDED", "error": "", "failed_tasks": []}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zen_kubeflow.local_runner", description=__doc__)
    p.add_argument("package", help="compiled pipeline YAML")
    p.add_argument("--result", required=True, help="where to write the result JSON")
    p.add_argument("--arguments", default="{}", help="JSON object of pipeline arguments")
    p.add_argument("--pipeline-root", help="kfp.local's output folder (default: a temporary one)")
    p.add_argument("--mount", action="append", default=[], metavar="SRC[:DST]", help="bind mount")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="container label")
    p.add_argument("--network-mode", help="Docker network mode of the task containers")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def _cancel(signum: int, frame: Any) -> None:
        raise _Canceled()

    signal.signal(signal.SIGTERM, _cancel)
    labels = dict(item.partition("=")[::2] for item in args.label)
    root = args.pipeline_root or tempfile.mkdtemp(prefix="zen-kfp-local-")
    try:
        result = run(
            args.package,
            json.loads(args.arguments),
            pipeline_root=os.path.abspath(root),
            mounts=args.mount,
            labels=labels,
            network_mode=args.network_mode,
        )
    except _Canceled:
        result = {"state": "CANCELED", "error": "the run was stopped", "failed_tasks": []}
    except Exception as exc:  # noqa: BLE001 - reported in the result file
        result = {"state": "FAILED", "error": f"{type(exc).__name__}: {exc}", "failed_tasks": []}
    Path(args.result).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["state"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
