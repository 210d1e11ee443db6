"""The KFP compiler: golden IR, validity against kfp itself, determinism, the mapping rules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import kfp_samples as S
import pytest
import yaml
from kfp_samples import GOLDEN, IMAGE, STORE, golden_update, images_for

from zen_core.errors import PipelineDefinitionError
from zen_core.spec import PipelineSpec
from zen_core.testing import pipelines as P
from zen_kubeflow.compiler import (
    EXIT_HANDLER,
    FINALIZE_TASK,
    CompiledPipeline,
    compile_pipeline,
    kubernetes_config,
    launcher_source,
    parameter_type,
    pipeline_name,
    sanitize,
    spec_json,
)
from zen_kubeflow.launcher import decode_spec
from zen_kubeflow.settings import KubeflowSettings, PvcMount

CASES = {
    "linear_chain": P.linear_chain,
    "diamond": P.diamond,
    "fan_out_fan_in": P.fan_out_fan_in,
    "parameters": P.parameters,
    "multiple_outputs": P.multiple_outputs,
    "failing": P.failing,
    "retrying": P.retrying,
    "ordering": P.ordering,
    "settings_rich": S.settings_rich,
    "required_parameter": S.required_parameter,
}


def compiled(name: str) -> CompiledPipeline:
    spec = CASES[name].compile()
    return compile_pipeline(spec, images_for(spec), store_url=STORE)


def docs(text: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(text))


def body_tasks(c: CompiledPipeline) -> dict[str, Any]:
    tasks: dict[str, Any] = c.pipeline_spec["components"][f"comp-{EXIT_HANDLER}"]["dag"]["tasks"]
    return tasks


# -- golden files ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_ir(name: str) -> None:
    text = compiled(name).to_yaml()
    path = GOLDEN / f"{name}.yaml"
    if golden_update():
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}; run with ZEN_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), (
        f"{path.name} changed; review the difference and run with ZEN_UPDATE_GOLDEN=1 to accept it"
    )


def test_golden_files_all_have_cases() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.yaml")) == sorted(CASES)


# -- validity: kfp reads what we write -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_ir_loads_back_with_kfp(name: str) -> None:
    from google.protobuf import json_format
    from kfp import components
    from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s
    from kfp.pipeline_spec import pipeline_spec_pb2

    path = GOLDEN / f"{name}.yaml"
    component = components.load_component_from_file(str(path))
    ir = docs(path.read_text())
    # strict parsing: any field kfp's schema does not know is an error
    spec = json_format.ParseDict(ir[0], pipeline_spec_pb2.PipelineSpec())
    assert component.pipeline_spec == spec
    assert spec.pipeline_info.name == ir[0]["pipelineInfo"]["name"]
    if len(ir) > 1:
        platform = json_format.ParseDict(ir[1], pipeline_spec_pb2.PlatformSpec())
        assert component.platform_spec == platform
        for label, config in ir[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"].items():
            assert label in ir[0]["deploymentSpec"]["executors"]
            parsed = json_format.ParseDict(config, k8s.KubernetesExecutorConfig())
            assert json_format.MessageToDict(parsed) == config  # nothing dropped, same spelling


@pytest.mark.parametrize("name", sorted(CASES))
def test_kfp_compiler_round_trips_the_ir(name: str, tmp_path: Path) -> None:
    """kfp's own compiler, given our IR as a component, writes back exactly the same IR."""
    from kfp import compiler, components

    path = GOLDEN / f"{name}.yaml"
    out = tmp_path / "again.yaml"
    compiler.Compiler().compile(components.load_component_from_file(str(path)), str(out))
    assert docs(out.read_text()) == docs(path.read_text())


def test_kfp_client_reads_the_package(tmp_path: Path) -> None:
    from kfp.client.client import _extract_pipeline_yaml

    path = compiled("settings_rich").write(tmp_path / "p.yaml")
    doc = _extract_pipeline_yaml(str(path))
    body = doc.to_dict()
    assert set(body) == {"pipeline_spec", "platform_spec"}
    assert body == json.loads(json.dumps(compiled("settings_rich").to_dict()))


# -- parity with kfp's DSL for per-step settings ---------------------------------------


