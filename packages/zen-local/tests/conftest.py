"""Fixtures of the local orchestrator's behaviour tests.

``local_stack`` gives each test its own config directory (``ZEN_CONFIG_DIR``), its
own artifact store and an active stack whose ``local`` orchestrator the test
configures. Pipelines are written as modules into the test's folder, which is also
the working directory, so process-mode steps and ``zen`` subprocesses can import
them by source string exactly as a user's would be.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from zen_core import plugins
from zen_core.artifacts.store import ArtifactStore
from zen_core.records import RunStore, StepRecord
from zen_core.stacks import StackManager

STACK = "local-tests"


def zen_command() -> list[str]:
    """The ``zen`` console script of this interpreter's environment."""
    script = shutil.which("zen", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "zen_core.cli.main"]


def register_stack(config_dir: Path, store_dir: Path, **orchestrator_config: Any) -> None:
    """Register (or replace) the test stack in ``config_dir`` and make it active."""
    manager = StackManager(config_dir)
    manager.register_component("artifact_store", STACK, "local", {"path": str(store_dir)}, replace=True)
    manager.register_component("orchestrator", STACK, "local", orchestrator_config, replace=True)
    manager.register_stack(STACK, {"orchestrator": STACK, "artifact_store": STACK}, replace=True)
    manager.set_active(STACK)
    manager.save()


def subprocess_env(config_dir: Path, **extra: str | None) -> dict[str, str]:
    """The environment of a ``zen`` subprocess: the test's config, no inherited stack.

    ``extra`` adds variables; a value of None removes one.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("ZEN_STACK", "ZEN_SOURCE_ROOT", "FORCE_COLOR")}
    env.update(ZEN_CONFIG_DIR=str(config_dir), PYTHONUNBUFFERED="1", COLUMNS="200")
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def write_module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def start_zen(root: Path, config_dir: Path, *args: str, **extra_env: str | None) -> subprocess.Popen[bytes]:
    """Start ``zen`` in ``root`` in its own session; stdout/stderr go to zen.out/zen.err there."""
    with (root / "zen.out").open("wb") as out, (root / "zen.err").open("wb") as err:
        return subprocess.Popen(
            [*zen_command(), *args],
            cwd=root,
            env=subprocess_env(config_dir, **extra_env),
            stdout=out,
            stderr=err,
            start_new_session=True,  # a terminal's foreground job: Ctrl-C reaches the whole group
        )


class LocalStack:
    """The test's stack: configure the orchestrator, write pipeline modules, read runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_dir = root / "zen-config"
        self.store_dir = root / "store"
        self._modules: list[str] = []

    def configure(self, **orchestrator_config: Any) -> None:
        register_stack(self.config_dir, self.store_dir, **orchestrator_config)

    @property
    def runs(self) -> RunStore:
        return RunStore(ArtifactStore(str(self.store_dir)))

    def steps(self, run_id: str) -> dict[str, StepRecord]:
        return self.runs.read_steps(run_id)

    def write(self, name: str, source: str) -> Path:
        """Write ``source`` as module ``name`` in the working directory, without importing it."""
        return write_module(self.root, name, source)

    def module(self, name: str, source: str) -> ModuleType:
        """Write ``source`` as module ``name`` in the working directory and import it."""
        write_module(self.root, name, source)
        sys.modules.pop(name, None)
        importlib.invalidate_caches()
        self._modules.append(name)
        return importlib.import_module(name)

    def env(self, **extra: str | None) -> dict[str, str]:
        return subprocess_env(self.config_dir, **extra)

    def zen(
        self, *args: str, timeout: float = 60, **extra_env: str | None
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``zen`` CLI in the test's folder and wait for it."""
        return subprocess.run(
            [*zen_command(), *args],
            cwd=self.root,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_zen(self, *args: str, **extra_env: str | None) -> subprocess.Popen[bytes]:
        """Start the ``zen`` CLI in its own session (a terminal's foreground job), output to files."""
        return start_zen(self.root, self.config_dir, *args, **extra_env)

    def cleanup(self) -> None:
        for name in self._modules:
            sys.modules.pop(name, None)


@contextlib.contextmanager
def open_local_stack(root: Path) -> Iterator[LocalStack]:
    """A stack in ``root``, which is also the working directory, for the block's duration."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZEN_CONFIG_DIR", str(root / "zen-config"))
        for name in ("ZEN_STACK", "ZEN_SOURCE_ROOT"):
            mp.delenv(name, raising=False)
        mp.chdir(root)
        mp.syspath_prepend(str(root))
        plugins.reset()
        stack = LocalStack(root)
        stack.configure(progress="off")
        try:
            yield stack
        finally:
            stack.cleanup()


@pytest.fixture(scope="session")
def zen_tools() -> SimpleNamespace:
    """The helpers above, for module-scoped fixtures (test modules never import conftest)."""
    return SimpleNamespace(
        open_local_stack=open_local_stack,
        register_stack=register_stack,
        subprocess_env=subprocess_env,
        write_module=write_module,
        zen_command=zen_command,
        start_zen=start_zen,
    )


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[LocalStack]:
    with open_local_stack(tmp_path) as stack:
        yield stack
