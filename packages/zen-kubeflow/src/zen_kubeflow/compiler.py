"""The KFP v2 compiler: a zen ``PipelineSpec`` becomes a Kubeflow Pipelines IR.

Used by the ``kubeflow`` orchestrator and by zen-vertex (Vertex AI Pipelines runs
the same IR, without the Kubernetes platform part)::

    from zen_kubeflow.compiler import compile_pipeline

    compiled = compile_pipeline(spec, images, store_url="gs://bucket/zen")
    compiled.pipeline_spec      # the IR, a dict (what Vertex's pipelineSpec takes)
    compiled.platform_spec      # the kfp-kubernetes part, or None
    compiled.write("pipeline.yaml")   # what a user uploads to the KFP UI

How a zen pipeline maps onto the IR:

* Every step is a task running the launcher (:mod:`zen_kubeflow.launcher`, embedded
  as ``python -c``) in the image built for it; the launcher runs zen's universal
  entrypoint. Steps sharing an image and settings share one component and
  executor; the task says which step it is (``zen_step``). Task names are the step
  ids made DNS-safe; the display name is the step id itself.
* Data flows through zen's artifact store, never through KFP artifacts: a step's
  upstream steps become ``dependentTasks`` only.
* Pipeline parameters become KFP pipeline parameters, typed, with their defaults,
  and reach every step through the executor input, so a run started from the KFP
  UI with other values uses them. Two more parameters: ``zen_run_id`` (set by the
  client; empty for runs KFP starts itself) and ``zen_spec`` (the compiled zen spec,
  compressed, so the IR is self-contained).
* The steps sit inside an exit handler whose exit task (``zen-finalize``) completes
  the zen run's records whatever happened (see the launcher).
* Retries are KFP task retries (``retryPolicy``); KFP-side caching is off on every
  task: zen caches itself. Per-step settings (:class:`KubeflowSettings`) become
  container resources, env and the kfp-kubernetes platform config.

Output is deterministic: the same spec, images and settings give the same bytes.
The module imports no kfp code, so compiling is fast and Vertex needs no KFP
server libraries; tests check the IR against kfp's own parser and compiler.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zen_core.errors import PipelineDefinitionError
from zen_core.spec import PipelineSpec

from . import __version__
from .launcher import RESERVED_INPUTS, RUN_ID_INPUT, SPEC_INPUT, STATUS_INPUT, STEP_INPUT, encode_spec
from .settings import SETTINGS_KEY, KubeflowSettings, merged_settings

#: The IR schema this compiler writes, and the kfp release it is checked against.
SCHEMA_VERSION = "2.1.0"
KFP_VERSION = "2.17.0"
SDK_VERSION = f"kfp-{KFP_VERSION}"

EXIT_HANDLER = "exit-handler-1"
FINALIZE_TASK = "zen-finalize"
STEP_COMPONENT = "zen-step"
_CHANNEL = "pipelinechannel--"
_MAX_NAME = 63

_G = 10**9
_MEMORY_UNITS = {
    "E": 10**18 / _G,
    "Ei": 2**60 / _G,
    "P": 10**15 / _G,
    "Pi": 2**50 / _G,
    "T": 10**12 / _G,
    "Ti": 2**40 / _G,
    "G": 1.0,
    "Gi": 2**30 / _G,
    "M": 10**6 / _G,
    "Mi": 2**20 / _G,
    "K": 10**3 / _G,
    "Ki": 2**10 / _G,
}


def launcher_source() -> str:
    """The launcher's code as embedded in every executor: its file, less the module docstring."""
    text = (Path(__file__).parent / "launcher.py").read_text(encoding="utf-8")
    if text.startswith('"""'):
        end = text.index('"""', 3) + 3
        text = '"""zen-kubeflow launcher: see zen_kubeflow/launcher.py."""' + text[end:]
    return text


