"""Everything zen-vertex does with google-cloud-aiplatform, behind one small class.

Imported only when a run is submitted, followed, stopped or scheduled: importing the
SDK takes seconds. Jobs go through the SDK's own ``PipelineJob`` (the same request a
user's ``PipelineJob(...).submit()`` sends, including its pipeline-root bucket check),
schedules through ``PipelineJob.create_schedule``. Waiting is not the SDK's
``wait()``, which sleeps a fixed 5 s between polls: the orchestrator polls with
:meth:`VertexApi.get` on its own interval.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from zen_core.errors import StackError, ZenError

from .config import VertexOrchestratorConfig
from .settings import VertexSchedule
from .states import job_state_name, task_state_name

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_SDK_LOGGER = "google.cloud.aiplatform"


class VertexApiError(ZenError):
    """Vertex AI refused or failed a request."""


class JobExistsError(VertexApiError):
    """A pipeline job with this id exists already (the API answered ALREADY_EXISTS)."""


@dataclass(frozen=True)
class TaskState:
    name: str
    state: str
    error: str = ""


@dataclass(frozen=True)
class JobState:
    """A pipeline job as one ``GetPipelineJob`` returned it."""

    name: str
    state: str  # PIPELINE_STATE_...
    error: str = ""
    tasks: list[TaskState] = field(default_factory=list)

    @property
    def failed_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks if t.state == "FAILED"]


def load_credentials(spec: str) -> Any:
    """Credentials for ``'default'`` (ADC), ``'anonymous'`` or a file path.

    Loaded once per orchestrator, so polling reuses one token instead of resolving
    Application Default Credentials again for every request.
    """
    if spec == "default":
        import google.auth
        import google.auth.exceptions

        try:
            credentials, _ = google.auth.default(scopes=SCOPES)
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise StackError(
                f"no Google credentials for the vertex orchestrator ({exc}). Run 'gcloud auth "
                "application-default login', or set its 'credentials' to a credentials file"
            ) from None
        return credentials
    if spec == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return credentials_from_file(os.path.expanduser(spec))


def credentials_from_file(path: str) -> Any:
    """Credentials from a JSON credentials file, by its ``type``.

    Each type has its own loader (google-auth deprecates loading whatever a file says):
    service account keys, user credentials (``gcloud auth application-default login``
    writes one) and workload identity federation configs.
    """
    import google.auth.exceptions

    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError) as exc:
        raise StackError(f"cannot load Google credentials from {path}: {exc}") from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        if kind == "authorized_user":
            from google.oauth2.credentials import Credentials

            return Credentials.from_authorized_user_info(info, scopes=SCOPES)
        if kind == "external_account":
            source = info.get("credential_source") or {}
            if str(source.get("environment_id", "")).startswith("aws"):
                from google.auth import aws

                return aws.Credentials.from_info(info, scopes=SCOPES)
            if "executable" in source:
                from google.auth import pluggable

                return pluggable.Credentials.from_info(info, scopes=SCOPES)
            from google.auth import identity_pool

            return identity_pool.Credentials.from_info(info, scopes=SCOPES)
    except (google.auth.exceptions.GoogleAuthError, ValueError, KeyError) as exc:
        raise StackError(f"cannot load Google credentials from {path}: {exc}") from None
    raise StackError(
        f"cannot load Google credentials from {path}: type {kind!r} is not one of service_account, "
        "authorized_user, external_account"
    )


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """The SDK logs each request at INFO on its own handler; zen says what matters itself."""
    logger = logging.getLogger(_SDK_LOGGER)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def unsent_resource(job: Any) -> Any:
    """The ``PipelineJob`` message a job object will send.

    The SDK's public ``gca_resource`` refuses access until the job exists on the server,
    so the message is read from ``_gca_resource``, which ``submit()`` sends as it is.
    """
    return job._gca_resource


class VertexApi:
    """Pipeline jobs and schedules in one project and region, as the config says."""

    def __init__(self, config: VertexOrchestratorConfig) -> None:
        self.config = config
        self._credentials: Any = None
        self._ready = False

    # -- the SDK -------------------------------------------------------------------------
    def sdk(self) -> Any:
        """``google.cloud.aiplatform``, initialised for this config."""
        from google.cloud import aiplatform
        from google.cloud.aiplatform import initializer

        if not self._ready:
            self._credentials = load_credentials(self.config.credentials)
        cfg = self.config
        aiplatform.init(
            project=cfg.project,
            location=cfg.location,
            credentials=self._credentials,
            api_endpoint=cfg.api_endpoint,
            api_transport=cfg.transport(),
        )
        # init() keeps what an earlier init() set when given None; this config is the whole
        # truth for zen's calls, so unset values are reset to the SDK's defaults.
        state = initializer.global_config
        if cfg.api_endpoint is None:
            state._api_endpoint = None
        if cfg.transport() is None:
            state._api_transport = None
        self._ready = True
        return aiplatform

    def _scope(self) -> dict[str, Any]:
        return {
            "project": self.config.project,
            "location": self.config.location,
            "credentials": self._credentials,
        }

    @contextlib.contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Turns the SDK's errors into zen errors that say what was being done."""
        import google.auth.exceptions
        from google.api_core import exceptions as gexc

        try:
            with _quiet_sdk():
                yield
        except gexc.Conflict as exc:  # ALREADY_EXISTS: gRPC raises AlreadyExists, REST its base Conflict
            raise JobExistsError(f"{what}: it exists already ({_message(exc)})") from None
        except gexc.GoogleAPICallError as exc:
            raise VertexApiError(f"{what}: Vertex AI answered {exc.code}: {_message(exc)}") from None
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise StackError(
                f"{what}: no Google credentials ({exc}). Run 'gcloud auth application-default login', "
                "or set the vertex orchestrator's 'credentials' to a key file"
            ) from None
        except google.auth.exceptions.GoogleAuthError as exc:
            raise StackError(f"{what}: Google authentication failed: {exc}") from None

    # -- pipeline jobs ---------------------------------------------------------------------
    def build_job(
        self,
        pipeline_spec: Mapping[str, Any],
        *,
        job_id: str,
        display_name: str,
        pipeline_root: str,
        parameter_values: Mapping[str, Any],
        labels: Mapping[str, str],
    ) -> Any:
        """The ``PipelineJob`` to submit (nothing is sent yet)."""
        aiplatform = self.sdk()
        cfg = self.config
        with tempfile.TemporaryDirectory(prefix="zen-vertex-") as tmp:
            template = os.path.join(tmp, "pipeline.json")
            with open(template, "w", encoding="utf-8") as f:
                json.dump(pipeline_spec, f)
            with self._calls(f"preparing pipeline job {job_id}"):
                job = aiplatform.PipelineJob(
                    display_name=display_name,
                    template_path=template,
                    job_id=job_id,
                    pipeline_root=pipeline_root,
                    parameter_values=dict(parameter_values),
                    # zen caches steps itself; a task Vertex took from its cache would not run zen
                    enable_caching=False,
                    encryption_spec_key_name=cfg.encryption_key,
                    labels=dict(labels),
                    **self._scope(),
                )
        # what submit(service_account=, network=) would set, set here so body() shows it
        resource = unsent_resource(job)
        if cfg.service_account:
            resource.service_account = cfg.service_account
        if cfg.network:
            resource.network = cfg.network
        return job

    @staticmethod
    def body(job: Any) -> dict[str, Any]:
        """The JSON body ``CreatePipelineJob`` sends for ``job``.

        As the REST transport writes it (camelCase, fields left at their defaults
        omitted), except that enums are spelled by name rather than number.
        """
        from google.protobuf import json_format

        resource = unsent_resource(job)
        data: dict[str, Any] = json_format.MessageToDict(type(resource).pb(resource))
        return data

    def submit(self, job: Any) -> str:
        """Create the job; return its resource name."""
        cfg = self.config
        with self._calls(f"submitting pipeline job {job.job_id}"):
            job.submit(service_account=cfg.service_account, network=cfg.network)
        return str(job.resource_name)

    def get(self, name: str) -> JobState:
        aiplatform = self.sdk()
        with self._calls(f"reading pipeline job {name}"):
            resource = aiplatform.PipelineJob.get(name, **self._scope()).gca_resource
        tasks = [
            TaskState(
                name=str(t.task_name),
                state=task_state_name(t.state),
                error=str(t.error.message) if t.error and t.error.message else "",
            )
            for t in resource.job_detail.task_details
        ]
        error = str(resource.error.message) if resource.error and resource.error.message else ""
        return JobState(
            name=str(resource.name), state=job_state_name(resource.state), error=error, tasks=tasks
        )

    def cancel(self, name: str) -> None:
        """Ask Vertex to cancel a job; a job that already ended is left as it is."""
        from google.api_core import exceptions as gexc

        aiplatform = self.sdk()
        with self._calls(f"cancelling pipeline job {name}"):
            job = aiplatform.PipelineJob.get(name, **self._scope())
            with contextlib.suppress(gexc.FailedPrecondition):  # it ended meanwhile
                job.cancel()

    # -- schedules -------------------------------------------------------------------------
    def create_schedule(self, job: Any, schedule: VertexSchedule, display_name: str) -> str:
        """Create a pipeline job schedule running ``job``'s pipeline; return its resource name."""
        cfg = self.config
        with self._calls(f"creating schedule {display_name}"):
            created = job.create_schedule(
                cron=schedule.cron,
                display_name=display_name,
                start_time=schedule.start_time,
                end_time=schedule.end_time,
                allow_queueing=schedule.allow_queueing,
                max_run_count=schedule.max_run_count,
                max_concurrent_run_count=schedule.max_concurrent_run_count,
                service_account=cfg.service_account,
                network=cfg.network,
            )
        return str(created.resource_name)

    def pause_schedule(self, name: str) -> None:
        aiplatform = self.sdk()
        with self._calls(f"pausing schedule {name}"):
            aiplatform.PipelineJobSchedule.get(name, **self._scope()).pause()
