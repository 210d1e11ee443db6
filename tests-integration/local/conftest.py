"""Shared helpers of the local integration tests: fresh virtual environments made with uv.

These tests run in a venv that holds only pytest and uv (the nox ``integration``
session), so nothing here imports zen: every check runs ``python``/``zen`` from a
venv the test builds, in a subprocess, with its own ``ZEN_CONFIG_DIR``.

uv's cache is shared with the developer's (or CI's), so after the first run a
venv with zen-core, zen-local and their dependencies takes about a second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES_DIR = REPO_ROOT / "packages"
PLUGIN_EXAMPLE_DIR = REPO_ROOT / "tests-integration" / "plugin-example"
TIMEOUT = 600  # seconds for any one subprocess; generous for a cold uv cache

#: Variables that would leak the caller's Python, venv or zen setup into a test venv.
_DROP_ENV = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "CONDA_PREFIX",
    "__PYVENV_LAUNCHER__",
)


def find_uv() -> str:
    """The uv executable: on PATH, or the one the ``uv`` Python package ships."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError, OSError):
        pass
    raise RuntimeError("these tests need uv: install it (pip install uv) or put it on PATH")


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pyproject(project_dir: Path) -> dict[str, Any]:
    """The parsed ``pyproject.toml`` of a package folder."""
    text = (project_dir / "pyproject.toml").read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    import tomli  # type: ignore[import-not-found, unused-ignore]  # pytest depends on it on 3.10

    parsed: dict[str, Any] = tomli.loads(text)
    return parsed


def workspace_packages() -> dict[str, dict[str, Any]]:
    """``{distribution name: its [project] table plus 'path'}`` for packages/*/pyproject.toml."""
    out: dict[str, dict[str, Any]] = {}
    for pyproject in sorted(PACKAGES_DIR.glob("*/pyproject.toml")):
        project = dict(read_pyproject(pyproject.parent)["project"])
        project["path"] = pyproject.parent
        out[project["name"]] = project
    return out


def _format(proc: subprocess.CompletedProcess[str]) -> str:
    args = " ".join(str(a) for a in proc.args)
    return (
        f"command: {args}\nexit code: {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


def clean_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """os.environ without venv/Python/zen variables, plus ``extra`` (None removes a key)."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV and not k.startswith("ZEN_")}
    # wide, plain output so rich tables do not wrap or colour what the tests read
    env.update({"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1"})
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Venv:
    """A virtual environment made with ``uv venv``, driven only through subprocesses."""

    path: Path
    uv: str

    @property
    def bin_dir(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin_dir / ("python.exe" if os.name == "nt" else "python")

    def exe(self, name: str) -> Path:
        return self.bin_dir / (f"{name}.exe" if os.name == "nt" else name)

    def env(self, config_dir: Path | None = None, **extra: str | None) -> dict[str, str]:
        env = clean_env(extra)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        if config_dir is not None:
            env["ZEN_CONFIG_DIR"] = str(config_dir)
        return env

    def run(
        self,
        args: Iterable[str | Path],
        *,
        config_dir: Path | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str | None] | None = None,
        check: bool = True,
        timeout: float = TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command with this venv first on PATH; ``check`` asserts exit code 0."""
        proc = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=self.env(config_dir, **(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check:
            assert proc.returncode == 0, _format(proc)
        return proc

    def zen(self, *args: str, config_dir: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run this venv's ``zen`` command with ``ZEN_CONFIG_DIR=config_dir``."""
        return self.run([self.exe("zen"), *args], config_dir=config_dir, **kwargs)

    def python_json(
        self,
        code: str,
        *,
        cwd: Path | None = None,
        config_dir: Path | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> Any:
        """Run ``code`` with this venv's python; it must print one JSON document last."""
        proc = self.run([self.python, "-c", code], cwd=cwd, config_dir=config_dir, env=env)
        lines = proc.stdout.strip().splitlines()
        assert lines, _format(proc)
        return json.loads(lines[-1])

    def pip(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """``uv pip ARGS -p <this venv>``."""
        cmd = [
            self.uv,
            "pip",
            *(str(a) for a in args[:1]),
            "-p",
            str(self.python),
            *(str(a) for a in args[1:]),
        ]
        proc = subprocess.run(
            cmd, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        assert proc.returncode == 0, _format(proc)
        return proc

    def install(self, *requirements: str | Path) -> None:
        self.pip("install", *requirements)

    def uninstall(self, *names: str) -> None:
        self.pip("uninstall", *names)

    def distributions(self) -> dict[str, str]:
        """``{normalized name: version}`` of everything installed in this venv."""
        data = self.python_json(
            "import json, importlib.metadata as m\n"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
        )
        return {normalize(name): version for name, version in data.items()}


def create_venv(path: Path, *requirements: str | Path) -> Venv:
    """``uv venv`` at ``path`` (same Python as the tests), then ``uv pip install requirements``."""
    uv = find_uv()
    proc = subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, _format(proc)
    venv = Venv(path=path, uv=uv)
    if requirements:
        venv.install(*requirements)
    return venv


def read_events(path: Path) -> list[dict[str, Any]]:
    """The JSON lines the example plugin's lifecycle hooks wrote (none if no file)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- fixtures (test modules use these rather than importing this file) ------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The monorepo root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def uv_bin() -> str:
    """The uv executable (fails the tests that need it with a clear message)."""
    return find_uv()


@pytest.fixture(scope="session")
def venv_factory(uv_bin: str) -> Any:
    """``venv_factory(path, *requirements) -> Venv``: a fresh venv with ``requirements``."""
    return create_venv


@pytest.fixture(scope="session")
def packages() -> dict[str, dict[str, Any]]:
    """``{distribution name: [project] table + 'path'}`` of every package under packages/."""
    return workspace_packages()


@pytest.fixture(scope="session")
def plugin_example_dir() -> Path:
    return PLUGIN_EXAMPLE_DIR


@pytest.fixture(scope="session")
def events_reader() -> Any:
    """``events_reader(path) -> list[dict]``: the example plugin's JSON event lines."""
    return read_events
