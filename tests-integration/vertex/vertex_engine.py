"""What the Vertex integration tests run on: a Docker API, a step image, the GCS emulator.

* The Docker API is the one ``DOCKER_HOST`` names (the shared ``container_engine``
  fixture sets it).
* Steps run in ``zen-vertex-test:<hash>``, built on ``python:3.11-slim`` from a zen-core
  wheel (``uv build``) and the client's gcsfs version: what a step needs on Vertex
  (zen-core, the launcher is embedded in the IR, and the store's filesystem). The tag
  is a hash of the wheel and the Dockerfile, so the image is reused until zen-core
  changes; the first build downloads gcsfs and its dependencies from the package index.
* The GCS emulator is ``gcp-storage-emulator`` (in memory), started as a child process
  on 127.0.0.1 and stopped by its PID.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests-integration"))  # the shared zen_test_image helper
from zen_test_image import zen_core_image  # noqa: E402

#: the project number the emulator reports for its buckets (see the project-number stub)
PROJECT_NUMBER = "424242424242"
PROJECT = "zen-test-project"
LOCATION = "europe-west4"
BUCKET = "zen-it"
SERVICE_ACCOUNT = f"zen-steps@{PROJECT}.iam.gserviceaccount.com"


@functools.lru_cache(maxsize=1)
def step_image() -> str:
    """The image every step runs in (built once per zen-core change), with gcsfs for gs://."""
    return zen_core_image("zen-vertex-test", [f"gcsfs=={metadata.version('gcsfs')}"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gcs_emulator(log: Path, timeout: float = 60) -> Iterator[str]:
    """Run gcp-storage-emulator (in memory) on 127.0.0.1; yield its URL; stop it by PID."""
    port = _free_port()
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    cmd = [
        str(exe) if exe.exists() else "gcp-storage-emulator",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    cmd += ["--in-memory", "--project-number", PROJECT_NUMBER, "-q"]
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/storage/v1/b?project=p", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the GCS emulator did not start; see {log}") from None
                time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def remove_job_containers(label: str = "zen.vertex.job") -> list[str]:
    """Remove the step containers the fake service's jobs left (by label); return their names."""
    import docker

    client = docker.from_env(timeout=60)
    try:
        left = client.containers.list(all=True, filters={"label": label})
        for c in left:
            with contextlib.suppress(docker.errors.APIError):
                c.remove(force=True)
        return [c.name for c in left]
    finally:
        client.close()


def orchestrator_config(vertex: Any, image: str, **overrides: Any) -> dict[str, Any]:
    """The vertex orchestrator's config for the local service."""
    return {
        "project": PROJECT,
        "location": LOCATION,
        "credentials": "anonymous",
        "api_endpoint": vertex.endpoint,
        "service_account": SERVICE_ACCOUNT,
        "labels": {"team": "zen-tests"},
        "image": image,
        "poll_interval": 0.5,
        "cancel_timeout": 120,
        "echo_logs": False,
        **overrides,
    }


def store_config(prefix: str) -> dict[str, Any]:
    return {"path": f"gs://{BUCKET}/{prefix}", "credentials": "anonymous"}
