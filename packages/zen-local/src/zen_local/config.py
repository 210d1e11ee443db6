"""Configuration of the ``local`` orchestrator."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LocalOrchestratorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_parallelism: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="Most steps running at once. Threads are cheap while steps wait on I/O "
        "or release the GIL (numpy, pandas, subprocesses); use mode='process' for "
        "CPU-bound pure-Python steps.",
    )
    mode: Literal["thread", "process"] = Field(
        default="thread",
        description="'thread' runs steps in this process (fastest); 'process' runs each step "
        "in its own Python process through the universal entrypoint, isolated exactly as a "
        "remote flavor would run it.",
    )
    fail_fast: bool = Field(
        default=False,
        description="Stop starting new steps as soon as one fails (running ones finish). "
        "Otherwise independent branches run to completion.",
    )
    progress: Literal["auto", "rich", "plain", "off"] = Field(
        default="auto", description="Live progress: a table on a terminal, lines otherwise."
    )
    echo_logs: bool = Field(default=True, description="Show what steps print while they run.")
