"""Fixtures of the GitHub Actions integration tests (helpers: gh_support.py).

Every server a fixture starts listens on 127.0.0.1 and is stopped by that fixture,
by its process id.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

# gh_support sets GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false before anything imports gcsfs
from gh_support import free_port, stop_process, tool, wait_for_port


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An in-memory GCS emulator on 127.0.0.1; yields its URL (for STORAGE_EMULATOR_HOST)."""
    port = free_port()
    log = tmp_path_factory.mktemp("gcs") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                tool("gcp-storage-emulator"),
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--in-memory",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
