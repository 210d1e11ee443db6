"""From a pipeline spec to an Airflow DAG: a fixed DAG file plus its JSON definition.

Generation needs no Airflow. It writes three files into the DAGs folder, named
after the DAG id::

    zen_<dag_id>.py         the DAG file: always the same code (zen_airflow/dagfile.py)
    zen_<dag_id>.json       the DAG's definition: id, schedule, params, tasks
    zen_<dag_id>.spec.json  the pipeline spec the local operator's steps run

Everything that comes from the pipeline (names, parameters, settings) lives in
the JSON files and is read with ``json`` when Airflow parses the DAG, so no
value can become code. Ids Airflow would reject are replaced by safe ones with a
hash of the original, so two different ids never collide.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import ValidationError

from zen_core.errors import PipelineDefinitionError
from zen_core.spec import PipelineSpec, StepSpec

from . import __version__
from .config import (
    AIRFLOW_KEY,
    BUILTIN_OPERATORS,
    AirflowOrchestratorConfig,
    AirflowSchedule,
    AirflowSettings,
)
from .dagfile import FORMAT, RUN_ID_CONF_KEY

SETTINGS_KEY = "airflow"
#: Settings that describe the whole DAG, accepted on the pipeline only.
PIPELINE_ONLY = ("schedule", "dag_id")
#: Settings a step does not inherit from the pipeline when it picks another operator.
OPERATOR_SPECIFIC = ("operator_kwargs", "command_kwarg", "image_kwarg", "python")
_JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "tuple": "array",
    "dict": "object",
}


@dataclass(frozen=True)
class DagFiles:
    """The generated files of one DAG, as text, before they are written."""

    dag_id: str
    stem: str
    dag_file: str
    definition: dict[str, Any]
    spec_json: str

    @property
    def definition_json(self) -> str:
        # insertion order: the generator builds every mapping in a fixed order
        return json.dumps(self.definition, indent=2, ensure_ascii=False) + "\n"

    def files(self) -> dict[str, str]:
        """File name -> content, in the order they must be written (the DAG file last)."""
        return {
            f"{self.stem}.spec.json": self.spec_json,
            f"{self.stem}.json": self.definition_json,
            f"{self.stem}.py": self.dag_file,
        }


def dag_file_source() -> str:
    """The DAG file: zen_airflow/dagfile.py and the line that builds the DAG."""
    source = resources.files("zen_airflow").joinpath("dagfile.py").read_text(encoding="utf-8")
    return source.rstrip("\n") + "\n\n\ndag = build_dag(__file__)\n"


def safe_key(value: str, limit: int = 200) -> str:
    """``value`` if Airflow accepts it as a DAG/task id, else a safe id with a hash of it."""
    if AIRFLOW_KEY.match(value) and len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "_", value).strip("_")[: limit - 11] or "id"
    return f"{cleaned}-{digest}"


def json_schema_type(type_name: str) -> str | list[str] | None:
    """The JSON schema ``type`` of a zen parameter type (None when it cannot be said)."""
    optional = re.fullmatch(r"Optional\[(.+)\]", type_name) or re.fullmatch(r"(.+?) \| None", type_name)
    inner = optional.group(1) if optional else type_name
    base = _JSON_TYPES.get(inner.split("[", 1)[0].strip())
    if base is None:
        return None
    return ["null", base] if optional else base


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(settings)'}: {e['msg']}" for e in exc.errors())


def pipeline_settings(spec: PipelineSpec) -> AirflowSettings:
    """The pipeline's own ``airflow`` settings, validated; errors name the field."""
    try:
        return AirflowSettings.model_validate(spec.settings.get(SETTINGS_KEY, {}))
    except ValidationError as exc:
        raise PipelineDefinitionError(
            f"pipeline '{spec.name}': invalid '{SETTINGS_KEY}' settings: {_problems(exc)}"
        ) from None


