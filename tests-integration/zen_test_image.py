"""A step image holding this checkout's zen-core, for suites that run steps in containers.

Built once per content (Dockerfile + wheel bytes) on the engine ``DOCKER_HOST`` names;
the kubeflow and vertex suites use it when they do not go through zen-docker's builder.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_IMAGE = "python:3.11-slim"


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if found:
        return found
    from uv import find_uv_bin  # type: ignore[import-not-found]

    return str(find_uv_bin())


def dockerfile(extra_requirements: list[str]) -> str:
    extras = "".join(f' "{r}"' for r in extra_requirements)
    return (
        f"FROM {BASE_IMAGE}\n"
        "COPY wheels/ /tmp/wheels/\n"
        f"RUN pip install --no-cache-dir /tmp/wheels/*.whl{extras} && rm -rf /tmp/wheels\n"
        "WORKDIR /app\n"
    )


def zen_core_image(repository: str, extra_requirements: Sequence[str] = ()) -> str:
    """``repository:<content hash>`` with zen-core (and the extras) installed; built if missing."""
    import docker

    text = dockerfile(list(extra_requirements))
    with tempfile.TemporaryDirectory(prefix="zen-test-image-") as tmp:
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
        digest = hashlib.sha256(text.encode())
        for wheel in sorted(wheels.glob("*.whl")):
            digest.update(wheel.read_bytes())
        tag = f"{repository}:{digest.hexdigest()[:12]}"
        client = docker.from_env(timeout=1200)
        try:
            try:
                client.images.get(tag)
                return tag
            except docker.errors.ImageNotFound:
                pass
            context = io.BytesIO()
            with tarfile.open(fileobj=context, mode="w") as tar:
                for wheel in sorted(wheels.glob("*.whl")):
                    tar.add(wheel, arcname=f"wheels/{wheel.name}")
                data = text.encode()
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            context.seek(0)
            client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
        finally:
            client.close()
    return tag
