"""The GitHub REST API side, through PyGithub (imported here only, when a run is submitted).

Commit the workflow file (only when its content changed), dispatch it with the
run's inputs, find the workflow run it started, poll it and its jobs, cancel it.
The token is read from the environment variable the config names and handed to
PyGithub; zen never prints, logs or stores it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zen_core.errors import StackError, ZenError

from .config import GitHubOrchestratorConfig
from .reconcile import JobResult

#: How long GitHub may take to register a newly committed workflow or list a new run.
REGISTRATION_WAIT = 60.0


class GitHubApiError(ZenError):
    """The GitHub API refused or failed a request."""


@dataclass
class RunState:
    """A workflow run as last polled."""

    id: int
    url: str
    status: str  # queued, in_progress, completed, ...
    conclusion: str | None
    jobs: dict[str, tuple[str, str | None, str | None]]  # job name -> (status, conclusion, page)

    @property
    def done(self) -> bool:
        return self.status == "completed"

    def job_results(self) -> dict[str, JobResult]:
        return {name: JobResult(conclusion, url) for name, (_, conclusion, url) in self.jobs.items()}


def _describe(exc: Any) -> str:
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    return f"{getattr(exc, 'status', '?')} {message or type(exc).__name__}"


class GitHubClient:
    """One repository on one GitHub (or GitHub Enterprise Server) API."""

    def __init__(self, config: GitHubOrchestratorConfig) -> None:
        if not config.repository:
            raise StackError(
                "the github orchestrator needs a repository to commit the workflow to: "
                "set repository='owner/name' (or backend='act' to run it locally)"
            )
        token = os.environ.get(config.token_env, "")
        if not token:
            raise StackError(
                f"the github orchestrator reads its GitHub token from ${config.token_env}, which is "
                f"not set: give it a token with read and write access to the contents, workflows "
                f"and actions of {config.repository}"
            )
        from github import Auth, Github

        self.config = config
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=config.api_url,
            timeout=30,
            seconds_between_requests=config.request_interval,
            seconds_between_writes=config.write_interval,
        )
        self._repo: Any = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self._call(
                f"reading repository {self.config.repository}", self._gh.get_repo, self.config.repository
            )
        return self._repo

    def _call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from github import GithubException

        try:
            return func(*args, **kwargs)
        except GithubException as exc:
            hint = ""
            if exc.status == 401:
                hint = f" (the token in ${self.config.token_env} was refused)"
            elif exc.status in (403, 404):
                hint = (
                    f" (does the token in ${self.config.token_env} have access to {self.config.repository}?)"
                )
            raise GitHubApiError(f"GitHub API error {what}: {_describe(exc)}{hint}") from None

    def branch(self) -> str:
        return self.config.branch or str(self.repo.default_branch)

    # -- the workflow file ---------------------------------------------------------------
    def commit_workflow(self, path: str, text: str, branch: str, message: str) -> str:
        """Create or update ``path`` on ``branch``; ``created``, ``updated`` or ``unchanged``."""
        from github import UnknownObjectException

        try:
            existing = self.repo.get_contents(path, ref=branch)
        except UnknownObjectException:
            existing = None
        except Exception as exc:  # noqa: BLE001 - reported with its status
            raise GitHubApiError(f"GitHub API error reading {path}: {_describe(exc)}") from None
        if isinstance(existing, list):
            raise GitHubApiError(f"{path} is a folder in {self.config.repository}")
        if existing is not None:
            if existing.decoded_content == text.encode():
                return "unchanged"
            self._call(
                f"updating {path}", self.repo.update_file, path, message, text, existing.sha, branch=branch
            )
            return "updated"
        self._call(f"creating {path}", self.repo.create_file, path, message, text, branch=branch)
        return "created"

    def _workflow(self, file_name: str) -> Any:
        from github import UnknownObjectException

        deadline = time.monotonic() + REGISTRATION_WAIT
        while True:
            try:
                return self.repo.get_workflow(file_name)
            except UnknownObjectException:
                if time.monotonic() > deadline:
                    raise GitHubApiError(
                        f"GitHub did not register workflow {file_name} in {self.config.repository} "
                        f"within {REGISTRATION_WAIT:g}s"
                    ) from None
                time.sleep(2)

    # -- runs ----------------------------------------------------------------------------
    def dispatch(self, file_name: str, branch: str, inputs: Mapping[str, str], title: str) -> int:
        """Dispatch the workflow; the id of the workflow run it started."""
        from github.WorkflowRun import WorkflowRun

        workflow = self._workflow(file_name)
        since = time.time()
        answer = self._call(
            f"dispatching {file_name}",
            workflow.create_dispatch,
            ref=branch,
            inputs=dict(inputs),
            throw=True,
            return_run_details=True,
        )
        if isinstance(answer, WorkflowRun):
            return int(answer.id)
        return self._find_run(workflow, branch, title, since)

    def _find_run(self, workflow: Any, branch: str, title: str, since: float) -> int:
        """Servers that do not return the run: find it by its ``run-name``."""
        deadline = time.monotonic() + REGISTRATION_WAIT
        while time.monotonic() < deadline:
            runs = self._call(
                "listing workflow runs",
                lambda: list(workflow.get_runs(branch=branch, event="workflow_dispatch")[:20]),
            )
            for run in runs:
                if run.display_title == title and run.created_at.timestamp() >= since - 120:
                    return int(run.id)
            time.sleep(2)
        raise GitHubApiError(f"the dispatched run '{title}' did not appear within {REGISTRATION_WAIT:g}s")

    def poll(self, run_id: int) -> RunState:
        run = self._call("reading the workflow run", self.repo.get_workflow_run, run_id)
        jobs = {
            str(j.name): (str(j.status), j.conclusion, j.html_url)
            for j in self._call("listing the run's jobs", lambda: list(run.jobs()))
        }
        return RunState(
            id=int(run.id),
            url=str(run.html_url),
            status=str(run.status),
            conclusion=run.conclusion,
            jobs=jobs,
        )

    def cancel(self, run_id: int) -> None:
        run = self._call("reading the workflow run", self.repo.get_workflow_run, run_id)
        self._call("cancelling the workflow run", run.cancel)
