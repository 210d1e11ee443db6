"""Vertex job states and what each means for a zen run."""

from __future__ import annotations

import pytest

from zen_vertex.states import is_final, job_state_name, kfp_state, zen_status

TABLE = [
    # (Vertex state, final?, zen status, KFP state for finalize_records)
    ("PIPELINE_STATE_UNSPECIFIED", False, "running", None),
    ("PIPELINE_STATE_QUEUED", False, "running", None),
    ("PIPELINE_STATE_PENDING", False, "running", None),
    ("PIPELINE_STATE_RUNNING", False, "running", None),
    ("PIPELINE_STATE_CANCELLING", False, "running", None),
    ("PIPELINE_STATE_PAUSED", False, "running", None),
    ("PIPELINE_STATE_SUCCEEDED", True, "completed", "SUCCEEDED"),
    ("PIPELINE_STATE_FAILED", True, "failed", "FAILED"),
    ("PIPELINE_STATE_CANCELLED", True, "stopped", "CANCELED"),
]


@pytest.mark.parametrize(("state", "final", "status", "kfp"), TABLE)
def test_state_mapping(state: str, final: bool, status: str, kfp: str | None) -> None:
    assert is_final(state) is final
    assert zen_status(state) == status
    if kfp is None:
        with pytest.raises(ValueError):
            kfp_state(state)
    else:
        assert kfp_state(state) == kfp


def test_every_sdk_state_is_mapped() -> None:
    from google.cloud.aiplatform_v1.types import PipelineState

    assert sorted(s.name for s in PipelineState) == sorted(row[0] for row in TABLE)
    for member in PipelineState:
        assert job_state_name(member) == member.name
        assert job_state_name(int(member.value)) == member.name


def test_short_names() -> None:
    assert job_state_name("succeeded") == "PIPELINE_STATE_SUCCEEDED"
    assert job_state_name(None) == "PIPELINE_STATE_UNSPECIFIED"