@dataclass(frozen=True)
class CompiledPipeline:
    """A compiled pipeline: the IR and, when any step needs it, the Kubernetes platform config."""

    pipeline_spec: dict[str, Any]
    platform_spec: dict[str, Any] | None
    #: step id -> task name in the IR (DNS-safe, unique)
    task_names: dict[str, str]

    @property
    def name(self) -> str:
        name: str = self.pipeline_spec["pipelineInfo"]["name"]
        return name

    def to_dict(self) -> dict[str, Any]:
        """The body KFP's API takes (``pipeline_spec`` of a run): IR and platform config."""
        if self.platform_spec is None:
            return self.pipeline_spec
        return {"pipeline_spec": self.pipeline_spec, "platform_spec": self.platform_spec}

    def to_yaml(self) -> str:
        return to_yaml(self)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path


# -- names ------------------------------------------------------------------------


def sanitize(name: str) -> str:
    """A DNS-1123-style name: lowercase letters, digits and '-' (as kfp's DSL makes them)."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    out = re.sub(r"-+", "-", out).strip("-")
    return out or "x"


def _unique(base: str, taken: set[str]) -> str:
    base = base[:_MAX_NAME].rstrip("-")
    name, n = base, 2
    while name in taken:
        suffix = f"-{n}"
        name = base[: _MAX_NAME - len(suffix)].rstrip("-") + suffix
        n += 1
    taken.add(name)
    return name


def task_names(spec: PipelineSpec) -> dict[str, str]:
    """Step id -> IR task name: DNS-safe and unique, in spec order."""
    taken = {EXIT_HANDLER, FINALIZE_TASK}
    return {s.id: _unique(sanitize(s.id), taken) for s in spec.steps}


# -- parameters ---------------------------------------------------------------------

_PARAM_TYPES = {
    "int": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "str": "STRING",
    "bool": "BOOLEAN",
}


def parameter_type(type_name: str, default: Any = None) -> str:
    """The KFP parameter type of a zen parameter type name (``int``, ``list[str]``, ...)."""
    if type_name in _PARAM_TYPES:
        return _PARAM_TYPES[type_name]
    head = type_name.split("[", 1)[0].rsplit(".", 1)[-1].lower()
    if head in ("list", "tuple", "set", "frozenset", "sequence"):
        return "LIST"
    if head in ("dict", "mapping"):
        return "STRUCT"
    # Optional[...] and other unions, Any, models: go by the default's JSON type
    if isinstance(default, bool):
        return "BOOLEAN"
    if isinstance(default, int):
        return "NUMBER_INTEGER"
    if isinstance(default, float):
        return "NUMBER_DOUBLE"
    if isinstance(default, (list, tuple)):
        return "LIST"
    if isinstance(default, dict):
        return "STRUCT"
    return "STRING"


# -- container config -------------------------------------------------------------


def _cpu(value: str) -> float:
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


def _memory_gb(value: str) -> float:
    for unit in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * _MEMORY_UNITS[unit]
    return float(value) / _G


def _resources(s: KubeflowSettings) -> dict[str, Any]:
    """Container resources as kfp's compiler writes them: new fields and the legacy numbers."""
    res: dict[str, Any] = {}
    if s.cpu_request is not None:
        res["resourceCpuRequest"] = s.cpu_request
        res["cpuRequest"] = _cpu(s.cpu_request)
    if s.cpu_limit is not None:
        res["resourceCpuLimit"] = s.cpu_limit
        res["cpuLimit"] = _cpu(s.cpu_limit)
    if s.memory_request is not None:
        res["resourceMemoryRequest"] = s.memory_request
        res["memoryRequest"] = _memory_gb(s.memory_request)
    if s.memory_limit is not None:
        res["resourceMemoryLimit"] = s.memory_limit
        res["memoryLimit"] = _memory_gb(s.memory_limit)
    if s.accelerator_type is not None:
        count = str(1 if s.accelerator_count is None else s.accelerator_count)
        res["accelerator"] = {
            "count": count,
            "resourceCount": count,
            "resourceType": s.accelerator_type,
            "type": s.accelerator_type,
        }
    return res


def _constant(value: str) -> dict[str, Any]:
    return {"runtimeValue": {"constant": value}}


