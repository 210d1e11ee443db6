"""The image builder on a real engine and a real registry.

Build an image for a pipeline, push it, run a step in it through the universal
entrypoint and find its output on the host; a code change rebuilds only the code
layer; an unchanged rerun builds nothing; a broken requirement fails with the
Dockerfile line and pip's own words.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from zen_core.artifacts.store import ArtifactStore
from zen_core.records import RunRecord, RunStore
from zen_core.run import RunResult
from zen_core.stacks import Stack
from zen_docker.builder import DockerBuildError, DockerImageBuilder
from zen_docker.registry import ContainerRegistry
from zen_docker.settings import settings_for_step

PIPELINE = """
from zen_core import pipeline, step

# {token}


@step
def make(n: int = 3) -> list[int]:
    print(f"making {{n}} numbers")
    return list(range(n))


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def numbers() -> None:
    total(make())
"""


def pipeline_text(token: str | None = None) -> str:
    return PIPELINE.format(token=token or uuid.uuid4().hex)


def is_dependency_install(instruction: str) -> bool:
    return instruction.startswith(("RUN apt-get", "RUN python -m pip install -r"))


def builder(**kwargs) -> DockerImageBuilder:
    return DockerImageBuilder(stack=Stack(), **kwargs)


def test_build_push_and_run_a_step_through_the_entrypoint(project, docker_stack, registry, docker_client):
    mod = project.module("imgpipe", pipeline_text())
    spec = mod.numbers.compile()
    b = builder()
    images = b.build_images(spec)
    image = images["make"]
    assert images == {"make": image, "total": image}  # equal settings: one image
    assert image.startswith(f"{registry}/zen:")
    assert b.reports[0].action == "built"
    assert ContainerRegistry("r", Stack().component("container_registry").config).has_image(image)

    # the image alone runs a step: only the spec and the store are needed
    store = docker_stack
    runs = RunStore(ArtifactStore(str(store)))
    run = RunRecord(run_id="direct-run", pipeline=spec.name, spec_digest=spec.digest())
    runs.write_spec(run.run_id, spec)
    runs.write_run(run)
    output = docker_client.containers.run(
        image,
        [
            "python",
            "-m",
            "zen_core.entrypoint",
            "--store",
            str(store),
            "--run-id",
            "direct-run",
            "--step",
            "make",
        ],
        volumes={str(store): {"bind": str(store), "mode": "rw"}},
        remove=True,
        stdout=True,
        stderr=True,
    ).decode()
    assert "step 'make' completed" in output
    record = runs.read_step("direct-run", "make")
    assert record is not None and record.status == "completed"
    artifact = Path(record.outputs["output"].uri)
    assert artifact.is_file() and artifact.is_relative_to(store)  # written on the host, through the mount
    assert RunResult(run=run, runs=runs).load("make") == [0, 1, 2]
    assert "making 3 numbers" in runs.read_logs("direct-run", "make")

    # drop the local copy: the local_docker run must get the image from the registry
    docker_client.images.remove(image, force=True)
    result = mod.numbers()
    assert result.status == "completed"
    assert result.load("total") == 3
    docker_client.images.get(image)  # pulled back


def test_code_change_rebuilds_only_the_code_layer_and_rerun_is_skipped(project, docker_stack, capsys):
    mod = project.module("codepipe", pipeline_text())
    first = builder()
    first.build_images(mod.numbers.compile())
    assert first.reports[0].action == "built"

    mod = project.module("codepipe", pipeline_text())  # only a comment changed
    second = builder()
    image = second.build_images(mod.numbers.compile())["make"]
    report = second.reports[0]
    assert report.action == "built"
    assert image != first.reports[0].image
    assert "code changed (codepipe.py)" in report.reason
    instructions = [instr for instr, _ in report.layers]
    code_layer = instructions.index("COPY code/ /app/")
    # dependencies (pip install -r ...) come from the cache; the code layer is new. (The
    # zen wheel layer may rebuild too, if someone edits zen itself in this checkout meanwhile.)
    dependency_layers = [(i, cached) for i, cached in report.layers if is_dependency_install(i)]
    assert dependency_layers and all(cached for _, cached in dependency_layers), report.layers
    assert not any(cached for _, cached in report.layers[code_layer:])
    assert not any(is_dependency_install(i) for i in report.rebuilt_layers)

    third = builder()
    assert third.build_images(mod.numbers.compile())["make"] == image
    assert third.reports[0].action == "skipped"
    out = capsys.readouterr().out
    assert f"image {image} (steps make, total) is in registry" in out
    assert "build and push skipped" in out


def test_without_registry_the_local_engine_decides(project, tmp_path, monkeypatch, docker_client):
    from zen_core import plugins

    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    plugins.reset()
    mod = project.module("localpipe", pipeline_text())
    spec = mod.numbers.compile()
    b = builder()  # the default stack: no container registry
    image = b.build_images(spec)["make"]
    assert image.startswith("zen:")
    docker_client.images.get(image)
    again = builder()
    again.build_images(spec)
    assert again.reports[0].action == "skipped"
    assert again.reports[0].reason == "already in the local engine"


def test_broken_requirement_fails_with_a_readable_error(project, docker_stack):
    bad = "zen-docker-no-such-distribution==0.0.1"
    mod = project.module(
        "brokenpipe",
        pipeline_text().replace(
            "@pipeline\n", f'@pipeline(settings={{"docker": {{"requirements": ["{bad}"]}}}})\n'
        ),
    )
    with pytest.raises(DockerBuildError) as info:
        builder().build_images(mod.numbers.compile())
    message = str(info.value)
    assert "RUN python -m pip install -r /tmp/zen/requirements.txt" in message
    assert "your requirements (requirements setting)" in message
    assert bad in message
    assert "No matching distribution" in message or "Could not find a version" in message
    assert info.value.line is not None
    assert info.value.instruction == "RUN python -m pip install -r /tmp/zen/requirements.txt"


def test_users_dockerfile_is_built_first(project, docker_stack):
    project.write(
        "Dockerfile.base",
        'FROM python:3.11-slim\nRUN echo "built from the user\'s Dockerfile" > /etc/zen-marker\n',
    )
    text = """
from zen_core import pipeline, step

# {token}


@step
def marker() -> str:
    with open("/etc/zen-marker") as f:
        return f.read().strip()


@pipeline(settings={{"docker": {{"dockerfile": "Dockerfile.base"}}}})
def custom() -> None:
    marker()
"""
    mod = project.module("basepipe", text.format(token=uuid.uuid4().hex))
    spec = mod.custom.compile()
    b = builder()
    image = b.build_images(spec)["marker"]
    parent = b.plan(settings_for_step(spec, "marker")).parent
    assert parent is not None and parent.tag.startswith("parent-")
    assert mod.custom().load("marker") == "built from the user's Dockerfile"

    # the user's Dockerfile copies nothing, so a code change keeps its image and layers
    mod = project.module("basepipe", text.format(token=uuid.uuid4().hex))
    spec = mod.custom.compile()
    again = builder()
    assert again.build_images(spec)["marker"] != image
    assert again.plan(settings_for_step(spec, "marker")).parent.image == parent.image
    assert again.reports[0].action == "built"
    assert all(cached for instr, cached in again.reports[0].layers if is_dependency_install(instr))
