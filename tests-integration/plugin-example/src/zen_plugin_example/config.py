"""Configuration of the ``example_serial`` orchestrator."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SerialOrchestratorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_fast: bool = Field(
        default=False,
        description="After a failed step, skip every step not yet started. Otherwise only "
        "the failed step's dependents are skipped and independent branches still run.",
    )
    echo_logs: bool = Field(
        default=True, description="Print what each step prints, prefixed with the step id."
    )
    quiet: bool = Field(default=False, description="Print no progress lines.")
