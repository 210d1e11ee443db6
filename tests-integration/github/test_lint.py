"""Every generated workflow passes actionlint (with shellcheck), GitHub's workflow schema and zizmor.

The workflows are generated from the conformance pipelines under several configs
(pip install with setup-python, schedules and secrets; a python on self-hosted
runners; containers; per-step settings), plus zen-github's golden files. zizmor
runs offline with its pedantic persona and must report nothing at all.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gh_support import TOOL_PATH, tool

from zen_core.pipelines import Pipeline
from zen_core.testing import pipelines as P
from zen_github.config import GitHubOrchestratorConfig
from zen_github.workflow import generate_workflow, workflow_file_name

GOLDEN = Path(__file__).resolve().parents[2] / "packages" / "zen-github" / "tests" / "golden"

CONFIGS: dict[str, dict[str, Any]] = {
    "pip": {
        "python_version": "3.11",
        "requirements": [".", "gcsfs>=2024.2"],
        "schedules": ["17 4 * * 1-5"],
        "secrets": {"AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID": "AWS_KEY_ID"},
        "environment": {"ZEN_LOG_LEVEL": "info"},
        "timeout_minutes": 60,
    },
    "python": {"install": "python", "python": "/opt/zen/bin/python", "runs_on": ["self-hosted", "linux"]},
    "container": {
        "install": "container",
        "setup_steps": [
            {"name": "Log in", "uses": "example-org/login@0123456789abcdef0123456789abcdef01234567"}
        ],
    },
}


def pipelines() -> dict[str, Pipeline[Any, Any]]:
    return {name: obj for name, obj in vars(P).items() if isinstance(obj, Pipeline)}


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lint") / ".github" / "workflows"
    folder.mkdir(parents=True)
    for config_name, config in CONFIGS.items():
        cfg = GitHubOrchestratorConfig(**config)
        for pipe in pipelines().values():
            spec = pipe.compile()
            # an image builder that pushes returns digest references (zizmor's pedantic persona
            # flags tag-only images)
            images = {s.id: f"ghcr.io/zen-org/steps@sha256:{spec.digest() * 4}" for s in spec.steps}
            text = generate_workflow(spec, cfg, store_url="gs://zen-bucket/runs", images=images)
            (folder / f"{config_name}-{workflow_file_name(spec)}").write_text(text)
    for golden in sorted(GOLDEN.glob("*.yml")):
        (folder / f"golden-{golden.name}").write_text(golden.read_text())
    # custom labels of self-hosted runners are declared to actionlint, as a project would
    (folder.parent / "actionlint.yaml").write_text("self-hosted-runner:\n  labels:\n    - gpu\n")
    assert len(list(folder.glob("*.yml"))) >= 3 * len(pipelines())
    return folder


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": TOOL_PATH, "NO_COLOR": "1"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_actionlint_with_shellcheck(workflows: Path) -> None:
    tool("shellcheck")  # actionlint checks every run: script with it when it is on PATH
    files = sorted(str(p) for p in workflows.glob("*.yml"))
    config = str(workflows.parent / "actionlint.yaml")
    result = run(
        [tool("actionlint"), "-no-color", "-config-file", config, *files], cwd=workflows.parent.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_schema(workflows: Path) -> None:
    files = sorted(str(p) for p in workflows.glob("*.yml"))
    result = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files], cwd=workflows
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_findings(workflows: Path) -> None:
    result = run(
        [tool("zizmor"), "--offline", "--persona=pedantic", "--no-progress", str(workflows)], cwd=workflows
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr
