"""Registration: the flavors, and a plugin import that stays light."""

from __future__ import annotations

import json
import subprocess
import sys

from zen_core.plugins import flavor_registry


def test_flavors_are_registered_by_zen_vertex() -> None:
    vertex = flavor_registry().get("orchestrator", "vertex")
    gcs = flavor_registry().get("artifact_store", "gcs")
    assert vertex.package == gcs.package == "zen-vertex"
    assert vertex.load_settings_class().__name__ == "VertexSettings"
    assert vertex.load_implementation().flavor == "vertex"
    assert callable(gcs.load_implementation())


def test_registering_imports_nothing_heavy() -> None:
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "from zen_core.plugins import flavor_registry\n"
        "flavor_registry()\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    heavy = [
        m
        for m in loaded
        if m.startswith(
            ("google.cloud.aiplatform", "google.auth", "kfp", "gcsfs", "zen_kubeflow.compiler", "grpc")
        )
    ]
    assert heavy == []
    assert "zen_vertex.plugin" in loaded and "zen_vertex.orchestrator" not in loaded
