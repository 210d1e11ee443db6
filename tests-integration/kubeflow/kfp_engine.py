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
import importlib.util
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests-integration"))  # the shared zen_test_image helper
from zen_test_image import zen_core_image  # noqa: E402

ENGINE_ENV = Path(os.environ.get("ZEN_ENGINE_HOME", Path.home() / ".cache" / "zen" / "engine")) / "env.sh"


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


@functools.lru_cache(maxsize=1)
def step_image() -> str | None:
    """The image steps run in, or None to let the zen_build_images hook build them."""
    if zen_docker_builds():
        return None
    return zen_core_image("zen-kfp-test")