def test_resources_and_kubernetes_config_match_kfp_dsl(tmp_path: Path) -> None:
    """The same settings given through kfp's DSL and kfp-kubernetes compile to the same config."""
    from kfp import compiler, dsl, kubernetes

    @dsl.container_component
    def comp():  # kfp reads the annotation: none, as strings would confuse it
        return dsl.ContainerSpec(image=IMAGE, command=["true"])

    @dsl.pipeline(name="parity")
    def parity():  # no annotation: kfp would read the string "None" as an output type
        t = comp()
        t.set_cpu_request("500m").set_cpu_limit("2").set_memory_request("512Mi").set_memory_limit("4G")
        t.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(2)
        t.set_env_variable("STEP_LEVEL", "1")
        kubernetes.add_node_selector(t, "pool", "gpu")
        kubernetes.add_toleration(t, key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")
        kubernetes.add_toleration(t, key="spot", value="true", effect="NoExecute", toleration_seconds=30)
        kubernetes.use_secret_as_env(t, secret_name="wandb", secret_key_to_env={"api-key": "WANDB_API_KEY"})
        kubernetes.use_secret_as_volume(t, secret_name="certs", mount_path="/certs", optional=True)
        kubernetes.use_config_map_as_env(t, config_map_name="conf", config_map_key_to_env={"mode": "MODE"})
        kubernetes.use_config_map_as_volume(t, config_map_name="files", mount_path="/files")
        kubernetes.mount_pvc(t, pvc_name="datasets", mount_path="/data")
        kubernetes.empty_dir_mount(
            t, volume_name="scratch", mount_path="/scratch", medium="Memory", size_limit="1Gi"
        )
        kubernetes.add_pod_label(t, "team", "ml")
        kubernetes.add_pod_annotation(t, "owner", "zen")
        kubernetes.set_image_pull_secrets(t, ["regcred"])
        kubernetes.set_image_pull_policy(t, "IfNotPresent")
        kubernetes.set_timeout(t, 600)

    out = tmp_path / "parity.yaml"
    compiler.Compiler().compile(parity, str(out))
    theirs = docs(out.read_text())
    their_container = theirs[0]["deploymentSpec"]["executors"]["exec-comp"]["container"]
    their_k8s = theirs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-comp"]

    settings = KubeflowSettings.model_validate(S.GPU["kubeflow"])
    spec = P.linear_chain.compile()
    ours = compile_pipeline(spec, images_for(spec), store_url=STORE, step_settings=lambda _sid: settings)
    our_container = ours.pipeline_spec["deploymentSpec"]["executors"]["exec-zen-step"]["container"]
    assert our_container["resources"] == their_container["resources"]
    assert our_container["env"] == their_container["env"]
    assert kubernetes_config(settings) == their_k8s


# -- determinism -----------------------------------------------------------------------------


def test_same_input_same_bytes() -> None:
    assert compiled("settings_rich").to_yaml() == compiled("settings_rich").to_yaml()


def test_same_bytes_in_another_process() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import kfp_samples
        from zen_kubeflow.compiler import compile_pipeline
        spec = kfp_samples.settings_rich.compile()
        c = compile_pipeline(spec, {{s.id: {IMAGE!r} for s in spec.steps}}, store_url={STORE!r})
        sys.stdout.write(c.to_yaml())
        """
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {compiled("settings_rich").to_yaml()}


# -- the mapping ---------------------------------------------------------------------------------


def test_steps_become_tasks_ordered_by_upstream_steps() -> None:
    c = compiled("diamond")
    tasks = body_tasks(c)
    assert set(tasks) == {"number", "add", "multiply", "combine"}
    assert tasks["combine"]["dependentTasks"] == ["add", "multiply"]
    assert "dependentTasks" not in tasks["number"]
    for task in tasks.values():
        assert task["cachingOptions"] == {}  # KFP caching off: zen caches itself
        assert "outputs" not in task
    assert tasks["add"]["inputs"]["parameters"]["zen_step"] == {"runtimeValue": {"constant": "add"}}


def test_after_without_data_is_a_dependency() -> None:
    assert body_tasks(compiled("ordering"))["second"]["dependentTasks"] == ["first"]


def test_odd_step_ids_get_unique_dns_task_names_and_keep_their_display_name() -> None:
    c = compiled("settings_rich")
    assert c.task_names == {
        "Load.Data": "load-data",
        "train": "train",
        "report": "report",
        "load_data": "load-data-2",
        "load-data": "load-data-3",
    }
    tasks = body_tasks(c)
    assert tasks["load-data-2"]["taskInfo"]["name"] == "load_data"
    assert tasks["train"]["dependentTasks"] == ["load-data"]


def test_pipeline_parameters_are_typed_kfp_parameters_reaching_every_step() -> None:
    c = compiled("settings_rich")
    params = c.pipeline_spec["root"]["inputDefinitions"]["parameters"]
    assert {n: p["parameterType"] for n, p in params.items()} == {
        "epochs": "NUMBER_INTEGER",
        "lr": "NUMBER_DOUBLE",
        "name": "STRING",
        "verbose": "BOOLEAN",
        "tags": "LIST",
        "options": "STRUCT",
        "zen_run_id": "STRING",
        "zen_spec": "STRING",
    }
    assert params["options"]["defaultValue"] == {"depth": 3}
    assert params["zen_run_id"]["defaultValue"] == ""
    for task in body_tasks(c).values():
        assert set(task["inputs"]["parameters"]) == {*params, "zen_step"}


def test_required_parameter_has_no_default() -> None:
    params = compiled("required_parameter").pipeline_spec["root"]["inputDefinitions"]["parameters"]
    assert params["start"] == {"parameterType": "NUMBER_INTEGER"}


@pytest.mark.parametrize(
    ("type_name", "default", "expected"),
    [
        ("int", 1, "NUMBER_INTEGER"),
        ("float", 1.0, "NUMBER_DOUBLE"),
        ("str", "", "STRING"),
        ("bool", True, "BOOLEAN"),
        ("list[int]", [], "LIST"),
        ("List[int]", None, "LIST"),
        ("tuple[int, int]", None, "LIST"),
        ("dict[str, int]", None, "STRUCT"),
        ("Optional[int]", 3, "NUMBER_INTEGER"),
        ("Optional[int]", None, "STRING"),
        ("Any", {"a": 1}, "STRUCT"),
        ("my.Model", None, "STRING"),
    ],
)
def test_parameter_types(type_name: str, default: Any, expected: str) -> None:
    assert parameter_type(type_name, default) == expected


def test_the_spec_travels_in_the_ir() -> None:
    spec = S.settings_rich.compile()
    c = compile_pipeline(spec, images_for(spec), store_url=STORE)
    blob = c.pipeline_spec["root"]["inputDefinitions"]["parameters"]["zen_spec"]["defaultValue"]
    assert PipelineSpec.from_json(decode_spec(blob)) == spec
    assert decode_spec(blob) == spec_json(spec)


def test_steps_are_wrapped_in_an_exit_handler_that_finalizes() -> None:
    root = compiled("linear_chain").pipeline_spec["root"]["dag"]["tasks"]
    assert set(root) == {EXIT_HANDLER, FINALIZE_TASK}
    fin = root[FINALIZE_TASK]
    assert fin["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert fin["inputs"]["parameters"]["status"] == {"taskFinalStatus": {"producerTask": EXIT_HANDLER}}


def test_executor_runs_the_launcher_with_the_executor_input() -> None:
    c = compiled("linear_chain")
    executors = c.pipeline_spec["deploymentSpec"]["executors"]
    assert set(executors) == {"exec-zen-step", "exec-zen-finalize"}  # four steps, one shared executor
    container = executors["exec-zen-step"]["container"]
    assert container["image"] == IMAGE
    assert container["command"] == ["python", "-c", launcher_source()]
    assert container["args"] == [
        "step",
        "--store",
        STORE,
        "--job-id",
        "{{$.pipeline_job_uuid}}",
        "--executor-input",
        "{{$}}",
    ]


def test_steps_with_different_images_or_settings_get_their_own_executor() -> None:
    spec = S.settings_rich.compile()
    images = images_for(spec)
    images["report"] = "other:2"
    c = compile_pipeline(spec, images, store_url=STORE)
    tasks = body_tasks(c)
    refs = {t["taskInfo"]["name"]: t["componentRef"]["name"] for t in tasks.values()}
    assert refs["train"] != refs["Load.Data"]  # settings differ
    assert refs["report"] != refs["Load.Data"]  # image differs
    assert refs["load_data"] == refs["Load.Data"]
    executors = c.pipeline_spec["deploymentSpec"]["executors"]
    assert executors[refs["report"].replace("comp-", "exec-")]["container"]["image"] == "other:2"


def test_retries_become_kfp_retry_policy() -> None:
    tasks = body_tasks(compiled("retrying"))
    assert tasks["flaky"]["retryPolicy"] == {
        "backoffDuration": "1s",  # 0.1 s rounded up to KFP's whole seconds
        "backoffFactor": 2.0,
        "backoffMaxDuration": "3600s",
        "maxRetryCount": 3,
    }
    assert "retryPolicy" not in tasks["number"]


def test_step_settings_lay_over_pipeline_settings() -> None:
    c = compiled("settings_rich")
    executors = c.pipeline_spec["deploymentSpec"]["executors"]
    train_exec = body_tasks(c)["train"]["componentRef"]["name"].replace("comp-", "exec-")
    env = {e["name"]: e["value"] for e in executors[train_exec]["container"]["env"]}
    assert env == {"STEP_LEVEL": "1"}  # a step's env replaces the pipeline's
    k8s = c.platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert k8s[train_exec]["nodeSelector"] == {"labels": {"pool": "gpu"}}
    assert k8s["exec-zen-step"]["nodeSelector"] == {"labels": {"zone": "a"}}


def test_finalizer_gets_access_settings_but_no_resources() -> None:
    c = compiled("settings_rich")
    fin = c.pipeline_spec["deploymentSpec"]["executors"]["exec-zen-finalize"]["container"]
    assert "resources" not in fin
    assert fin["env"] == [{"name": "PIPELINE_LEVEL", "value": "yes"}]
    k8s = c.platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-zen-finalize"]
    assert k8s["secretAsEnv"][0]["secretName"] == "store-creds"


def test_base_settings_reach_every_executor() -> None:
    spec = P.linear_chain.compile()
    base = KubeflowSettings(
        env={"FROM_CONFIG": "1"}, pvc_mounts=[PvcMount(pvc_name="zen-store", mount_path="/mnt/s")]
    )
    c = compile_pipeline(spec, images_for(spec), store_url="/mnt/s", base_settings=base)
    for label, ex in c.pipeline_spec["deploymentSpec"]["executors"].items():
        assert ex["container"]["env"] == [{"name": "FROM_CONFIG", "value": "1"}]
        k8s = c.platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label]
        assert k8s["pvcMount"][0]["mountPath"] == "/mnt/s"


def test_no_platform_spec_without_kubernetes_settings() -> None:
    c = compiled("linear_chain")
    assert c.platform_spec is None
    assert len(docs(c.to_yaml())) == 1
    assert c.to_dict() is c.pipeline_spec


def test_missing_image_is_a_definition_error() -> None:
    spec = P.diamond.compile()
    images = images_for(spec)
    del images["combine"]
    with pytest.raises(PipelineDefinitionError, match="no image for step"):
        compile_pipeline(spec, images, store_url=STORE)


def test_reserved_parameter_names_are_refused() -> None:
    from zen_core.spec import ParameterSpec

    spec = P.parameters.compile()
    bad = spec.model_copy(update={"parameters": {**spec.parameters, "zen_run_id": ParameterSpec(type="str")}})
    with pytest.raises(PipelineDefinitionError, match="reserved"):
        compile_pipeline(bad, images_for(bad), store_url=STORE)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Training_Pipeline", "training-pipeline"), ("a..b", "a-b"), ("__", "x"), ("ok-1", "ok-1")],
)
def test_names(name: str, expected: str) -> None:
    assert sanitize(name) == expected


def test_pipeline_name_and_display_name() -> None:
    spec = P.fan_out_fan_in.compile()
    info = compile_pipeline(spec, images_for(spec), store_url=STORE).pipeline_spec["pipelineInfo"]
    assert info["name"] == pipeline_name("fan_out_fan_in") == "fan-out-fan-in"
    assert info["displayName"] == "fan_out_fan_in"


def test_yaml_is_the_same_with_or_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """to_yaml uses libyaml's emitter when present; the pure-Python one must give the same bytes."""
    fast = compiled("settings_rich").to_yaml()
    monkeypatch.delattr(yaml, "CSafeDumper", raising=False)
    assert compiled("settings_rich").to_yaml() == fast
