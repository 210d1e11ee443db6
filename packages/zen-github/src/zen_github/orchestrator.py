"""The ``github`` orchestrator: a pipeline run is a GitHub Actions workflow run.

``run`` generates the workflow (:mod:`zen_github.workflow`), stores the spec where
the jobs read it, then either

* commits the workflow to the configured repository and branch and dispatches it
  through the REST API (:mod:`zen_github.api`), or
* runs it on this machine with act (:mod:`zen_github.act`),

then waits, polling the run and its jobs, and finally writes the records no job
could write (skipped steps, jobs that died early: :mod:`zen_github.reconcile`).
Detached runs (``synchronous=False``) return once GitHub has the run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from zen_core.artifacts.store import ArtifactStore
from zen_core.errors import StackError, ZenError
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.progress import Progress, make_progress
from zen_core.records import RunRecord, RunStore
from zen_core.spec import PipelineSpec

from .config import GitHubOrchestratorConfig, GitHubSettings
from .reconcile import JobResult, Reconciled, reconcile
from .workflow import (
    check_spec,
    dispatch_inputs,
    generate_workflow,
    job_ids,
    spec_key_parts,
    step_settings,
    workflow_file_name,
)

logger = logging.getLogger("zen.github")

#: fsspec protocols that name storage only this machine can see.
_LOCAL_PROTOCOLS = frozenset({"file", "local", "memory"})

#: GitHub job states, as progress states.
_JOB_PROGRESS = {"queued": "pending", "waiting": "pending", "pending": "pending", "in_progress": "running"}
_CONCLUSION_PROGRESS = {"success": "completed", "skipped": "skipped", "cancelled": "failed"}


def check_store(store: ArtifactStore) -> None:
    """Refuse an artifact store the jobs cannot reach."""
    if getattr(store, "is_local", False):
        if not getattr(store, "shared", False):
            raise StackError(
                f"the github orchestrator's jobs run on GitHub runners, which cannot see the local "
                f"artifact store {store.url}: use a bucket every runner can reach (e.g. "
                "`zen artifact-store register NAME --flavor fsspec -c url=gs://BUCKET/zen`), or, "
                "for self-hosted runners that all mount this folder at the same path, declare it "
                "shared (`-c shared=true`)"
            )
        return
    protocol = store.url.split("://", 1)[0].lower()
    if protocol in _LOCAL_PROTOCOLS:
        raise StackError(
            f"the github orchestrator's jobs cannot reach the artifact store {store.url}: "
            "use a bucket every runner can reach, such as gs:// or s3://"
        )


class GitHubOrchestrator(Orchestrator):
    flavor = "github"
    settings_model = GitHubSettings
    config: GitHubOrchestratorConfig

    # -- before anything is submitted -------------------------------------------------
    def validate(self, spec: PipelineSpec) -> None:
        super().validate(spec)
        check_spec(spec, self.config)
        check_store(self.stack.artifact_store)
        if self.config.backend == "act" and not self.config.synchronous:
            raise StackError("the github orchestrator's act backend always waits: set synchronous=true")

    def images(self, spec: PipelineSpec) -> dict[str, str] | None:
        """The image of each step (install='container'), from the installed image builder."""
        if self.config.install != "container":
            return None
        from zen_core.plugins import plugin_manager

        images = plugin_manager().hook.zen_build_images(spec=spec, stack=self.stack)
        if images is None:
            raise StackError(
                "the github orchestrator with install='container' runs each job in a container "
                "image, and no image builder is installed: install one with `pip install zen-docker`"
            )
        missing = [s.id for s in spec.steps if s.id not in images]
        if missing:
            raise StackError(f"the image builder returned no image for step(s) {', '.join(missing)}")
        return dict(images)

    def workflow(self, spec: PipelineSpec, store_url: str) -> str:
        """The workflow file of ``spec`` for a store at ``store_url``."""
        return generate_workflow(spec, self.config, store_url=store_url, images=self.images(spec))

    def compile_native(self, spec: PipelineSpec) -> tuple[str, str]:
        """``zen pipeline compile --flavor github``: the workflow YAML."""
        self.validate(spec)
        return self.workflow(spec, self.stack.artifact_store.url), ".yml"

    # -- a run ------------------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        spec, runs = request.spec, request.runs
        check_store(runs.store)
        text = self.workflow(spec, request.store_url)
        self.store_spec(spec, runs)
        inputs = dispatch_inputs(spec, request.run_id, request.parameters)
        progress = make_progress(self.config.progress, echo_logs=self.config.echo_logs)
        progress.run_started(request.run_id, [s.id for s in spec.steps])
        try:
            if self.config.backend == "act":
                jobs, cancelled = self._run_act(spec, text, inputs, progress)
            else:
                outcome = self._run_github(request, text, inputs, progress)
                if outcome is None:
                    progress.run_finished("running")
                    return "running"
                jobs, cancelled = outcome
        except BaseException:
            progress.run_finished("stopped")
            raise
        result = reconcile(spec, runs, request.run_id, jobs, cancelled=cancelled)
        for sid, reason in result.skipped.items():
            progress.step(sid, "skipped", detail=reason)
        self._report(request, result)
        progress.run_finished(result.outcome)
        return result.outcome

    def store_spec(self, spec: PipelineSpec, runs: RunStore) -> str:
        """Write the spec where the workflow's jobs read it (content-addressed: once)."""
        store = runs.store
        key = store.key(*spec_key_parts(spec))
        if not store.exists(key):
            store.write_text(key, spec.to_json())
        return store.uri(key)

    def _report(self, request: RunRequest, result: Reconciled) -> None:
        if result.job_urls:
            for sid, url in sorted(result.job_urls.items()):
                logger.warning("step '%s' failed in GitHub job %s: %s", sid, url, result.failed[sid])
            self._remember(request, {"failed_jobs": dict(sorted(result.job_urls.items()))})

    def _remember(self, request: RunRequest, info: Mapping[str, Any]) -> None:
        """Add backend details to the run record (the client's copy too, so they survive it)."""
        request.run.backend.update(info)
        request.runs.write_run(request.run)

    # -- act ----------------------------------------------------------------------------
    def _labels_and_secrets(self, spec: PipelineSpec) -> tuple[set[str], set[str]]:
        labels: set[str] = set()
        secrets = set(self.config.secrets.values())
        for s in spec.steps:
            settings = step_settings(spec, s)
            runs_on = settings.runs_on if settings.runs_on is not None else self.config.runs_on
            labels.update([runs_on] if isinstance(runs_on, str) else runs_on)
            secrets.update(settings.secrets.values())
        return labels, secrets

    def _run_act(
        self, spec: PipelineSpec, text: str, inputs: Mapping[str, str], progress: Progress
    ) -> tuple[dict[str, JobResult], bool]:
        from .act import ActRun

        labels, secrets = self._labels_and_secrets(spec)
        act = ActRun(
            self.config,
            workflow_text=text,
            workflow_name=workflow_file_name(spec),
            inputs=inputs,
            job_steps={job: sid for sid, job in job_ids(spec).items()},
            labels=labels,
            secret_names=secrets,
            progress=progress,
        )
        return act.run(self.config.timeout), False

    # -- the GitHub API -----------------------------------------------------------------
    def _run_github(
        self, request: RunRequest, text: str, inputs: Mapping[str, str], progress: Progress
    ) -> tuple[dict[str, JobResult], bool] | None:
        from .api import GitHubClient

        spec = request.spec
        client = GitHubClient(self.config)
        branch = client.branch()
        path, _ = self._commit(client, branch, spec, text)
        gh_run = client.dispatch(
            workflow_file_name(spec), branch, inputs, title=f"zen {spec.name} {request.run_id}"
        )
        state = client.poll(gh_run)
        self._remember(
            request,
            {
                "github_repository": self.config.repository,
                "github_branch": branch,
                "github_workflow": path,
                "github_run_id": gh_run,
                "github_run_url": state.url,
            },
        )
        if not self.config.synchronous:
            return None
        try:
            state = self._wait(client, state, progress)
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                client.cancel(gh_run)
            raise
        steps = {s.id for s in spec.steps}
        jobs = {name: result for name, result in state.job_results().items() if name in steps}
        return jobs, state.conclusion == "cancelled"

    def _commit(self, client: Any, branch: str, spec: PipelineSpec, text: str) -> tuple[str, str]:
        path = f".github/workflows/{workflow_file_name(spec)}"
        message = self.config.commit_message.replace("{pipeline}", spec.name)
        change = client.commit_workflow(path, text, branch, message)
        logger.info("workflow %s on %s@%s: %s", path, self.config.repository, branch, change)
        return path, change

    def deploy(self, spec: PipelineSpec) -> tuple[str, str, str]:
        """Commit the workflow (with its schedules) without running it.

        Returns the file's path, the branch and ``created``, ``updated`` or ``unchanged``.
        """
        if self.config.backend != "github":
            raise StackError("deploy commits the workflow to GitHub: it needs backend='github'")
        self.validate(spec)
        runs = RunStore(self.stack.artifact_store)
        text = self.workflow(spec, runs.store.url)
        self.store_spec(spec, runs)
        from .api import GitHubClient

        client = GitHubClient(self.config)
        branch = client.branch()
        path, change = self._commit(client, branch, spec, text)
        return path, branch, change

    def _wait(self, client: Any, state: Any, progress: Progress) -> Any:
        deadline = None if self.config.timeout is None else time.monotonic() + self.config.timeout
        shown: dict[str, str] = {}
        while True:
            for job, (status, conclusion, url) in sorted(state.jobs.items()):
                if status == "completed":
                    now = _CONCLUSION_PROGRESS.get(conclusion or "", "failed")
                else:
                    now = _JOB_PROGRESS.get(status, "running")
                if shown.get(job) != now and job in progress.state:
                    shown[job] = now
                    detail = (url or "") if now == "failed" else ""
                    progress.step(job, now, detail=detail)
            if state.done:
                return state
            if deadline is not None and time.monotonic() >= deadline:
                raise ZenError(
                    f"the workflow run did not finish within {self.config.timeout:g}s; it goes on "
                    f"at {state.url} (stop it there, or with `zen run stop`)"
                )
            pause = self.config.poll_interval
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - time.monotonic()))
            time.sleep(pause)
            state = client.poll(state.id)

    # -- stopping -------------------------------------------------------------------------
    def stop(self, run: RunRecord, runs: RunStore | None = None) -> None:
        """Cancel the workflow run of a run submitted through the GitHub API."""
        gh_run = run.backend.get("github_run_id")
        if gh_run is None:
            raise ZenError(
                f"run '{run.run_id}' has no GitHub workflow run to cancel (act runs stop with their client)"
            )
        from .api import GitHubClient

        GitHubClient(self.config).cancel(int(gh_run))
