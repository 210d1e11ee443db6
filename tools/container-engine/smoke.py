#!/usr/bin/env python3
"""Smoke test of the container engine through the Docker SDK (docker-py).

Uses DOCKER_HOST and ZEN_TEST_REGISTRY from the environment; when DOCKER_HOST
is unset it reads them from $ZEN_ENGINE_HOME/env.sh (written by setup.sh).

Checks, each timed:
  * build FROM python:3.11-slim with a RUN that pip-installs `six` from PyPI
  * run a container, wait() for it, read its logs, remove it
  * exit codes: wait() reports a non-zero exit, run() raises ContainerError
  * tag + push to the local registry; the repository shows in /v2/_catalog
  * a build whose RUN fails raises docker.errors.BuildError
Exits non-zero on the first failure.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import docker
import docker.errors

REPO = "zen-smoke"
TIMINGS: list[tuple[str, float]] = []


def load_env() -> None:
    if os.environ.get("DOCKER_HOST"):
        return
    home = os.environ.get("ZEN_ENGINE_HOME") or str(Path.home() / ".cache/zen/engine")
    env_sh = Path(home) / "env.sh"
    if not env_sh.is_file():
        sys.exit("DOCKER_HOST is not set and no env.sh found: run tools/container-engine/setup.sh first")
    for line in env_sh.read_text().splitlines():
        parts = shlex.split(line, comments=True)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            os.environ.setdefault(key, value)


class step:
    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> step:
        self.t0 = time.monotonic()
        print(f"--> {self.name}", flush=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        dt = time.monotonic() - self.t0
        TIMINGS.append((self.name, dt))
        status = "ok" if exc_type is None else f"FAILED ({exc_type.__name__})"
        print(f"<-- {self.name}: {status} in {dt:.1f}s", flush=True)


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def http_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:  # local registry only
        return json.loads(resp.read().decode())


def build(client: docker.DockerClient, dockerfile: str, tag: str):
    return client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=tag,
        rm=True,
        forcerm=True,
        nocache=True,  # really exercise the network in RUN every time
        pull=False,
        timeout=900,
    )


def main() -> int:
    load_env()
    registry = os.environ.get("ZEN_TEST_REGISTRY", "127.0.0.1:5000")
    run_id = uuid.uuid4().hex[:10]
    local_tag = f"{REPO}:{run_id}"
    remote_repo = f"{registry}/{REPO}"
    print(f"DOCKER_HOST={os.environ['DOCKER_HOST']} ZEN_TEST_REGISTRY={registry} run={run_id}")
    t_start = time.monotonic()
    client = docker.from_env(timeout=900)
    created_images: list[str] = []
    try:
        with step("ping + version"):
            check(client.ping(), "ping failed")
            v = client.version()
            print(f"    server {v.get('Version')} api {v.get('ApiVersion')}")

        with step("build FROM python:3.11-slim + pip install six"):
            dockerfile = (
                "FROM python:3.11-slim\n"
                "RUN pip install --no-cache-dir six\n"
                'CMD ["python3", "-c", "import six, sys; '
                "print('zen-smoke six', six.__version__, 'python', sys.version.split()[0])\"]\n"
            )
            image, logs = build(client, dockerfile, local_tag)
            created_images.append(local_tag)
            out = "".join(chunk.get("stream", "") for chunk in logs)
            check("Successfully installed six" in out, f"pip output missing:\n{out}")

        with step("run + wait + logs + remove"):
            container = client.containers.run(local_tag, detach=True)
            try:
                # plain wait(): podman 4.3 reports 0 for wait(condition="removed")
                result = container.wait(timeout=300)
                logs_text = container.logs().decode()
            finally:
                container.remove(force=True)
            print(f"    exit {result['StatusCode']}, logs: {logs_text.strip()}")
            check(result["StatusCode"] == 0, f"exit code {result}")
            check("zen-smoke six" in logs_text, f"unexpected logs: {logs_text!r}")

        with step("non-zero exit: wait() and ContainerError"):
            cmd = ["python3", "-c", "import sys; print('bye', file=sys.stderr); sys.exit(3)"]
            container = client.containers.run(local_tag, cmd, detach=True)
            try:
                code = container.wait(timeout=300)["StatusCode"]
            finally:
                container.remove(force=True)
            check(code == 3, f"wait() reported {code}, expected 3")
            try:
                client.containers.run(local_tag, cmd, remove=True)
            except docker.errors.ContainerError as e:
                check(e.exit_status == 3, f"ContainerError exit_status {e.exit_status}")
            else:
                raise AssertionError("containers.run did not raise ContainerError")

        with step(f"tag + push to {remote_repo}:{run_id}"):
            check(image.tag(remote_repo, tag=run_id), "tag failed")
            created_images.append(f"{remote_repo}:{run_id}")
            errors = [
                line
                for line in client.images.push(remote_repo, tag=run_id, stream=True, decode=True)
                if "error" in line or "errorDetail" in line
            ]
            check(not errors, f"push errors: {errors}")
            catalog = http_json(f"http://{registry}/v2/_catalog")
            print(f"    catalog: {catalog}")
            check(REPO in catalog.get("repositories", []), f"{REPO} not in catalog")
            tags = http_json(f"http://{registry}/v2/{REPO}/tags/list")
            check(run_id in (tags.get("tags") or []), f"tag {run_id} not in {tags}")

        with step("failing RUN raises BuildError"):
            bad = "FROM python:3.11-slim\nRUN echo zen-smoke-failing-step && exit 7\n"
            try:
                build(client, bad, f"{REPO}-fail:{run_id}")
            except docker.errors.BuildError as e:
                print(f"    BuildError: {e.msg.strip()}")
            else:
                created_images.append(f"{REPO}-fail:{run_id}")
                raise AssertionError("a failing RUN did not raise BuildError")
    except Exception as e:  # noqa: BLE001 - report and exit non-zero
        print(f"SMOKE FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        for tag in reversed(created_images):
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(tag, force=True)
        client.close()

    total = time.monotonic() - t_start
    print("timings:")
    for name, dt in TIMINGS:
        print(f"  {dt:6.1f}s  {name}")
    print(f"  {total:6.1f}s  total")
    print("SMOKE OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