def kubernetes_config(s: KubeflowSettings) -> dict[str, Any]:
    """The kfp-kubernetes executor config (``KubernetesExecutorConfig`` as JSON) of settings."""
    k: dict[str, Any] = {}
    if s.node_selector:
        k["nodeSelector"] = {"labels": dict(s.node_selector)}
    if s.tolerations:
        tols = []
        for t in s.tolerations:
            # Kubernetes reads a missing operator as "Equal"; kfp-kubernetes leaves it out then
            tol: dict[str, Any] = {} if t.operator == "Equal" else {"operator": t.operator}
            if t.key is not None:
                tol["key"] = t.key
            if t.value is not None:
                tol["value"] = t.value
            if t.effect is not None:
                tol["effect"] = t.effect
            if t.toleration_seconds is not None:
                tol["tolerationSeconds"] = str(t.toleration_seconds)
            tols.append(tol)
        k["tolerations"] = tols
    if s.secrets_as_env:
        k["secretAsEnv"] = [
            {
                "keyToEnv": [{"envVar": env, "secretKey": key} for key, env in e.keys.items()],
                "optional": e.optional,
                "secretName": e.secret_name,
                "secretNameParameter": _constant(e.secret_name),
            }
            for e in s.secrets_as_env
        ]
    if s.secrets_as_volume:
        k["secretAsVolume"] = [
            {
                "mountPath": v.mount_path,
                "optional": v.optional,
                "secretName": v.secret_name,
                "secretNameParameter": _constant(v.secret_name),
            }
            for v in s.secrets_as_volume
        ]
    if s.config_maps_as_env:
        k["configMapAsEnv"] = [
            {
                "configMapName": e.config_map_name,
                "configMapNameParameter": _constant(e.config_map_name),
                "keyToEnv": [{"configMapKey": key, "envVar": env} for key, env in e.keys.items()],
                "optional": e.optional,
            }
            for e in s.config_maps_as_env
        ]
    if s.config_maps_as_volume:
        k["configMapAsVolume"] = [
            {
                "configMapName": v.config_map_name,
                "configMapNameParameter": _constant(v.config_map_name),
                "mountPath": v.mount_path,
                "optional": v.optional,
            }
            for v in s.config_maps_as_volume
        ]
    if s.pvc_mounts:
        k["pvcMount"] = [
            {"constant": m.pvc_name, "mountPath": m.mount_path, "pvcNameParameter": _constant(m.pvc_name)}
            for m in s.pvc_mounts
        ]
    if s.empty_dirs:
        dirs = []
        for d in s.empty_dirs:
            entry: dict[str, Any] = {"mountPath": d.mount_path, "volumeName": d.volume_name}
            if d.medium is not None:
                entry["medium"] = d.medium
            if d.size_limit is not None:
                entry["sizeLimit"] = d.size_limit
            dirs.append(entry)
        k["emptyDirMounts"] = dirs
    if s.pod_labels or s.pod_annotations:
        meta: dict[str, Any] = {}
        if s.pod_annotations:
            meta["annotations"] = dict(s.pod_annotations)
        if s.pod_labels:
            meta["labels"] = dict(s.pod_labels)
        k["podMetadata"] = meta
    if s.image_pull_secrets:
        k["imagePullSecret"] = [
            {"secretName": name, "secretNameParameter": _constant(name)} for name in s.image_pull_secrets
        ]
    if s.image_pull_policy is not None:
        k["imagePullPolicy"] = s.image_pull_policy
    if s.timeout is not None:
        k["activeDeadlineSeconds"] = str(s.timeout)
    return k


def _retry_policy(max_retries: int, delay: float, backoff: float, max_duration: int | None) -> dict[str, Any]:
    # KFP durations are whole seconds; a short delay rounds up rather than to "retry at once"
    return {
        "backoffDuration": f"{math.ceil(delay)}s",
        "backoffFactor": float(backoff),
        "backoffMaxDuration": f"{max_duration or 3600}s",
        "maxRetryCount": max_retries,
    }


# -- the compiler -------------------------------------------------------------------


@dataclass(frozen=True)
class _Executor:
    label: str
    container: dict[str, Any]
    kubernetes: dict[str, Any]


