"""The compiled spec: deterministic bytes, versioned, round-trips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zen_core.spec import SCHEMA_VERSION, PipelineSpec

HERE = Path(__file__).parent


def test_same_code_gives_same_bytes_across_processes() -> None:
    code = "import sample_pipelines as s; print(s.squares.compile().to_json(), end='')"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(outs) == 1
    data = json.loads(outs.pop())
    assert data["schema_version"] == SCHEMA_VERSION
    assert [s["id"] for s in data["steps"]] == ["seed", "square", "split_digits", "fail_if"]


def test_round_trip_and_digest(zen_home: Path) -> None:
    import sample_pipelines as s

    spec = s.squares.compile()
    again = PipelineSpec.from_json(spec.to_json())
    assert again == spec
    assert again.digest() == spec.digest()
    assert spec.step("fail_if").upstream == ["split_digits"]


def test_other_schema_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="schema version '99' is not supported"):
        PipelineSpec.from_json(
            json.dumps({"schema_version": "99", "name": "x", "source": "m:x", "steps": []})
        )
