"""Configuration of the ``airflow`` orchestrator and its per-pipeline/per-step settings.

Pure pydantic: importing this module never imports Airflow, so configs and
settings are validated (and DAG files generated) on machines without it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

#: The operators zen knows by a short name; anything else must be "module:Class".
BUILTIN_OPERATORS = ("local", "docker", "kubernetes_pod")
_CLASS_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$", re.ASCII)
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$", re.ASCII)
# Airflow's rule for DAG and task ids, ASCII only and at most 200 characters (the
# DAG id names files: zen_<dag_id>.spec.json must fit in 255)
AIRFLOW_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-#]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Keys zen sets itself on every operator; settings may not override them.
RESERVED_KWARGS = frozenset({"task_id", "dag", "task_group", "params", "default_args"})
#: Further keys zen sets per operator kind (the command that runs the step, the image).
RESERVED_BY_OPERATOR: dict[str, frozenset[str]] = {
    "local": frozenset({"python_callable", "op_args", "op_kwargs", "templates_dict"}),
    "docker": frozenset({"image", "command"}),
    "kubernetes_pod": frozenset({"image", "cmds", "arguments"}),
}


def _single_line(value: str, what: str) -> str:
    if not value or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{what} must be a non-empty single line")
    return value


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive datetimes are taken as UTC; every date is stored in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


class AirflowSchedule(BaseModel):
    """When Airflow runs the DAG by itself: a cron expression or a fixed interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str | None = Field(
        default=None,
        description="A cron expression ('0 3 * * *') or an Airflow preset ('@daily', '@hourly', ...).",
    )
    interval: dt.timedelta | None = Field(
        default=None,
        description="A fixed interval between runs: seconds, or an ISO 8601 duration ('PT6H').",
    )
    start_date: dt.datetime | None = Field(
        default=None, description="First moment a scheduled run may cover (naive means UTC)."
    )
    end_date: dt.datetime | None = Field(default=None, description="No scheduled runs after this moment.")
    catchup: bool = Field(
        default=False,
        description="Also create the runs for every interval between start_date and now (needs start_date).",
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value in _PRESETS:
            return value
        fields = value.split()
        if len(fields) not in (5, 6) or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError(
                f"{value!r} is not a cron expression: give 5 fields (minute hour day month weekday) "
                f"or a preset ({', '.join(sorted(_PRESETS))})"
            )
        return " ".join(fields)

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value <= dt.timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @field_validator("start_date", "end_date")
    @classmethod
    def _dates(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> AirflowSchedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of 'cron' and 'interval'")
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        if self.catchup and self.start_date is None:
            raise ValueError("catchup needs a start_date (the first interval to catch up from)")
        return self


class AirflowSettings(BaseModel):
    """Per-pipeline and per-step settings: ``settings={"airflow": {...}}``.

    A step's effective settings are the pipeline's with the step's fields laid
    over them. ``schedule`` and ``dag_id`` belong to the whole DAG and are only
    accepted on the pipeline.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: str = Field(
        default="local",
        description="'local' (the entrypoint in the Airflow worker's own environment), 'docker' "
        "(DockerOperator), 'kubernetes_pod' (KubernetesPodOperator) or 'module:Class' of any operator.",
    )
    python: str | None = Field(
        default=None,
        description="Interpreter that runs the step: default the Airflow worker's own for 'local', "
        "'python' in the image for container operators.",
    )
    command_kwarg: str | None = Field(
        default="command",
        description="Custom operators only: the keyword argument that receives the step's command "
        "(a list of strings); None to pass none.",
    )
    image_kwarg: str | None = Field(
        default=None,
        description="Custom operators only: the keyword argument that receives the step's image; "
        "setting it makes zen build images for the pipeline.",
    )
    operator_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="More keyword arguments for the operator (JSON values), e.g. namespace for "
        "kubernetes_pod or network_mode for docker.",
    )
    retries: int | None = Field(default=None, ge=0, description="Default: the step's zen retries.")
    retry_delay: dt.timedelta | None = Field(default=None, description="Default: the step's retry_delay.")
    retry_exponential_backoff: float | None = Field(
        default=None, ge=0, description="Airflow's backoff multiplier; default: the step's retry_backoff."
    )
    max_retry_delay: dt.timedelta | None = Field(default=None, description="Cap on the wait between retries.")
    execution_timeout: dt.timedelta | None = Field(
        default=None, description="Airflow fails (and may retry) an attempt that runs longer than this."
    )
    pool: str | None = Field(default=None, description="Airflow pool the task takes slots from.")
    pool_slots: int | None = Field(default=None, ge=1, description="Slots of the pool the task takes.")
    queue: str | None = Field(default=None, description="Executor queue (CeleryExecutor workers, ...).")
    priority_weight: int | None = Field(default=None, description="Airflow task priority.")
    schedule: AirflowSchedule | None = Field(
        default=None, description="Pipeline only: when Airflow runs the DAG by itself."
    )
    dag_id: str | None = Field(default=None, description="Pipeline only: DAG id; default the pipeline name.")

    @field_validator("operator")
    @classmethod
    def _operator(cls, value: str) -> str:
        if value not in BUILTIN_OPERATORS and not _CLASS_PATH.match(value):
            raise ValueError(
                f"{value!r} is not an operator: use one of {', '.join(BUILTIN_OPERATORS)} "
                "or 'package.module:OperatorClass'"
            )
        return value

    @field_validator("operator_kwargs")
    @classmethod
    def _kwargs(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        operator = info.data.get("operator", "local")
        reserved = RESERVED_BY_OPERATOR.get(operator)
        if reserved is None:  # a custom operator: the arguments zen passes it
            reserved = frozenset(
                k for k in (info.data.get("command_kwarg"), info.data.get("image_kwarg")) if k
            )
        for key in value:
            if not _IDENTIFIER.match(key):
                raise ValueError(f"{key!r} is not a keyword argument name")
            if key in RESERVED_KWARGS or key in reserved:
                raise ValueError(f"{key!r} is set by zen for operator {operator!r} and cannot be given")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"values must be plain JSON ({exc})") from None
        return value

    @field_validator("command_kwarg", "image_kwarg")
    @classmethod
    def _kwarg_name(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} is not a keyword argument name")
        return value

    @field_validator("python", "pool", "queue")
    @classmethod
    def _line(cls, value: str | None) -> str | None:
        return None if value is None else _single_line(value, "the value")

    @field_validator("retry_delay", "max_retry_delay")
    @classmethod
    def _not_negative(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value < dt.timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("execution_timeout")
    @classmethod
    def _timeout(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value <= dt.timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @field_validator("dag_id")
    @classmethod
    def _dag_id(cls, value: str | None) -> str | None:
        if value is not None and not AIRFLOW_KEY.match(value):
            raise ValueError(f"{value!r} is not a DAG id: letters, digits, '_', '-', '.', at most 200")
        return value


class AirflowOrchestratorConfig(BaseModel):
    """The ``airflow`` orchestrator component."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["local", "rest"] = Field(
        default="local",
        description="'local': run the DAG on this machine with Airflow's own test runner (needs "
        "Apache Airflow installed, no Airflow services). 'rest': trigger it on an Airflow deployment "
        "through its REST API.",
    )
    dags_folder: str | None = Field(
        default=None,
        description="Folder the DAG files are written to: the deployment's DAGs folder (a local "
        "path or an fsspec URL such as gs://bucket/dags). Default: $AIRFLOW__CORE__DAGS_FOLDER, "
        "else $AIRFLOW_HOME/dags, else ~/airflow/dags.",
    )
    dag_id_prefix: str = Field(default="", description="Put before every pipeline name to make its DAG id.")
    schedule: AirflowSchedule | None = Field(
        default=None,
        description="Schedule of every DAG this orchestrator writes (a pipeline's own "
        "settings['airflow']['schedule'] wins).",
    )
    step_defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="Default settings['airflow'] of every step on this stack, e.g. "
        "{'operator': 'docker'}; a pipeline's and a step's own settings override them.",
    )
    tags: list[str] = Field(default_factory=list, description="More DAG tags ('zen' is always there).")
    max_active_runs: int | None = Field(default=None, ge=1, description="Airflow's max_active_runs.")
    source_root: str | None = Field(
        default=None,
        description="Folder the local operator puts first on the import path to import step code. "
        "Default: the client's working directory in local mode, the DAG file's folder in rest mode.",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a run may take; after that it is stopped and reported failed "
        "(in local mode only with the subprocess runner).",
    )
    progress: Literal["auto", "rich", "plain", "off"] = Field(
        default="auto", description="Live progress of the steps while the client waits."
    )
    # -- local mode --------------------------------------------------------------
    airflow_home: str | None = Field(
        default=None, description="Local mode: AIRFLOW_HOME (metadata DB, logs). Default: $AIRFLOW_HOME."
    )
    local_runner: Literal["subprocess", "in_process"] = Field(
        default="subprocess",
        description="Local mode: run DAG.test() in a fresh Python process (isolated, ~10 s to start "
        "Airflow) or in this one (fast after the first run, but Airflow configures this process).",
    )
    airflow_python: str | None = Field(
        default=None,
        description="Local mode, subprocess runner: a Python with Airflow installed (default: this one).",
    )
    migrate_db: bool = Field(
        default=True, description="Local mode: create or upgrade Airflow's metadata DB when needed."
    )
    # -- rest mode ---------------------------------------------------------------
    api_url: str | None = Field(
        default=None, description="Rest mode: base URL of the Airflow API server, e.g. https://airflow:8080."
    )
    token_env: str = Field(
        default="ZEN_AIRFLOW_TOKEN", description="Env variable holding a bearer token for the API."
    )
    username_env: str = Field(
        default="ZEN_AIRFLOW_USERNAME",
        description="Env variable holding the user name to get a token with (when there is no token).",
    )
    password_env: str = Field(
        default="ZEN_AIRFLOW_PASSWORD", description="Env variable holding its password."
    )
    verify_tls: bool = Field(default=True, description="Rest mode: check the API server's TLS certificate.")
    wait: bool = Field(
        default=True, description="Rest mode: wait for the run to end; False returns once it is triggered."
    )
    poll_interval: float = Field(default=5.0, gt=0, description="Rest mode: seconds between status checks.")
    parse_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Rest mode: seconds to wait for the deployment to parse the new DAG file.",
    )
    unpause: bool = Field(default=True, description="Rest mode: unpause the DAG before triggering it.")

    @field_validator("dag_id_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not AIRFLOW_KEY.match(value):
            raise ValueError("may only use letters, digits, '_', '-' and '.'")
        return value

    @field_validator("step_defaults")
    @classmethod
    def _defaults(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in ("schedule", "dag_id"):
            if key in value:
                raise ValueError(f"{key!r} is not a step setting (use the config's own fields)")
        try:
            AirflowSettings.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(problems) from None
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            _single_line(tag, "a tag")
            if len(tag) > 100:
                raise ValueError(f"tag {tag[:20]!r}... is longer than 100 characters")
        return value

    @field_validator("token_env", "username_env", "password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _mode(self) -> AirflowOrchestratorConfig:
        if self.mode == "rest" and not self.api_url:
            raise ValueError("mode 'rest' needs api_url")
        return self
