"""Pipelines for the compiler's tests: settings, parameter types, odd step ids."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zen_core.pipelines import pipeline
from zen_core.steps import step
from zen_core.testing.pipelines import add, number

GPU = {
    "kubeflow": {
        "cpu_request": "500m",
        "cpu_limit": "2",
        "memory_request": "512Mi",
        "memory_limit": "4G",
        "accelerator_type": "nvidia.com/gpu",
        "accelerator_count": 2,
        "env": {"STEP_LEVEL": "1"},
        "node_selector": {"pool": "gpu"},
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "spot", "value": "true", "effect": "NoExecute", "toleration_seconds": 30},
        ],
        "secrets_as_env": [{"secret_name": "wandb", "keys": {"api-key": "WANDB_API_KEY"}}],
        "secrets_as_volume": [{"secret_name": "certs", "mount_path": "/certs", "optional": True}],
        "config_maps_as_env": [{"config_map_name": "conf", "keys": {"mode": "MODE"}}],
        "config_maps_as_volume": [{"config_map_name": "files", "mount_path": "/files"}],
        "pvc_mounts": [{"pvc_name": "datasets", "mount_path": "/data"}],
        "empty_dirs": [
            {"volume_name": "scratch", "mount_path": "/scratch", "medium": "Memory", "size_limit": "1Gi"}
        ],
        "pod_labels": {"team": "ml"},
        "pod_annotations": {"owner": "zen"},
        "image_pull_secrets": ["regcred"],
        "image_pull_policy": "IfNotPresent",
        "timeout": 600,
    }
}


@step(retries=2, retry_delay=0.5, retry_backoff=3.0, settings=GPU)
def train(
    x: int, lr: float = 0.1, tags: list[str] | None = None, options: dict[str, int] | None = None
) -> int:
    return x


@step
def report(x: int, name: str = "", verbose: bool = False) -> str:
    return f"{name}: {x}"


@pipeline(
    settings={
        "kubeflow": {
            "env": {"PIPELINE_LEVEL": "yes"},
            "node_selector": {"zone": "a"},
            "secrets_as_env": [{"secret_name": "store-creds", "keys": {"key": "STORE_KEY"}}],
        }
    }
)
def settings_rich(
    lr: float = 0.01,
    name: str = "run",
    verbose: bool = True,
    tags: list[str] = ["a", "b"],
    options: dict[str, int] = {"depth": 3},
    epochs: int = 5,
) -> None:
    x = number(value=epochs, id="Load.Data")
    y = train(x, lr=lr, tags=tags, options=options)
    report(y, name=name, verbose=verbose)
    report(add(x, id="load_data"), name="side", id="load-data")


@pipeline
def required_parameter(start: int) -> None:
    add(number(value=start))


# -- shared by the test modules (imported from here, not from conftest) ---------------

GOLDEN = Path(__file__).parent / "golden"
IMAGE = "registry.example.com/zen/steps:1"
STORE = "gs://zen-bucket/store"


def golden_update() -> bool:
    """ZEN_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing with them."""
    return os.environ.get("ZEN_UPDATE_GOLDEN") == "1"


def images_for(spec: Any, image: str = IMAGE) -> dict[str, str]:
    return {s.id: image for s in spec.steps}
