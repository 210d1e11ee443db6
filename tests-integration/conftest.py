"""Shared fixtures of the integration suites: a real container engine.

``container_engine`` (session scope) gives the suites that need a Docker API one:
if ``DOCKER_HOST`` (or the env file ``tools/container-engine/setup.sh`` writes)
already points at a working Docker API, it is used as is and left running.
Otherwise ``setup.sh`` starts rootful podman serving the Docker API and a local
registry, and the session stops what it started at the end. On a machine with a
real Docker daemon, ``setup.sh`` reports that daemon and the same tests run
against it; the registry is then a ``registry:2`` container on 127.0.0.1.

The engine not starting is a failure, never a skip: these tests exist to prove
the flow on a real engine. Suites that do not ask for the fixture pay nothing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGINE_TOOLS = REPO_ROOT / "tools" / "container-engine"
API_VERSION = "1.41"
SETUP_TIMEOUT = 900  # a cold machine installs packages and debootstraps the base image


def engine_home() -> Path:
    return Path(os.environ.get("ZEN_ENGINE_HOME") or Path.home() / ".cache" / "zen" / "engine")


def parse_exports(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        parts = shlex.split(line, comments=True)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            env[key] = value
    return env


def api_answers(docker_host: str | None) -> bool:
    if not docker_host:
        return False
    import docker

    try:
        client = docker.DockerClient(base_url=docker_host, version=API_VERSION, timeout=10)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def registry_answers(address: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}/v2/", timeout=5) as resp:
            return resp.status == 200
    except Exception:
        return False


def _live_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Engine:
    """What the session set up, and how to undo exactly that."""

    def __init__(self) -> None:
        self.started_pids: dict[str, int] = {}
        self.registry_container: Any = None

    def start(self) -> None:
        if api_answers(os.environ.get("DOCKER_HOST")):
            self._ensure_registry()
            return
        env_file = engine_home() / "env.sh"
        if env_file.is_file():
            known = parse_exports(env_file.read_text())
            if api_answers(known.get("DOCKER_HOST")) and (
                not known.get("ZEN_TEST_REGISTRY") or registry_answers(known["ZEN_TEST_REGISTRY"])
            ):
                os.environ.update(known)
                self._ensure_registry()
                return
        pid_files = {"podman": engine_home() / "podman.pid", "registry": engine_home() / "registry.pid"}
        before = {name: _live_pid(path) for name, path in pid_files.items()}
        proc = subprocess.run(
            [str(ENGINE_TOOLS / "setup.sh")],
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"the container engine did not start (tools/container-engine/setup.sh exited "
                f"{proc.returncode}):\n{proc.stderr[-4000:]}",
                pytrace=False,
            )
        os.environ.update(parse_exports(proc.stdout))
        for name, path in pid_files.items():
            pid = _live_pid(path)
            if pid is not None and pid != before[name]:
                self.started_pids[name] = pid
        if not api_answers(os.environ.get("DOCKER_HOST")):
            pytest.fail(f"setup.sh finished but DOCKER_HOST={os.environ.get('DOCKER_HOST')} does not answer")
        self._ensure_registry()

    def _ensure_registry(self) -> None:
        """A registry on 127.0.0.1: setup.sh's, else a registry:2 container (real Docker daemons)."""
        address = os.environ.get("ZEN_TEST_REGISTRY")
        if address and registry_answers(address):
            return
        env_file = engine_home() / "env.sh"
        known = parse_exports(env_file.read_text()) if env_file.is_file() else {}
        address = known.get("ZEN_TEST_REGISTRY")
        if (
            known.get("DOCKER_HOST") == os.environ.get("DOCKER_HOST")
            and address
            and registry_answers(address)
        ):
            os.environ["ZEN_TEST_REGISTRY"] = address
            return
        import docker

        port = _free_port()
        client = docker.from_env(version=API_VERSION)
        try:
            self.registry_container = client.containers.run(
                "registry:2",
                detach=True,
                ports={"5000/tcp": ("127.0.0.1", port)},
                labels={"zen.test": "registry"},
            )
        except Exception as exc:
            pytest.fail(f"no test registry: ZEN_TEST_REGISTRY is unset and registry:2 did not start: {exc}")
        address = f"127.0.0.1:{port}"
        for _ in range(100):
            if registry_answers(address):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the registry:2 container on {address} does not answer")
        os.environ["ZEN_TEST_REGISTRY"] = address

    def stop(self) -> None:
        if self.registry_container is not None:
            with contextlib.suppress(Exception):
                self.registry_container.remove(force=True)
        if set(self.started_pids) == {"podman", "registry"}:
            subprocess.run([str(ENGINE_TOOLS / "teardown.sh")], capture_output=True, timeout=120, check=False)
            return
        for pid in self.started_pids.values():
            _stop_pid(pid)


@pytest.fixture(scope="session")
def container_engine() -> Iterator[Engine]:
    """A working Docker API (DOCKER_HOST set) and a registry (ZEN_TEST_REGISTRY set)."""
    eng = Engine()
    eng.start()
    try:
        yield eng
    finally:
        eng.stop()