def compile_pipeline(
    spec: PipelineSpec,
    images: Mapping[str, str],
    *,
    store_url: str,
    settings_key: str = SETTINGS_KEY,
    step_settings: Callable[[str], KubeflowSettings] | None = None,
    base_settings: KubeflowSettings | None = None,
    python: str = "python",
    description: str | None = None,
) -> CompiledPipeline:
    """Compile ``spec`` to a KFP v2 IR.

    Args:
        spec: The compiled zen pipeline.
        images: ``{step_id: image}`` for every step (what ``zen_build_images`` returns).
        store_url: The artifact store every step reads and writes; it must be reachable
            from the step containers.
        settings_key: Which ``settings`` entry holds the :class:`KubeflowSettings`
            (zen-vertex passes ``"vertex"``).
        step_settings: Overrides how a step's effective settings are found (default:
            the pipeline's ``settings_key`` entry with the step's laid over it).
        base_settings: Settings every executor gets under the step's own, e.g. the
            orchestrator's environment and the volume of a shared local store; the
            ``zen-finalize`` task gets them too (it needs the store as much as steps).
        python: The Python executable in the images.
        description: The pipeline description shown by KFP.
    """
    missing = [s.id for s in spec.steps if not images.get(s.id)]
    if missing:
        raise PipelineDefinitionError(
            f"pipeline '{spec.name}': no image for step(s) {', '.join(missing)}; "
            "install an image builder (zen-docker) or give an image"
        )
    for pname in spec.parameters:
        if pname in RESERVED_INPUTS or pname == STATUS_INPUT:
            raise PipelineDefinitionError(
                f"pipeline '{spec.name}': parameter name '{pname}' is reserved by the KFP compiler"
            )

    def effective(step_id: str) -> KubeflowSettings:
        own = step_settings(step_id) if step_settings else merged_settings(spec, step_id, settings_key)
        return _layer(base_settings, own)

    source = launcher_source()
    names = task_names(spec)
    params = {n: spec.parameters[n] for n in sorted(spec.parameters)}

    # Inputs of every step component: run id, spec, step id, then the pipeline parameters.
    step_inputs: dict[str, Any] = {
        RUN_ID_INPUT: {"parameterType": "STRING"},
        SPEC_INPUT: {"parameterType": "STRING"},
        STEP_INPUT: {"parameterType": "STRING"},
    }
    for pname, p in params.items():
        step_inputs[pname] = {"parameterType": parameter_type(p.type, p.default)}

    executors: dict[tuple[str, str], _Executor] = {}
    taken_labels: set[str] = set()
    step_exec: dict[str, _Executor] = {}
    settings_of = {step.id: effective(step.id) for step in spec.steps}
    for step in spec.steps:
        s = settings_of[step.id]
        # steps with the same image and container-level settings share an executor
        key = (images[step.id], s.model_dump_json(exclude={"schedule", "retry_max_duration"}))
        if key not in executors:
            container = _container(images[step.id], python, source, "step", store_url, s)
            executors[key] = _Executor(_unique(STEP_COMPONENT, taken_labels), container, kubernetes_config(s))
        step_exec[step.id] = executors[key]

    fin_settings = _finalizer_settings(base_settings, spec, settings_key, step_settings is None)
    fin_container = _container(images[spec.steps[0].id], python, source, "finalize", store_url, fin_settings)
    fin = _Executor(FINALIZE_TASK, fin_container, kubernetes_config(fin_settings))

    components: dict[str, Any] = {}
    deployment: dict[str, Any] = {}
    platform: dict[str, Any] = {}
    for ex in [*executors.values(), fin]:
        deployment[f"exec-{ex.label}"] = {"container": ex.container}
        if ex.kubernetes:
            platform[f"exec-{ex.label}"] = ex.kubernetes
    for ex in executors.values():
        components[f"comp-{ex.label}"] = {
            "executorLabel": f"exec-{ex.label}",
            "inputDefinitions": {"parameters": step_inputs},
        }
    components[f"comp-{FINALIZE_TASK}"] = {
        "executorLabel": f"exec-{FINALIZE_TASK}",
        "inputDefinitions": {
            "parameters": {
                RUN_ID_INPUT: {"parameterType": "STRING"},
                SPEC_INPUT: {"parameterType": "STRING"},
                STATUS_INPUT: {"isOptional": True, "parameterType": "TASK_FINAL_STATUS"},
            }
        },
    }

    # The body: one task per step inside the exit handler's DAG.
    channel_names = [RUN_ID_INPUT, SPEC_INPUT, *params]
    body_tasks: dict[str, Any] = {}
    for step in spec.steps:
        task_inputs: dict[str, Any] = {
            RUN_ID_INPUT: {"componentInputParameter": _CHANNEL + RUN_ID_INPUT},
            SPEC_INPUT: {"componentInputParameter": _CHANNEL + SPEC_INPUT},
            STEP_INPUT: _constant(step.id),
        }
        for pname in params:
            task_inputs[pname] = {"componentInputParameter": _CHANNEL + pname}
        task: dict[str, Any] = {
            "cachingOptions": {},
            "componentRef": {"name": f"comp-{step_exec[step.id].label}"},
            "inputs": {"parameters": task_inputs},
            "taskInfo": {"name": step.id},
        }
        if step.upstream:
            task["dependentTasks"] = sorted(names[u] for u in step.upstream)
        if step.retry.max_retries > 0:
            task["retryPolicy"] = _retry_policy(
                step.retry.max_retries,
                step.retry.delay,
                step.retry.backoff,
                settings_of[step.id].retry_max_duration,
            )
        body_tasks[names[step.id]] = task
    components[f"comp-{EXIT_HANDLER}"] = {
        "dag": {"tasks": body_tasks},
        "inputDefinitions": {
            "parameters": {
                _CHANNEL + n: {"parameterType": step_inputs[n]["parameterType"]} for n in channel_names
            }
        },
    }

    root_inputs: dict[str, Any] = {
        RUN_ID_INPUT: {
            "defaultValue": "",
            "description": "zen run id; left empty, each KFP run gets its own",
            "isOptional": True,
            "parameterType": "STRING",
        },
        SPEC_INPUT: {
            "defaultValue": encode_spec(spec_json(spec)),
            "description": "the compiled zen pipeline spec (leave as it is)",
            "isOptional": True,
            "parameterType": "STRING",
        },
    }
    for pname, p in params.items():
        entry: dict[str, Any] = {"parameterType": step_inputs[pname]["parameterType"]}
        if not p.required:
            entry["isOptional"] = True
            if p.default is not None:
                entry["defaultValue"] = p.default
        root_inputs[pname] = entry

    root_tasks = {
        EXIT_HANDLER: {
            "componentRef": {"name": f"comp-{EXIT_HANDLER}"},
            "inputs": {
                "parameters": {_CHANNEL + n: {"componentInputParameter": n} for n in channel_names},
            },
            "taskInfo": {"name": EXIT_HANDLER},
        },
        FINALIZE_TASK: {
            "cachingOptions": {},
            "componentRef": {"name": f"comp-{FINALIZE_TASK}"},
            "dependentTasks": [EXIT_HANDLER],
            "inputs": {
                "parameters": {
                    RUN_ID_INPUT: {"componentInputParameter": RUN_ID_INPUT},
                    SPEC_INPUT: {"componentInputParameter": SPEC_INPUT},
                    STATUS_INPUT: {"taskFinalStatus": {"producerTask": EXIT_HANDLER}},
                }
            },
            "taskInfo": {"name": FINALIZE_TASK},
            "triggerPolicy": {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"},
        },
    }
    info: dict[str, Any] = {"name": pipeline_name(spec.name)}
    if info["name"] != spec.name:
        info["displayName"] = spec.name
    info["description"] = description or f"zen pipeline {spec.name} ({spec.source}), compiled by zen-kubeflow"
    pipeline_spec = {
        "components": components,
        "deploymentSpec": {"executors": deployment},
        "pipelineInfo": info,
        "root": {"dag": {"tasks": root_tasks}, "inputDefinitions": {"parameters": root_inputs}},
        "schemaVersion": SCHEMA_VERSION,
        "sdkVersion": SDK_VERSION,
    }
    platform_spec = (
        {"platforms": {"kubernetes": {"deploymentSpec": {"executors": platform}}}} if platform else None
    )
    return CompiledPipeline(pipeline_spec=pipeline_spec, platform_spec=platform_spec, task_names=names)


def spec_json(spec: PipelineSpec) -> str:
    """The spec as the IR carries it: compact JSON in the model's field order.

    Not ``spec.to_json()``: its layout is zen-core's choice and may change without the
    spec changing, which would change every compiled IR. Keys are not sorted: the
    order of a step's outputs is the order of its return tuple.
    """
    return json.dumps(spec.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)


def pipeline_name(name: str) -> str:
    """A KFP pipeline name (``^[a-z0-9][a-z0-9-]{0,127}$``) for a zen pipeline name."""
    return sanitize(name)[:128].rstrip("-") or "pipeline"


def _layer(base: KubeflowSettings | None, own: KubeflowSettings) -> KubeflowSettings:
    """``own`` over ``base``: scalars from ``own`` when set; env, labels, lists combined."""
    if base is None:
        return own
    merged: dict[str, Any] = base.model_dump(exclude_unset=True)
    for field, value in own.model_dump(exclude_unset=True).items():
        if isinstance(value, dict) and isinstance(merged.get(field), dict):
            merged[field] = {**merged[field], **value}
        elif isinstance(value, list) and isinstance(merged.get(field), list):
            merged[field] = [*merged[field], *value]
        else:
            merged[field] = value
    return KubeflowSettings.model_validate(merged)


def _finalizer_settings(
    base: KubeflowSettings | None, spec: PipelineSpec, key: str, from_spec: bool
) -> KubeflowSettings:
    """What ``zen-finalize`` runs with: the pipeline's access settings, no resources."""
    pipeline_level = merged_settings(spec, None, key) if from_spec else KubeflowSettings()
    access = pipeline_level.model_dump(
        exclude_unset=True,
        include={
            "env",
            "node_selector",
            "tolerations",
            "secrets_as_env",
            "secrets_as_volume",
            "config_maps_as_env",
            "config_maps_as_volume",
            "pvc_mounts",
            "pod_labels",
            "pod_annotations",
            "image_pull_secrets",
            "image_pull_policy",
        },
    )
    return _layer(base, KubeflowSettings.model_validate(access))


def _container(
    image: str, python: str, source: str, mode: str, store_url: str, s: KubeflowSettings
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "args": [
            mode,
            "--store",
            store_url,
            "--job-id",
            "{{$.pipeline_job_uuid}}",
            "--executor-input",
            "{{$}}",
        ],
        "command": [python, "-c", source],
        "image": image,
    }
    if s.env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(s.env.items())]
    resources = _resources(s)
    if resources:
        container["resources"] = resources
    return container


