"""zen-core's conformance suite on a real cluster: every run is an orchestrator Job and step Jobs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zen_core.testing.conformance import STACK, OrchestratorConformance


class TestKubernetesConformance(OrchestratorConformance):
    orchestrator_flavor = "kubernetes"

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _cluster_setup(
        cls,
        request: pytest.FixtureRequest,
        base_config: dict[str, Any],
        store_root: Path,
        images: Any,
        prebuilt: str,
        pod_code_dir: Path,
    ) -> Iterator[None]:
        # class-scoped, so it is ready before the base class's function-scoped stack fixture
        cls.base_config, cls.store_root, cls.images = base_config, store_root, images
        old = os.getcwd()
        os.chdir(pod_code_dir)  # the code zen-docker puts in the step image
        yield
        os.chdir(old)

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        return dict(self.base_config)

    def artifact_store(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        return "local", {"path": str(self.store_root / tmp_path.name), "shared": True}

    @pytest.fixture(autouse=True)
    def _with_registry(self, _conformance_stack: None) -> None:
        if not self.images.registry:
            return
        from zen_core.stacks import StackManager

        manager = StackManager()
        manager.register_component(
            "container_registry", STACK, "default", {"uri": self.images.registry, "insecure": True}
        )
        manager.register_stack(
            STACK,
            {"orchestrator": STACK, "artifact_store": STACK, "container_registry": STACK},
            replace=True,
        )
        manager.save()

    @pytest.fixture(autouse=True)
    def _nothing_left_running(self, checker: Any) -> Iterator[None]:
        yield
        checker.assert_nothing_running()
