"""Docker API and step image helpers of the Kubeflow integration tests.

They need a Docker API (``DOCKER_HOST``), e.g. the podman service that
``tools/container-engine/setup.sh`` starts; when none answers, every test here is
skipped with the reason. Steps run in an image holding zen-core:

* if zen-docker's image builder is installed, the orchestrator builds the images
  through the ``zen_build_images`` hook, as it does for users;
* otherwise the tests build ``zen-kfp-test:<hash>`` themselves from a zen-core wheel
  (``uv build --wheel``) on ``python:3.11-slim``; the tag is the wheel's hash, so the
  image is reused until zen-core changes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENGINE_ENV = Path(os.environ.get("ZEN_ENGINE_HOME", Path.home() / ".cache" / "zen" / "engine")) / "env.sh"
BASE_IMAGE = "python:3.11-slim"

DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
WORKDIR /app
"""


def _docker_host() -> str | None:
    """DOCKER_HOST, else the one the container-engine scripts wrote down."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    if ENGINE_ENV.exists():
        for line in ENGINE_ENV.read_text().splitlines():
            if line.startswith("export DOCKER_HOST="):
                return line.split("=", 1)[1].strip().strip("'\"")
    return None


@functools.lru_cache(maxsize=1)
def docker_problem() -> str | None:
    """Why no Docker API can be used, or None when one answers."""
    host = _docker_host()
    if host:
        os.environ["DOCKER_HOST"] = host
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed (pip install 'zen-kubeflow[local]')"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
        client.close()
    except Exception as exc:
        return f"no Docker API answers (DOCKER_HOST={host}; run tools/container-engine/setup.sh): {exc}"
    return None


def zen_docker_builds() -> bool:
    """True when zen-docker's image builder is installed and importable."""
    try:
        return importlib.util.find_spec("zen_docker.builder") is not None
    except ImportError:
        return False


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if found:
        return found
    from uv import find_uv_bin  # type: ignore[import-not-found]

    return str(find_uv_bin())


@functools.lru_cache(maxsize=1)
def step_image() -> str | None:
    """The image steps run in, or None to let the zen_build_images hook build them."""
    if zen_docker_builds():
        return None
    import docker

    with tempfile.TemporaryDirectory(prefix="zen-kfp-image-") as tmp:
        wheels = Path(tmp) / "wheels"
        subprocess.run(
            [
                _uv(),
                "build",
                "--quiet",
                "--wheel",
                str(REPO_ROOT / "packages" / "zen-core"),
                "-o",
                str(wheels),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        digest = hashlib.sha256(DOCKERFILE.encode())
        for wheel in sorted(wheels.glob("*.whl")):
            digest.update(wheel.read_bytes())
        tag = f"zen-kfp-test:{digest.hexdigest()[:12]}"
        client = docker.from_env(timeout=900)
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            for wheel in sorted(wheels.glob("*.whl")):
                tar.add(wheel, arcname=f"wheels/{wheel.name}")
            data = DOCKERFILE.encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        context.seek(0)
        client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
        client.close()
    return tag