# -- YAML -----------------------------------------------------------------------------


def to_yaml(compiled: CompiledPipeline) -> str:
    """The package a user uploads to KFP: the IR, then the platform config as a second document."""
    import yaml  # type: ignore[import-untyped]

    # libyaml's emitter when PyYAML has it (ten times faster; the tests check the bytes are equal)
    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class _Dumper(base):  # type: ignore[misc, valid-type]
        pass

    def _str(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    _Dumper.add_representer(str, _str)

    spec = compiled.pipeline_spec
    params = spec["root"]["inputDefinitions"]["parameters"]
    header = [
        "# PIPELINE DEFINITION",
        f"# Name: {spec['pipelineInfo']['name']}",
        f"# Compiled by zen-kubeflow {__version__} (KFP IR {SCHEMA_VERSION}, kfp {KFP_VERSION})",
    ]
    shown = [n for n in params if n not in (RUN_ID_INPUT, SPEC_INPUT)]
    if shown:
        header.append("# Inputs:")
        for n in shown:
            default = params[n].get("defaultValue")
            suffix = f" [Default: {json.dumps(default)}]" if "defaultValue" in params[n] else ""
            header.append(f"#    {n}: {params[n]['parameterType']}{suffix}")
    docs = [spec] if compiled.platform_spec is None else [spec, compiled.platform_spec]
    body = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=True, width=100_000, allow_unicode=True)
    return "\n".join(header) + "\n" + body
