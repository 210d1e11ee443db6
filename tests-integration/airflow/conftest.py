"""Real Apache Airflow for the airflow orchestrator's integration tests.

One Airflow home per test session, in a temporary folder removed at exit: a
SQLite metadata DB made with ``airflow db migrate``, no example DAGs, and a DAGs
folder every test writes into. The environment is set when this file is
imported, before any test module (or Airflow) is, so the in-process runner and
``DagBag`` in this process see the same home as the subprocess runner.

Nothing here starts a server: Airflow runs DAGs with its own test runner
(``DAG.test()``), so no process outlives a test.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before anything imports Airflow (even looking for airflow.sdk below does),
# because Airflow reads its configuration once, when first imported.
HOME = Path(tempfile.mkdtemp(prefix="zen-airflow-home-"))
atexit.register(shutil.rmtree, HOME, ignore_errors=True)
DAGS = HOME / "dags"
DAGS.mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # no timeout on parsing DAG files while the machine is busy
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
    }
)
os.environ.pop("ZEN_STACK", None)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (this folder, named airflow, does not count)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


MISSING = [m for m in ("airflow.sdk", "zen_airflow") if not installed(m)]
if MISSING:
    # nothing here can run: collect nothing (and say why) rather than fail on imports
    collect_ignore_glob = ["test_*.py", "zen_af_*.py"]


def pytest_report_header() -> list[str]:
    if MISSING:
        return [
            f"tests-integration/airflow skipped: {', '.join(MISSING)} not installed (zen-airflow[docker])"
        ]
    return []


MIGRATE_TIMEOUT = 300  # seconds; about 10 s on a warm 2-core machine


@pytest.fixture(scope="session", autouse=True)
def airflow_home() -> Iterator[Path]:
    started = time.monotonic()
    airflow = shutil.which("airflow", path=str(Path(sys.executable).parent))
    cmd = [airflow] if airflow else [sys.executable, "-m", "airflow"]
    proc = subprocess.run(
        [*cmd, "db", "migrate"], capture_output=True, text=True, timeout=MIGRATE_TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    print(f"\nAirflow home {HOME} ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    yield HOME


@pytest.fixture
def dags_folder(airflow_home: Path) -> Path:
    return DAGS
