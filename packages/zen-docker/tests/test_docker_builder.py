"""Build plans and tags (no engine), and the build-or-skip decisions against a fake engine."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from conftest import REGISTRY

from zen_core.errors import ZenError
from zen_core.plugins import plugin_manager
from zen_core.stacks import Stack, StackManager
from zen_docker import builder as builder_module
from zen_docker.builder import (
    DockerBuildError,
    DockerImageBuilder,
    DockerPushError,
    build_images_for_stack,
    uses_context,
)
from zen_docker.config import DockerImageBuilderConfig
from zen_docker.settings import DockerSettings

PIPELINE = """
from zen_core import pipeline, step


@step
def make() -> int:
    return 1


@step(settings={"docker": {"environment": {"ONLY_HERE": "1"}}})
def special(x: int) -> int:
    return x


@step
def plain(x: int) -> int:
    return x


@pipeline
def pipe() -> None:
    x = make()
    special(x)
    plain(x)
"""

SETTINGS = DockerSettings(parent_image="python:3.11-slim")


def new_builder(**config: Any) -> DockerImageBuilder:
    return DockerImageBuilder(config=DockerImageBuilderConfig(**config), stack=Stack())


def tag_of(settings: DockerSettings = SETTINGS) -> str:
    return new_builder().plan(settings).tag


# -- plans and tags -------------------------------------------------------------------------


def test_the_tag_is_a_content_hash(project, make_stack):
    make_stack(registry=False)
    project.write("pipe.py", "x = 1\n")
    tag = tag_of()
    assert tag == tag_of()  # another builder, same inputs
    os.utime(project.root / "pipe.py", (time.time() + 100, time.time() + 100))
    assert tag_of() == tag  # time stamps do not count
    project.write("pkg/__pycache__/pipe.cpython-311.pyc", "junk")
    project.write(".git/HEAD", "ref: refs/heads/main")
    assert tag_of() == tag  # ignored paths do not count
    project.write("pipe.py", "x = 2\n")
    assert tag_of() != tag  # content does


@pytest.mark.parametrize(
    "change",
    [
        {"apt_packages": ["git"]},
        {"environment": {"A": "1"}},
        {"requirements": ["numpy"]},
        {"build_args": {"A": "1"}},
        {"platform": "linux/arm64"},
        {"parent_image": "python:3.12-slim"},
        {"copy_source": False},
    ],
)
def test_every_build_input_changes_the_tag(project, make_stack, change):
    make_stack(registry=False)
    project.write("pipe.py", "x = 1\n")
    changed = DockerSettings.model_validate({**SETTINGS.model_dump(exclude_defaults=True), **change})
    assert tag_of(changed) != tag_of()


def test_the_repository_is_under_the_registry(project, make_stack):
    make_stack(registry=True)
    plan = new_builder().plan(SETTINGS)
    assert plan.repository == f"{REGISTRY}/zen"
    assert new_builder().plan(SETTINGS.model_copy(update={"image_name": "team/steps"})).repository == (
        f"{REGISTRY}/team/steps"
    )
    make_stack(registry=False)
    assert new_builder().plan(SETTINGS).image.startswith("zen:")


def test_context_layout_and_zen_requirements(project, make_stack):
    make_stack(registry=False)
    project.write("pipe.py", "x = 1\n")
    project.write("data/notes.txt", "hello")
    plan = new_builder().plan(SETTINGS)
    names = [e.arcname for e in plan.entries]
    assert names == sorted(names)
    assert {
        "zen/Dockerfile",
        "zen/zen-requirements.txt",
        "code",
        "code/pipe.py",
        "code/data/notes.txt",
    } == set(names)
    reqs = next(e.data for e in plan.entries if e.arcname == "zen/zen-requirements.txt")
    import zen_core

    # zen-core, and the package of the stack's orchestrator (local_docker: zen-docker)
    assert reqs.decode().splitlines() == [f"zen-core=={zen_core.__version__}", "zen-docker==0.1.0"]
    assert "FROM python:3.11-slim" in plan.dockerfile


def test_the_local_artifact_store_and_dockerignore_stay_out(project, make_stack, tmp_path):
    manager = StackManager()
    inside = project.root / "artifacts"
    manager.register_component("artifact_store", "inside", "local", {"path": str(inside)})
    manager.register_component("orchestrator", "docker", "local_docker", {})
    manager.register_stack("inside", {"orchestrator": "docker", "artifact_store": "inside"})
    manager.set_active("inside")
    manager.save()
    project.write("artifacts/runs/r1/run.json", "{}")
    project.write("pipe.py", "x = 1\n")
    project.write("big/data.bin", "x" * 100)
    project.write("big/keep.txt", "keep")
    project.write(".dockerignore", "# large data\nbig\n!big/keep.txt\n")
    settings = SETTINGS.model_copy(update={"ignore": ["*.md"]})
    project.write("README.md", "docs")
    code = [e.arcname for e in new_builder().plan(settings).entries if e.arcname.startswith("code/")]
    assert code == ["code/.dockerignore", "code/big/keep.txt", "code/pipe.py"]


def test_requirements_from_a_file(project, make_stack):
    make_stack(registry=False)
    project.write("requirements/prod.txt", "numpy==2.1.3\n")
    settings = SETTINGS.model_copy(update={"requirements": "requirements/prod.txt"})
    plan = new_builder().plan(settings)
    assert next(e.data for e in plan.entries if e.arcname == "zen/requirements.txt") == b"numpy==2.1.3\n"
    with pytest.raises(ZenError, match=r"requirements file .* does not exist"):
        new_builder().plan(SETTINGS.model_copy(update={"requirements": "missing.txt"}))


def test_a_remote_artifact_store_brings_its_fsspec_backend(project):
    manager = StackManager()
    manager.register_component("artifact_store", "s3", "fsspec", {"url": "s3://bucket/zen"})
    manager.register_component("orchestrator", "docker", "local_docker", {})
    manager.register_stack("s3", {"orchestrator": "docker", "artifact_store": "s3"})
    manager.set_active("s3")
    manager.save()
    plan = new_builder().plan(SETTINGS)
    reqs = next(e.data for e in plan.entries if e.arcname == "zen/zen-requirements.txt").decode()
    assert any(line.split("==")[0] == "s3fs" for line in reqs.splitlines())


def test_users_dockerfile_without_copy_gets_no_context(project, make_stack):
    make_stack(registry=False)
    project.write("Dockerfile.base", "FROM python:3.11-slim\nRUN echo hi\n")
    project.write("pipe.py", "x = 1\n")
    settings = DockerSettings(dockerfile="Dockerfile.base")
    plan = new_builder().plan(settings)
    assert plan.parent is not None
    assert [e.arcname for e in plan.parent.entries] == [".zen-user.Dockerfile"]
    assert plan.dockerfile.splitlines()[1] == f"FROM {plan.parent.image}"
    parent_tag = plan.parent.tag
    project.write("pipe.py", "x = 2\n")
    assert new_builder().plan(settings).parent.tag == parent_tag  # code changes do not touch it

    project.write("Dockerfile.base", "FROM python:3.11-slim\nCOPY pipe.py /opt/\n")
    with_copy = new_builder().plan(settings).parent
    assert with_copy.dockerfile_name == "Dockerfile.base"
    assert "pipe.py" in [e.arcname for e in with_copy.entries]


def test_uses_context():
    assert uses_context("FROM a\nCOPY . /app\n")
    assert uses_context("FROM a\nadd x.tar /\n")
    assert not uses_context("FROM a AS b\nRUN x\nFROM c\nCOPY --from=b /x /x\n")
    assert not uses_context("FROM a\n# COPY x y\n")


def test_dev_mode_puts_wheels_in_the_context(project, make_stack, monkeypatch):
    from zen_docker import packages

    make_stack(registry=False)
    monkeypatch.setenv("ZEN_DOCKER_DEV_MODE", "1")
    # do not run uv here: a wheel made of the project folder's name stands in
    from test_docker_packages import FakeBuilder

    b = DockerImageBuilder(stack=Stack(), wheel_cache=packages.WheelCache(project.root / ".c", FakeBuilder()))
    plan = b.plan(SETTINGS.model_copy(update={"ignore": [".c"]}))
    wheels = [e.arcname for e in plan.entries if e.arcname.startswith("zen/wheels/")]
    assert wheels == [
        "zen/wheels/zen_core-0.1.0-py3-none-any.whl",
        "zen/wheels/zen_docker-0.1.0-py3-none-any.whl",
    ]
    reqs = next(e.data for e in plan.entries if e.arcname == "zen/zen-requirements.txt").decode()
    assert "zen-core" not in reqs and "pydantic<3,>=2.6" in reqs
    assert "RUN python -m pip install --no-deps --force-reinstall /tmp/zen/wheels/*.whl" in plan.dockerfile


# -- deciding what to do --------------------------------------------------------------------


def test_without_registry_build_once_then_skip(project, make_stack, engine, capsys):
    make_stack(registry=False)
    mod = project.module("pipe", PIPELINE)
    spec = mod.pipe.compile()
    b = new_builder()
    images = b.build_images(spec)
    assert images["make"] == images["plain"] != images["special"]  # equal settings share an image
    assert len(engine.builds) == 2
    assert [r.action for r in b.reports] == ["built", "built"]
    again = new_builder()
    assert again.build_images(spec) == images
    assert [r.action for r in again.reports] == ["skipped", "skipped"]
    assert len(engine.builds) == 2
    out = capsys.readouterr().out
    assert "zen-docker: building image zen:" in out
    assert "no earlier build of these settings is known" in out
    assert "is in the local engine already: build skipped" in out


def test_build_context_sent_to_the_engine(project, make_stack, engine):
    make_stack(registry=False)
    mod = project.module("pipe", PIPELINE)
    project.write(".venv/lib/site.py", "")
    new_builder().build_images(mod.pipe.compile())
    call = engine.builds[0]
    assert call.dockerfile == "zen/Dockerfile"
    assert "code/pipe.py" in call.files and not any(".venv" in n for n in call.files)
    assert call.files["code/pipe.py"].decode() == PIPELINE


def test_with_registry_present_nothing_touches_the_engine(project, make_stack, engine, monkeypatch):
    make_stack(registry=True)
    mod = project.module("pipe", PIPELINE)
    spec = mod.pipe.compile()
    images = new_builder().build_images(spec)
    assert engine.registry == set(images.values())

    def no_engine(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the engine must not be asked")

    monkeypatch.setattr(builder_module, "docker_client", no_engine)
    b = new_builder()
    assert b.build_images(spec) == images
    assert {r.action for r in b.reports} == {"skipped"}
    assert all("already in registry" in r.reason for r in b.reports)


def test_with_registry_a_local_image_is_only_pushed(project, make_stack, engine):
    make_stack(registry=True)
    mod = project.module("pipe", PIPELINE)
    spec = mod.pipe.compile()
    images = new_builder().build_images(spec)
    engine.registry.clear()  # e.g. a fresh registry
    b = new_builder()
    b.build_images(spec)
    assert {r.action for r in b.reports} == {"pushed"}
    assert len(engine.builds) == 2
    assert engine.registry == set(images.values())


def test_code_change_says_what_changed_and_only_code_layers_rebuild(project, make_stack, engine):
    make_stack(registry=True)
    mod = project.module("pipe", PIPELINE)
    new_builder().build_images(mod.pipe.compile())
    mod = project.module("pipe", PIPELINE + "\n# a comment\n")
    b = new_builder()
    b.build_images(mod.pipe.compile())
    report = b.reports[0]
    assert report.action == "built" and report.pushed
    assert report.reason.startswith("code changed (pipe.py) since ")
    assert report.rebuilt_layers == [
        "COPY code/ /app/",
        'CMD ["python", "-m", "zen_core.entrypoint", "--help"]',
    ]


def test_failed_build_names_the_line_and_shows_the_output(project, make_stack, engine):
    make_stack(registry=True)
    mod = project.module(
        "pipe",
        PIPELINE.replace(
            "@pipeline\n", '@pipeline(settings={"docker": {"requirements": ["nothing-here==1"]}})\n'
        ),
    )
    engine.fail_build_at = "RUN python -m pip install -r /tmp/zen/requirements.txt"
    with pytest.raises(DockerBuildError) as info:
        new_builder().build_images(mod.pipe.compile())
    err = info.value
    plan = new_builder().plan(
        DockerSettings(requirements=["nothing-here==1"])
    )  # the same Dockerfile: find the line independently
    expected_line = plan.dockerfile.splitlines().index(engine.fail_build_at) + 1
    assert err.line == expected_line
    message = str(err)
    assert f"failed at line {expected_line} of the generated Dockerfile" in message
    assert "which installs your requirements (requirements setting)" in message
    assert "No matching distribution found for nothing-here==1" in message
    assert engine.registry == set()


def test_failed_push_raises(project, make_stack, engine):
    make_stack(registry=True)
    mod = project.module("pipe", PIPELINE)
    engine.fail_push = True
    with pytest.raises(DockerPushError, match="denied"):
        new_builder().build_images(mod.pipe.compile())


def test_prebuilt_image_is_used_as_is(project, make_stack, engine):
    make_stack(registry=True)
    mod = project.module(
        "pipe", PIPELINE.replace("@pipeline\n", '@pipeline(settings={"docker": {"image": "acme/steps:1"}})\n')
    )
    b = new_builder()
    images = b.build_images(mod.pipe.compile())
    assert images["make"] == images["plain"] == "acme/steps:1"
    assert images["special"] == "acme/steps:1"  # a step's own environment does not undo `image`
    assert engine.builds == [] and engine.calls == []


def test_output_off_prints_nothing(project, make_stack, engine, capsys):
    make_stack(registry=False)
    mod = project.module("pipe", PIPELINE)
    new_builder(output="off").build_images(mod.pipe.compile())
    assert capsys.readouterr().out == ""


# -- the hook ------------------------------------------------------------------------------


def test_the_hook_builds_with_the_stacks_image_builder(project, make_stack, engine, capsys):
    make_stack(registry=False)
    manager = StackManager()
    manager.register_component("image_builder", "quiet", "docker", {"output": "off"})
    stack = manager.stack("docker")
    manager.register_stack("docker", {**stack.components, "image_builder": "quiet"}, replace=True)
    manager.save()
    mod = project.module("pipe", PIPELINE)
    images = plugin_manager().hook.zen_build_images(spec=mod.pipe.compile(), stack=Stack())
    assert set(images) == {"make", "special", "plain"}
    assert capsys.readouterr().out == ""  # the component's config was used


class _FakeStack:
    def __init__(self, component: Any) -> None:
        self._component = component

    def has(self, ctype: str) -> bool:
        return ctype == "image_builder"

    def component(self, ctype: str) -> Any:
        return self._component


def test_other_image_builders_are_used_when_they_can_build():
    class Kaniko:
        def build_images(self, spec: Any) -> dict[str, str]:
            return {"a": "kaniko:1"}

    assert build_images_for_stack(object(), _FakeStack(Kaniko())) == {"a": "kaniko:1"}  # type: ignore[arg-type]
    assert build_images_for_stack(object(), _FakeStack(object())) is None  # type: ignore[arg-type]
