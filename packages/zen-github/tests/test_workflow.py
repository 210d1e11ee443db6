"""Workflow generation: golden files, and the rules every generated workflow keeps.

Golden files live in tests/golden/; after a deliberate change, regenerate them
with ``ZEN_UPDATE_GOLDEN=1 pytest`` and review the diff like code.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import yaml
from ghtest import GOLDEN, linear_spec, make_spec, step

from zen_core.errors import PipelineDefinitionError
from zen_core.spec import PipelineSpec
from zen_github.config import GitHubOrchestratorConfig
from zen_github.workflow import (
    CHECKOUT_ACTION,
    STEP_SCRIPT,
    dispatch_inputs,
    generate_workflow,
    job_ids,
    params_expression,
    retry_delays,
    safe_json,
)

STORE = "gs://bucket/zen"


def load(text: str) -> dict[str, Any]:
    """Parse a workflow as GitHub does (``on`` is a key, not YAML 1.1's boolean)."""
    data: dict[Any, Any] = yaml.safe_load(text)
    if True in data:
        data["on"] = data.pop(True)
    return data


def parameters_spec() -> PipelineSpec:
    return make_spec(
        "tune",
        [
            step("load", params={"rows": "rows"}),
            step("fit", "load", retries=3, delay=0.5, backoff=2.0, params={"lr": "lr"}),
            step(
                "report",
                "fit",
                params={"title": "title"},
                settings={"github": {"runs_on": ["self-hosted", "gpu"], "timeout_minutes": 30}},
            ),
        ],
        parameters={
            "rows": {"type": "builtins.int", "default": 1000},
            "lr": {"type": "builtins.float", "default": 0.01},
            "title": {"type": "builtins.str", "default": "it's {nested: {x}} ${{ not evaluated }}"},
        },
        settings={"github": {"secrets": {"WANDB_API_KEY": "WANDB_API_KEY"}}},
    )


GOLDEN_CASES: dict[str, tuple[Any, dict[str, Any], dict[str, str] | None]] = {
    "linear-pip.yml": (linear_spec, {}, None),
    "linear-pip-setup-python.yml": (
        linear_spec,
        {
            "python_version": "3.11",
            "requirements": [".", "gcsfs>=2024.2"],
            "setup_steps": [
                {
                    "name": "Authenticate to the cloud",
                    "uses": "example-org/cloud-auth@0123456789abcdef0123456789abcdef01234567",
                    "with": {"credentials": "${{ secrets.CLOUD_CREDENTIALS }}"},
                }
            ],
        },
        None,
    ),
    "parameters-python-schedules.yml": (
        parameters_spec,
        {
            "install": "python",
            "python": "/opt/zen/bin/python",
            "runs_on": ["self-hosted", "linux"],
            "timeout_minutes": 120,
            "schedules": ["0 3 * * 1-5", "30 12 1 * *"],
            "environment": {"STORAGE_EMULATOR_HOST": "http://10.0.0.5:9023"},
            "secrets": {"AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID": "AWS_KEY_ID"},
        },
        None,
    ),
    "linear-container.yml": (
        linear_spec,
        {"install": "container"},
        {
            "load": f"registry.example.com/zen/train@sha256:{'3f2a9c1b' * 8}",
            "fit": f"registry.example.com/zen/train@sha256:{'3f2a9c1b' * 8}",
            "evaluate": f"registry.example.com/zen/eval@sha256:{'77aa01de' * 8}",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    make, config, images = GOLDEN_CASES[name]
    text = generate_workflow(make(), GitHubOrchestratorConfig(**config), store_url=STORE, images=images)
    path = GOLDEN / name
    if os.environ.get("ZEN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run with ZEN_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{name} differs from its golden file (ZEN_UPDATE_GOLDEN=1 to update)"


def test_golden_files_have_no_strays() -> None:
    assert sorted(p.name for p in GOLDEN.glob("*.yml")) == sorted(GOLDEN_CASES)


def test_deterministic() -> None:
    cfg = GitHubOrchestratorConfig(schedules=["0 0 * * *"], secrets={"B": "B", "A": "A"})
    first = generate_workflow(parameters_spec(), cfg, store_url=STORE)
    again = generate_workflow(
        parameters_spec(), GitHubOrchestratorConfig(**cfg.model_dump()), store_url=STORE
    )
    assert first == again


def test_structure() -> None:
    wf = load(generate_workflow(parameters_spec(), GitHubOrchestratorConfig(), store_url=STORE))
    assert wf["permissions"] == {}
    assert set(wf["on"]) == {"workflow_dispatch"}
    inputs = wf["on"]["workflow_dispatch"]["inputs"]
    assert list(inputs) == ["zen_run_id", "rows", "lr", "title"]
    assert all(i["type"] == "string" for i in inputs.values())
    assert json.loads(inputs["rows"]["default"]) == 1000
    assert json.loads(inputs["title"]["default"]) == "it's {nested: {x}} ${{ not evaluated }}"
    jobs = wf["jobs"]
    assert list(jobs) == ["load", "fit", "report"]
    assert "needs" not in jobs["load"]
    assert jobs["fit"]["needs"] == ["load"]
    assert jobs["report"]["runs-on"] == ["self-hosted", "gpu"]
    assert jobs["report"]["timeout-minutes"] == 30
    for job in jobs.values():
        assert job["permissions"] == {"contents": "read"}
        run_step = job["steps"][-1]
        assert run_step["run"] == STEP_SCRIPT
        assert run_step["env"]["ZEN_STEP"] == job["name"]
        assert run_step["env"]["WANDB_API_KEY"] == "${{ secrets.WANDB_API_KEY }}"
        checkout = job["steps"][0]
        assert checkout["uses"] == CHECKOUT_ACTION[0]
        assert checkout["with"] == {"persist-credentials": False}
    assert jobs["fit"]["steps"][-1]["env"]["ZEN_RETRY_DELAYS"] == "0.5 1 2"
    assert "ZEN_RETRY_DELAYS" not in jobs["load"]["steps"][-1]["env"]


def test_no_names_or_values_in_scripts() -> None:
    text = generate_workflow(parameters_spec(), GitHubOrchestratorConfig(), store_url=STORE)
    scripts = [s["run"] for job in load(text)["jobs"].values() for s in job["steps"] if "run" in s]
    assert scripts
    for script in scripts:
        assert "${{" not in script
        for word in ("load", "fit", "report", "rows", "lr", "title", "bucket"):
            assert not re.search(rf"\b{word}\b", script), (word, script)
    # every variable the step script reads is double-quoted
    assert not re.search(r'(?<!")\$ZEN_', STEP_SCRIPT.replace('"${ZEN_RETRY_DELAYS:-}"', ""))


def test_actions_are_pinned_to_shas() -> None:
    text = generate_workflow(linear_spec(), GitHubOrchestratorConfig(python_version="3.12"), store_url=STORE)
    uses = re.findall(r"uses: (\S+)", text)
    assert uses
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses)
    for line in (line for line in text.splitlines() if "uses: actions/" in line):
        assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_container_jobs() -> None:
    images = {"load": "img:1", "fit": "img:1", "evaluate": "img:2"}
    wf = load(
        generate_workflow(
            linear_spec(), GitHubOrchestratorConfig(install="container"), store_url=STORE, images=images
        )
    )
    for sid, job in wf["jobs"].items():
        assert job["container"] == {"image": images[sid]}
        assert job["permissions"] == {}  # no checkout: the image holds the code
        assert [s["name"] for s in job["steps"]] == ["Run the step"]
        assert job["steps"][0]["env"]["ZEN_PYTHON"] == "python3"


def test_params_expression_and_dispatch_inputs() -> None:
    spec = parameters_spec()
    expr = params_expression(spec)
    assert expr.startswith("${{ format(") and expr.endswith(") }}")
    inner = expr[len("${{ ") : -len(" }}")]
    assert "}}" not in inner and "${{" not in inner
    assert "inputs.rows || '1000'" in expr
    assert params_expression(make_spec("p", [step("a")])) == "{}"
    inputs = dispatch_inputs(spec, "tune-1", {"rows": 5, "lr": 0.1, "title": "a b", "unknown": 1})
    assert inputs == {"zen_run_id": "tune-1", "rows": "5", "lr": "0.1", "title": '"a b"'}


@pytest.mark.parametrize(
    "value",
    ["plain", "it's", "{a}", "}}", "${{ x }}", {"a": {"b": {"c": 1}}}, [{"x": "}"}], 1.5, None, '\\"}'],
)
def test_safe_json_round_trips_and_never_opens_an_expression(value: Any) -> None:
    text = safe_json(value)
    assert json.loads(text) == value
    assert "${{" not in text and "}}" not in text


def test_job_ids_are_valid_unique_and_stable() -> None:
    spec = make_spec(
        "odd",
        [step("3d.model"), step("a.b"), step("a_b"), step("Add"), step("add"), step("ok-1"), step("x" * 128)],
    )
    ids = job_ids(spec)
    assert ids["a_b"] == "a_b" and ids["ok-1"] == "ok-1" and ids["Add"] == "Add"
    assert ids["3d.model"] == "step_3d_model"
    assert ids["a.b"].startswith("a_b_") and ids["add"].startswith("add_")
    assert len({i.lower() for i in ids.values()}) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,99}", i) for i in ids.values())
    # adding a step does not rename the others
    bigger = make_spec("odd", [*spec.model_dump()["steps"], step("a-b")])
    assert {k: v for k, v in job_ids(bigger).items() if k in ids} == ids


def test_retry_delays_follow_the_policy() -> None:
    spec = make_spec("r", [step("s", retries=3, delay=1.0, backoff=3.0)])
    assert retry_delays(spec.steps[0]) == [1.0, 3.0, 9.0]


def test_too_many_parameters() -> None:
    spec = make_spec(
        "wide", [step("a")], parameters={f"p{i}": {"type": "builtins.int", "default": i} for i in range(25)}
    )
    with pytest.raises(PipelineDefinitionError, match="at most 25 dispatch inputs"):
        generate_workflow(spec, GitHubOrchestratorConfig(), store_url=STORE)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"zen_run_id": {"type": "builtins.str", "default": ""}}, "clashes with 'zen_run_id'"),
        ({"Lr": {"type": "t", "default": 1}, "lr": {"type": "t", "default": 1}}, "case-insensitive"),
        ({"é": {"type": "t", "default": 1}}, "cannot be a GitHub input name"),
    ],
)
def test_parameter_names(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(PipelineDefinitionError, match=message):
        generate_workflow(
            make_spec("p", [step("a")], parameters=parameters), GitHubOrchestratorConfig(), store_url=STORE
        )


def test_schedules_need_parameter_defaults() -> None:
    spec = make_spec("p", [step("a")], parameters={"n": {"type": "builtins.int", "required": True}})
    generate_workflow(spec, GitHubOrchestratorConfig(), store_url=STORE)  # fine without schedules
    with pytest.raises(PipelineDefinitionError, match="parameter 'n' has no default"):
        generate_workflow(spec, GitHubOrchestratorConfig(schedules=["0 0 * * *"]), store_url=STORE)
