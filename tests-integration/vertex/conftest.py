"""Fixtures of the Vertex integration tests.

The chain under test is the real one: zen -> the ``vertex`` orchestrator ->
google-cloud-aiplatform (``PipelineJob``, REST transport) -> HTTP on 127.0.0.1 -> the
local Vertex service (fake_vertex.py) -> KFP's local executor -> step containers on
the Docker API -> zen's entrypoint -> the ``gcs`` artifact store in the GCS emulator.

Every test runs under :func:`zen_vertex.testing.loopback_only`: anything in the test
process that tries to reach a non-loopback address fails at once. The Docker API comes
from the shared ``container_engine`` fixture (tests-integration/conftest.py), which
starts podman with tools/container-engine/setup.sh when none answers: no engine is a
failure, not a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_vertex import FakeVertex
from vertex_engine import (
    BUCKET,
    PROJECT_NUMBER,
    gcs_emulator,
    remove_job_containers,
    step_image,
)

from zen_vertex.testing import loopback_only


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    with loopback_only():
        yield


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The GCS emulator's URL; the client side (gcsfs, google-cloud-storage) uses it too."""
    log = tmp_path_factory.mktemp("gcs-emulator") / "emulator.log"
    with loopback_only(), gcs_emulator(log) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("STORAGE_EMULATOR_HOST", url)
        mp.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        mp.setenv("NO_GCE_CHECK", "true")
        import gcsfs

        gcsfs.GCSFileSystem(token="anon", skip_instance_cache=True).mkdir(BUCKET)
        yield url


@pytest.fixture(scope="session")
def vertex(
    tmp_path_factory: pytest.TempPathFactory, emulator: str, container_engine: Any
) -> Iterator[FakeVertex]:
    # What Vertex gives a step container in the cloud (Cloud Storage, the job's
    # credentials), this local service gives it as the emulator's address and anonymous
    # access; NO_GCE_CHECK keeps google-auth from probing for a metadata server.
    platform_env = {
        "STORAGE_EMULATOR_HOST": emulator,
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        "FSSPEC_GS_TOKEN": "anon",
        "NO_GCE_CHECK": "true",
    }
    server = FakeVertex(tmp_path_factory.mktemp("vertex-jobs"), platform_env=platform_env).start()
    try:
        yield server
    finally:
        server.stop()
        remove_job_containers()


@pytest.fixture(scope="session")
def image(container_engine: Any) -> str:
    return step_image()


@pytest.fixture(autouse=True)
def _project_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stub the one cloud lookup that cannot run here: the project number.

    PipelineJob.submit() checks that the pipeline-root bucket belongs to the project by
    comparing the bucket's project number (the emulator reports PROJECT_NUMBER) with the
    project's, which it asks Cloud Resource Manager for; there is no Resource Manager to
    ask offline, and without this stub the check fails (it is only logged, but it is
    not the path a real submission takes). Everything else the SDK does is real.
    """
    from google.cloud.aiplatform.utils import resource_manager_utils

    monkeypatch.setattr(
        resource_manager_utils, "get_project_number", lambda project_id, credentials=None: PROJECT_NUMBER
    )


@pytest.fixture(autouse=True)
def _no_leftover_containers(vertex: FakeVertex) -> Iterator[None]:
    """Fail a test whose jobs leave step containers behind (labelled zen.vertex.job=...)."""
    yield
    with loopback_only():
        left = remove_job_containers()
    assert not left, f"containers left behind: {left}"
