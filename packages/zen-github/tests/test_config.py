"""Validation of the orchestrator's config and of per-step ``github`` settings."""

from __future__ import annotations

from typing import Any

import pytest
from ghtest import make_spec, step
from pydantic import ValidationError

from zen_core.errors import PipelineDefinitionError, StackError
from zen_core.plugins import flavor_registry
from zen_github.config import GitHubOrchestratorConfig, GitHubSettings


def test_defaults_are_valid() -> None:
    cfg = GitHubOrchestratorConfig()
    assert cfg.backend == "github" and cfg.install == "pip" and cfg.requirements == ["."]
    assert cfg.wants_checkout
    assert not GitHubOrchestratorConfig(install="container").wants_checkout
    assert GitHubOrchestratorConfig(install="container", checkout=True).wants_checkout


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"repository": "no-slash"}, "is not 'owner/name'"),
        ({"branch": "bad..branch"}, "not a valid branch name"),
        ({"branch": "has space"}, "not a valid branch name"),
        ({"api_url": "ftp://x"}, "not an http"),
        ({"token_env": "1TOKEN"}, "not a valid environment variable name"),
        ({"secrets": {"X": "GITHUB_TOKEN"}}, "cannot start with GITHUB_"),
        ({"secrets": {"X": "bad-name"}}, "not a valid repository secret name"),
        ({"secrets": {"GITHUB_X": "S"}}, "reserved by GitHub"),
        ({"environment": {"ZEN_STORE": "x"}}, "set by zen in every job"),
        ({"environment": {"TOKEN": "${{ secrets.TOKEN }}"}}, "must not contain a GitHub expression"),
        ({"requirements": ["a\nb"]}, "one non-empty line"),
        ({"requirements": ["${{ inputs.x }}"]}, "GitHub expression"),
        ({"requirements": []}, "needs at least one requirement"),
        ({"schedules": ["* * *"]}, "five fields"),
        ({"schedules": ["0 0 * * * ; rm"]}, "five fields"),
        ({"runs_on": []}, "at least one runner label"),
        ({"python_version": "3.11", "install": "python"}, "applies to install='pip' only"),
        ({"python_version": "3.11; rm -rf /"}, "not a Python version"),
        ({"setup_steps": [{"uses": "actions/cache@v4"}]}, "full commit SHA"),
        ({"setup_steps": [{"run": "echo ${{ inputs.x }}"}]}, "without GitHub expressions"),
        ({"setup_steps": [{"name": "nothing"}]}, "exactly one of 'uses' or 'run'"),
        ({"poll_interval": 0}, "greater than 0"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_config(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GitHubOrchestratorConfig(**values)


def test_config_errors_name_the_flavor_and_field() -> None:
    flavor = flavor_registry().get("orchestrator", "github")
    with pytest.raises(StackError, match=r"orchestrator flavor 'github': repository: .*owner/name"):
        flavor.validate_config({"repository": "nope"})


def test_pinned_and_local_setup_steps_are_accepted() -> None:
    cfg = GitHubOrchestratorConfig(
        setup_steps=[
            {"uses": "google-github-actions/auth@" + "a" * 40, "with": {"x": "${{ secrets.X }}"}},
            {"uses": "./.github/actions/setup"},
            {"uses": "$/.github/actions/setup"},
            {"uses": "docker://alpine@sha256:" + "0" * 64},
            {"run": 'echo "$HOME"'},
        ]
    )
    assert len(cfg.setup_steps) == 5


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timeout_minutes": 0}, "greater than or equal to 1"),
        ({"runs_on": "gpu\nx"}, "one non-empty line"),
        ({"secrets": {"K": "GITHUB_TOKEN"}}, "cannot start with GITHUB_"),
        ({"memory": "4G"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GitHubSettings(**settings)


def test_bad_step_settings_fail_validation_naming_the_step(github_stack: Any) -> None:
    orchestrator = github_stack.configure().orchestrator
    good = make_spec("p", [step("a", settings={"github": {"runs_on": "gpu"}})])
    orchestrator.validate(good)
    bad = make_spec("p", [step("a"), step("b", "a", settings={"github": {"timeout_minutes": -5}})])
    with pytest.raises(
        PipelineDefinitionError, match=r"step 'b': invalid 'github' settings: timeout_minutes"
    ):
        orchestrator.validate(bad)
    bad_pipeline = make_spec("p", [step("a")], settings={"github": {"runs_on": []}})
    with pytest.raises(PipelineDefinitionError, match=r"pipeline 'p', pipeline: invalid 'github' settings"):
        orchestrator.validate(bad_pipeline)
