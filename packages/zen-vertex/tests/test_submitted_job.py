"""Golden tests of what the vertex orchestrator submits: the job body the SDK sends.

The body is what ``PipelineJob.submit()`` sends as ``CreatePipelineJob`` (the SDK's own
message, serialised as on the wire): the IR in ``pipelineSpec`` with Vertex caching off,
``runtimeConfig`` (pipeline root, parameter values with ``zen_run_id``), labels, service
account, network and encryption key. The integration tests check that the local Vertex
service receives exactly this body. Two parts of the IR belong to other packages and
are checked, then replaced by a marker: the launcher source (zen-kubeflow) and the
embedded zen spec (zen-core). ``ZEN_UPDATE_GOLDEN=1`` rewrites the files after review.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import vertex_samples as S
from vertex_samples import GOLDEN, RUN_ID, STORE, golden_update, orchestrator_config

from zen_core.orchestrator import RunRequest
from zen_core.records import RunRecord, RunStore
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P

LAUNCHER = "<zen-kubeflow launcher source>"
SPEC = "<zen spec of the pipeline>"
CASES = {"parameters": P.parameters, "rich": S.rich, "weekly": S.weekly}


def vertex_stack(**config: Any) -> Stack:
    manager = StackManager()
    manager.register_component("artifact_store", "gcs", "gcs", {"path": STORE, "credentials": "anonymous"})
    manager.register_component("orchestrator", "vertex", "vertex", orchestrator_config(**config))
    manager.register_stack("vertex", {"orchestrator": "vertex", "artifact_store": "gcs"})
    manager.save()
    return Stack("vertex")


def request_for(stack: Stack, pipe: Any, run_id: str = RUN_ID, **params: Any) -> RunRequest:
    spec = pipe.compile()
    values = pipe.resolve_parameters(params)
    runs = RunStore(stack.artifact_store)
    run = RunRecord(run_id=run_id, pipeline=spec.name, spec_digest=spec.digest(), parameters=values)
    return RunRequest(spec=spec, run=run, runs=runs, spec_uri="", parameters=values)


def submitted_body(name: str, **params: Any) -> dict[str, Any]:
    from zen_kubeflow.compiler import launcher_source, spec_json
    from zen_kubeflow.launcher import decode_spec
    from zen_vertex.vertex_api import VertexApi

    stack = vertex_stack()
    orch = stack.orchestrator
    request = request_for(stack, CASES[name], **params)
    orch.validate(request.spec)
    compiled = orch.compile(request.spec, request.runs.store)
    scheduled = name == "weekly"
    body = VertexApi.body(orch.prepare(request, compiled, scheduled=scheduled))
    for executor in body["pipelineSpec"]["deploymentSpec"]["executors"].values():
        command = executor["container"]["command"]
        assert command[:2] == ["python", "-c"] and command[2] == launcher_source()
        command[2] = LAUNCHER
    default = body["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]["zen_spec"]
    assert json.loads(decode_spec(default["defaultValue"])) == json.loads(spec_json(request.spec))
    default["defaultValue"] = SPEC
    return body


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_job_body(name: str) -> None:
    text = json.dumps(submitted_body(name), indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.json"
    if golden_update():
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}; run with ZEN_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), (
        f"{path.name} changed; review the difference and run with ZEN_UPDATE_GOLDEN=1 to accept it"
    )


def test_golden_files_all_have_cases() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(CASES)


def test_runtime_config_labels_and_caching() -> None:
    body = submitted_body("parameters", start=5, factor=4)
    assert body["runtimeConfig"] == {
        "gcsOutputDirectory": f"{STORE}/vertex",
        "parameterValues": {"start": 5.0, "factor": 4.0, "zen_run_id": RUN_ID},
    }
    assert body["labels"] == {
        "team": "ml",
        "cost-center": "r-and-d",
        "zen-run-id": RUN_ID,
        "zen-pipeline": "parameters",
    }
    assert body["displayName"] == RUN_ID
    assert body["serviceAccount"].startswith("zen-steps@")
    assert body["network"] == "projects/123456789012/global/networks/ml"
    assert body["encryptionSpec"]["kmsKeyName"].endswith("/cryptoKeys/jobs")
    ir = body["pipelineSpec"]
    tasks = [
        t for c in [ir["root"], *ir["components"].values()] if "dag" in c for t in c["dag"]["tasks"].values()
    ]
    assert tasks and all(t["cachingOptions"] == {"enableCache": False} for t in tasks)
    assert "platformSpec" not in json.dumps(body)


def test_settings_become_machine_resources_and_env() -> None:
    ir = submitted_body("rich")["pipelineSpec"]
    tasks = ir["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    executors = ir["deploymentSpec"]["executors"]

    def container(task: str) -> dict[str, Any]:
        label = ir["components"][tasks[task]["componentRef"]["name"]]["executorLabel"]
        return executors[label]["container"]

    fit = container("fit")
    assert fit["resources"]["cpuLimit"] == 8.0 and fit["resources"]["resourceCpuLimit"] == "8"
    assert fit["resources"]["memoryLimit"] == 32.0
    assert fit["resources"]["accelerator"] == {
        "count": "2",
        "resourceCount": "2",
        "resourceType": "NVIDIA_L4",
        "type": "NVIDIA_L4",
    }
    env = {e["name"]: e["value"] for e in fit["env"]}
    # the orchestrator's environment, then the step's own (which replaces the pipeline's)
    assert env == {"ZEN_LOG_LEVEL": "info", "STEP_LEVEL": "1"}
    assert tasks["fit"]["retryPolicy"]["maxRetryCount"] == 2
    assert tasks["fit"]["retryPolicy"]["backoffMaxDuration"] == "1800s"
    evaluate = container("evaluate")
    assert evaluate["resources"]["resourceMemoryLimit"] == "4Gi"
    assert evaluate["resources"]["resourceCpuLimit"] == "2"  # the pipeline's, under the step's
    assert "accelerator" not in evaluate["resources"]
    assert {e["name"]: e["value"] for e in evaluate["env"]} == {
        "ZEN_LOG_LEVEL": "info",
        "PIPELINE_LEVEL": "1",
    }
    finalize = executors["exec-zen-finalize"]["container"]
    assert "resources" not in finalize
    assert {e["name"]: e["value"] for e in finalize["env"]} == {"ZEN_LOG_LEVEL": "info"}


def test_a_scheduled_job_carries_no_run_id() -> None:
    body = submitted_body("weekly")
    assert body["runtimeConfig"]["parameterValues"] == {"value": 7.0}
    assert "zen-run-id" not in body["labels"]
    assert body["displayName"] == "weekly"


def test_the_ir_parses_as_kfp_and_vertex_messages() -> None:
    from google.cloud.aiplatform_v1 import types
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    body = submitted_body("rich")
    json_format.ParseDict(body["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    types.PipelineJob.from_json(json.dumps(body))  # strict: unknown fields raise
