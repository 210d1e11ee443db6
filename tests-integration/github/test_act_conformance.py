"""The zen-core conformance suite on the ``github`` orchestrator, the workflows run by act.

Jobs run on the host and reuse this interpreter (``install='python'``), so no job
pip-installs anything. Two artifact stores every job reaches: a local folder
declared shared (self-hosted runners on one filesystem), and ``gs://`` served by
the GCS emulator through zen-core's ``fsspec`` store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gh_support import act_config, make_bucket, make_git_repo

from zen_core.testing.conformance import OrchestratorConformance


class TestActSharedPath(OrchestratorConformance):
    orchestrator_flavor = "github"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return act_config(make_git_repo(tmp_path / "repo"))

    def artifact_store(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        return "local", {"path": str(tmp_path / "store"), "shared": True}


class TestActGcsEmulator(OrchestratorConformance):
    """Part of the suite with a gs:// store: every job talks to the GCS emulator.

    Importing gcsfs costs each job a few seconds, so only the linear chain, the
    failure and the parameters cases run here; the shared-path class runs them all.
    """

    orchestrator_flavor = "github"
    emulator = ""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _emulator(cls, gcs_emulator: str) -> Iterator[None]:
        cls.emulator = gcs_emulator
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)  # this process reads the store too
            yield

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        env = {"STORAGE_EMULATOR_HOST": self.emulator, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
        return act_config(make_git_repo(tmp_path / "repo"), environment=env)

    def artifact_store(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        bucket = "zen-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]
        make_bucket(bucket)
        return "fsspec", {"url": f"gs://{bucket}/zen"}


GCS_CASES = {
    "test_linear_chain",
    "test_failing_step_skips_dependents_and_finishes_independent_branches",
    "test_parameters_defaults_and_overrides",
}
for _name in dir(OrchestratorConformance):
    if _name.startswith("test_") and _name not in GCS_CASES:
        setattr(TestActGcsEmulator, _name, None)  # not collected: covered by TestActSharedPath
