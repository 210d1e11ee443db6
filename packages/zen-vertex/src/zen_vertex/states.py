"""Vertex pipeline job and task states, and what they mean for a zen run.

States are handled by name (``PIPELINE_STATE_SUCCEEDED``, or the bare ``SUCCEEDED``
of a task), so this module needs nothing from Google's libraries.
"""

from __future__ import annotations

#: job states after which nothing changes any more
FINAL_JOB_STATES = frozenset(
    {"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"}
)

#: a final job state -> the KFP state name zen-kubeflow's ``finalize_records`` takes
_KFP_STATE = {
    "PIPELINE_STATE_SUCCEEDED": "SUCCEEDED",
    "PIPELINE_STATE_FAILED": "FAILED",
    "PIPELINE_STATE_CANCELLED": "CANCELED",
}

#: job state -> zen run status while (or once) the job is in it
_ZEN_STATUS = {
    "PIPELINE_STATE_UNSPECIFIED": "running",
    "PIPELINE_STATE_QUEUED": "running",
    "PIPELINE_STATE_PENDING": "running",
    "PIPELINE_STATE_RUNNING": "running",
    "PIPELINE_STATE_CANCELLING": "running",
    "PIPELINE_STATE_PAUSED": "running",
    "PIPELINE_STATE_SUCCEEDED": "completed",
    "PIPELINE_STATE_FAILED": "failed",
    "PIPELINE_STATE_CANCELLED": "stopped",
}

#: PipelineState by enum number (google.cloud.aiplatform_v1.types.PipelineState)
_BY_NUMBER = (
    "PIPELINE_STATE_UNSPECIFIED",
    "PIPELINE_STATE_QUEUED",
    "PIPELINE_STATE_PENDING",
    "PIPELINE_STATE_RUNNING",
    "PIPELINE_STATE_SUCCEEDED",
    "PIPELINE_STATE_FAILED",
    "PIPELINE_STATE_CANCELLING",
    "PIPELINE_STATE_CANCELLED",
    "PIPELINE_STATE_PAUSED",
)

#: task states (PipelineTaskDetail.State) in which a task ended badly
FAILED_TASK_STATES = frozenset({"FAILED"})


def job_state_name(state: object) -> str:
    """``PIPELINE_STATE_...`` for an enum member, its number or its name."""
    name = getattr(state, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(state, int):
        return _BY_NUMBER[state] if 0 <= state < len(_BY_NUMBER) else _BY_NUMBER[0]
    text = str(state or "PIPELINE_STATE_UNSPECIFIED").upper()
    return text if text.startswith("PIPELINE_STATE_") else f"PIPELINE_STATE_{text}"


def is_final(state: object) -> bool:
    return job_state_name(state) in FINAL_JOB_STATES


def kfp_state(state: object) -> str:
    """The KFP state name of a final job state (what the exit handler would have seen)."""
    name = job_state_name(state)
    if name not in _KFP_STATE:
        raise ValueError(f"{name} is not a final pipeline job state")
    return _KFP_STATE[name]


def zen_status(state: object) -> str:
    """The zen run status a job state stands for (``running`` until the job ends)."""
    return _ZEN_STATUS.get(job_state_name(state), "running")


def task_state_name(state: object) -> str:
    name = getattr(state, "name", None)
    return name if isinstance(name, str) else str(state or "STATE_UNSPECIFIED").upper()