def _layer(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    if top.get("operator", base.get("operator", "local")) != base.get("operator", "local"):
        # arguments meant for the operator below do not fit this other one
        for key in OPERATOR_SPECIFIC:
            merged.pop(key, None)
    merged.update(top)
    return merged


def step_settings(
    spec: PipelineSpec, step: StepSpec, defaults: Mapping[str, Any] | None = None
) -> AirflowSettings:
    """A step's effective settings, field by field: the stack's ``defaults``, the pipeline's, the step's.

    A layer that picks another operator than the one below it does not inherit
    that one's operator-specific fields (``operator_kwargs``, ``python``, ...).
    """
    own = step.settings.get(SETTINGS_KEY, {})
    misplaced = [k for k in PIPELINE_ONLY if k in own]
    if misplaced:
        raise PipelineDefinitionError(
            f"pipeline '{spec.name}', step '{step.id}': '{SETTINGS_KEY}' setting "
            f"{', '.join(repr(k) for k in misplaced)} applies to the whole DAG; set it on the pipeline"
        )
    pipeline = {k: v for k, v in spec.settings.get(SETTINGS_KEY, {}).items() if k not in PIPELINE_ONLY}
    merged = _layer(_layer(defaults or {}, pipeline), own)
    try:
        return AirflowSettings.model_validate(merged)
    except ValidationError as exc:
        raise PipelineDefinitionError(
            f"pipeline '{spec.name}', step '{step.id}': invalid '{SETTINGS_KEY}' settings: {_problems(exc)}"
        ) from None


def needs_image(settings: AirflowSettings) -> bool:
    """Whether the step runs in a container image zen must provide."""
    if settings.operator in ("docker", "kubernetes_pod"):
        return True
    return settings.operator not in BUILTIN_OPERATORS and settings.image_kwarg is not None


def dag_id_of(spec: PipelineSpec, config: AirflowOrchestratorConfig) -> str:
    own = pipeline_settings(spec).dag_id
    return own if own is not None else safe_key(f"{config.dag_id_prefix}{spec.name}")


def _seconds(value: Any) -> float | None:
    return None if value is None else value.total_seconds()


def _schedule(schedule: AirflowSchedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "cron": schedule.cron,
        "interval_seconds": _seconds(schedule.interval),
        "start_date": schedule.start_date.isoformat() if schedule.start_date else None,
        "end_date": schedule.end_date.isoformat() if schedule.end_date else None,
        "catchup": schedule.catchup,
    }


def _task_args(step: StepSpec, settings: AirflowSettings) -> dict[str, Any]:
    backoff = step.retry.backoff if step.retry.backoff != 1 else 0
    args: dict[str, Any] = {
        "retries": settings.retries if settings.retries is not None else step.retry.max_retries,
        "retry_delay": (
            _seconds(settings.retry_delay) if settings.retry_delay is not None else step.retry.delay
        ),
        "retry_exponential_backoff": (
            settings.retry_exponential_backoff if settings.retry_exponential_backoff is not None else backoff
        ),
    }
    optional = {
        "max_retry_delay": _seconds(settings.max_retry_delay),
        "execution_timeout": _seconds(settings.execution_timeout),
        "pool": settings.pool,
        "pool_slots": settings.pool_slots,
        "queue": settings.queue,
        "priority_weight": settings.priority_weight,
    }
    args.update({k: v for k, v in optional.items() if v is not None})
    return args


def _operator_kwargs(settings: AirflowSettings, local_store: str | None) -> dict[str, Any]:
    # zen's defaults first, so the step's own operator_kwargs win
    kwargs: dict[str, Any] = {"do_xcom_push": False}
    if settings.operator == "docker":
        # no temporary host folder (zen needs none) and no stopped containers left behind
        kwargs.update(mount_tmp_dir=False, auto_remove="force")
    if settings.operator == "kubernetes_pod":
        kwargs.update(get_logs=True, on_finish_action="delete_pod")
    user = dict(settings.operator_kwargs)
    if settings.operator == "docker" and local_store is not None:
        # the local artifact store, at the same path inside the container
        store_mount = {"source": local_store, "target": local_store, "type": "bind"}
        user["mounts"] = [*user.get("mounts", []), store_mount]
    kwargs.update(user)
    return kwargs


def _param_specs(spec: PipelineSpec, *, scheduled: bool) -> dict[str, Any]:
    out = {}
    for name, p in spec.parameters.items():
        if name == RUN_ID_CONF_KEY:
            raise PipelineDefinitionError(
                f"pipeline '{spec.name}': parameter name '{name}' is reserved by the airflow orchestrator"
            )
        if p.required and scheduled:
            raise PipelineDefinitionError(
                f"pipeline '{spec.name}': parameter '{name}' has no default, but a scheduled DAG "
                "starts runs without being given parameters; give it a default"
            )
        schema_type = json_schema_type(p.type)
        if not p.required and p.default is None and isinstance(schema_type, str):
            schema_type = ["null", schema_type]
        out[name] = {
            "type": schema_type,
            "required": p.required,
            "default": None if p.required else p.default,
            "description": f"zen pipeline parameter ({p.type})",
        }
    return out


def build_dag_files(
    spec: PipelineSpec,
    config: AirflowOrchestratorConfig,
    *,
    store_url: str,
    spec_uri: str | None,
    local_store: str | None = None,
    images: Mapping[str, str] | None = None,
    source_root: str | None = None,
) -> DagFiles:
    """The DAG files of ``spec``.

    ``store_url`` is the artifact store every task writes to; ``spec_uri`` where
    container tasks read the spec from (a copy in the store); ``local_store`` the
    store's folder when it is one, bind-mounted into docker tasks; ``images`` the
    image of each step that runs in a container (None when not built, e.g. when only
    compiling); ``source_root`` where the local operator imports step code from
    (None: the DAG file's folder).
    """
    pipeline = pipeline_settings(spec)
    schedule = pipeline.schedule or config.schedule
    dag_id = dag_id_of(spec, config)
    task_ids: dict[str, str] = {}
    for step in spec.steps:
        task_id = safe_key(step.id)
        if task_id in task_ids.values():  # a safe id equal to another step's own id
            task_id = safe_key(f"{step.id}\0")
        task_ids[step.id] = task_id
    tasks = []
    for step in spec.steps:
        settings = step_settings(spec, step, config.step_defaults)
        image = None
        if needs_image(settings) and images is not None:
            if step.id not in images:
                raise PipelineDefinitionError(
                    f"pipeline '{spec.name}': no image was built for step '{step.id}'"
                )
            image = images[step.id]
        custom = settings.operator not in BUILTIN_OPERATORS
        tasks.append(
            {
                "task_id": task_ids[step.id],
                "step": step.id,
                "upstream": [task_ids[u] for u in step.upstream],
                "operator": settings.operator,
                "python": settings.python,
                "image": image,
                "command_kwarg": settings.command_kwarg if custom else None,
                "image_kwarg": settings.image_kwarg if custom else None,
                "task_args": _task_args(step, settings),
                "operator_kwargs": _operator_kwargs(settings, local_store),
            }
        )
    body: dict[str, Any] = {
        "format": FORMAT,
        "generator": f"zen-airflow {__version__}",
        "dag_id": dag_id,
        "pipeline": spec.name,
        "spec_digest": spec.digest(),
        "store": store_url,
        "spec_file": f"zen_{dag_id}.spec.json",
        "spec_uri": spec_uri,
        "source_root": source_root,
        "schedule": _schedule(schedule),
        "params": sorted(spec.parameters),
        "param_specs": _param_specs(spec, scheduled=schedule is not None),
        "tags": ["zen", *(t for t in config.tags if t != "zen")],
        "max_active_runs": config.max_active_runs,
        "tasks": tasks,
    }
    # The description carries a hash of everything else: a client waiting for a
    # deployment to parse this version of the DAG looks for it.
    description = f"zen pipeline {spec.name} (definition {definition_hash(body)})"
    items = list(body.items())
    definition = dict([*items[:4], ("description", description), *items[4:]])  # after "pipeline"
    return DagFiles(
        dag_id=dag_id,
        stem=f"zen_{dag_id}",
        dag_file=dag_file_source(),
        definition=definition,
        spec_json=spec.to_json(),
    )


def definition_hash(definition: Mapping[str, Any]) -> str:
    """A short hash of a definition, leaving out its description (which quotes the hash)."""
    body = {k: v for k, v in definition.items() if k != "description"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


def write_dag_files(files: DagFiles, folder: str) -> list[str]:
    """Write the files into ``folder`` (a path or an fsspec URL); the DAG file goes last.

    Local files are written under a temporary name and renamed, so Airflow never
    parses half a file. Returns the paths written.
    """
    written = []
    if "://" in folder and not folder.startswith("file://"):
        import fsspec

        fs, root = fsspec.core.url_to_fs(folder)
        fs.makedirs(root, exist_ok=True)
        for name, text in files.files().items():
            path = f"{root.rstrip('/')}/{name}"
            with fs.open(path, "w", encoding="utf-8") as f:
                f.write(text)
            written.append(f"{folder.rstrip('/')}/{name}")
        return written
    root = folder[len("file://") :] if folder.startswith("file://") else folder
    os.makedirs(root, exist_ok=True)
    for name, text in files.files().items():
        path = os.path.join(root, name)
        tmp = os.path.join(root, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        written.append(path)
    return written
