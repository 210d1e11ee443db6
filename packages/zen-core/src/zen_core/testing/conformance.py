"""The conformance suite every orchestrator flavor runs against its real backend.

Subclass :class:`OrchestratorConformance` in the flavor's tests and say how to
build the stack; every ``test_*`` method then runs on that backend::

    from zen_core.testing.conformance import OrchestratorConformance

    class TestLocalConformance(OrchestratorConformance):
        orchestrator_flavor = "local"

Override :meth:`orchestrator_config` / :meth:`artifact_store` for backends that
need more (a cluster's kubeconfig, an artifact store every pod can reach).
The pipelines come from :mod:`zen_core.testing.pipelines`, importable wherever
zen-core is installed, so remote steps need no test code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zen_core import plugins
from zen_core.errors import RunFailedError
from zen_core.records import RunStore, StepRecord
from zen_core.run import RunResult
from zen_core.stacks import Stack, StackManager
from zen_core.testing import pipelines as P

STACK = "conformance"


def _started(record: StepRecord) -> float:
    assert record.started_at is not None, f"step {record.step_id} has no start time"
    return record.started_at


def _finished(record: StepRecord) -> float:
    assert record.finished_at is not None, f"step {record.step_id} has no finish time"
    return record.finished_at


class OrchestratorConformance:
    #: The orchestrator flavor under test.
    orchestrator_flavor: str = "local"

    def orchestrator_config(self, tmp_path: Path) -> dict[str, Any]:
        """Config of the orchestrator component under test."""
        return {}

    def artifact_store(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        """(flavor, config) of the artifact store the backend's steps can all reach."""
        return "local", {"path": str(tmp_path / "store")}

    @pytest.fixture(autouse=True)
    def _conformance_stack(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
        monkeypatch.delenv("ZEN_STACK", raising=False)
        plugins.reset()
        manager = StackManager()
        store_flavor, store_config = self.artifact_store(tmp_path)
        manager.register_component("artifact_store", STACK, store_flavor, store_config)
        manager.register_component(
            "orchestrator", STACK, self.orchestrator_flavor, self.orchestrator_config(tmp_path)
        )
        manager.register_stack(STACK, {"orchestrator": STACK, "artifact_store": STACK})
        manager.set_active(STACK)
        manager.save()

    # -- helpers -------------------------------------------------------------------
    def run(self, pipe: Any, **kwargs: Any) -> RunResult:
        result: RunResult = pipe.run(**kwargs)
        return result

    def runs(self) -> RunStore:
        return RunStore(Stack().artifact_store)

    def statuses(self, result: RunResult) -> dict[str, str]:
        return {sid: r.status for sid, r in result.steps.items()}

    def failed_run(self, pipe: Any) -> tuple[RunFailedError, dict[str, StepRecord]]:
        with pytest.raises(RunFailedError) as info:
            self.run(pipe)
        runs = self.runs()
        return info.value, runs.read_steps(info.value.run_id)

    # -- the suite -----------------------------------------------------------------
    def test_linear_chain(self) -> None:
        result = self.run(P.linear_chain)
        assert result.status == "completed"
        assert self.statuses(result) == {
            "number": "completed",
            "add": "completed",
            "add_2": "completed",
            "multiply": "completed",
        }
        assert result.load("multiply") == 6
        rec = result.steps["add_2"]
        assert rec.started_at is not None and rec.finished_at is not None
        assert rec.started_at >= _finished(result.steps["add"]) - 1e-3  # ran after its input

    def test_diamond(self) -> None:
        result = self.run(P.diamond)
        assert result.load("combine") == 406
        steps = result.steps
        inputs_done = max(_finished(steps["add"]), _finished(steps["multiply"]))
        assert _started(steps["combine"]) >= inputs_done - 1e-3

    def test_fan_out_fan_in(self) -> None:
        result = self.run(P.fan_out_fan_in)
        assert result.load("total") == 60
        assert sorted(result.steps) == sorted(["number", "total", "add", *(f"add_{i}" for i in range(2, 6))])

    def test_parameters_defaults_and_overrides(self) -> None:
        assert self.run(P.parameters).load("multiply") == (2 + 10) * 3
        assert self.run(P.parameters, start=5, factor=4).load("multiply") == (5 + 10) * 4
        run = self.runs().read_run(self.run(P.parameters, factor=1).run_id)
        assert run.parameters == {"start": 2, "factor": 1}

    def test_multiple_outputs(self) -> None:
        result = self.run(P.multiple_outputs)
        assert result.load("divmod_step", "quotient") == 3
        assert result.load("divmod_step", "remainder") == 2
        assert result.load("describe") == "17/5: 3 r 2"
        assert result.load("zeta_alpha", "zeta") == "zeta of 3"
        assert result.load("zeta_alpha", "alpha") == 4

    def test_failing_step_skips_dependents_and_finishes_independent_branches(self) -> None:
        error, steps = self.failed_run(P.failing)
        assert set(error.failed_steps) == {"explode"}
        assert steps["explode"].status == "failed"
        assert "conformance failure on purpose" in (steps["explode"].traceback or "")
        assert steps["after_failure"].status == "skipped"
        assert "explode" in (steps["after_failure"].skipped_because or "")
        assert steps["independent"].status == "completed"
        assert steps["independent_tail"].status == "completed"
        assert self.runs().read_run(error.run_id).status == "failed"

    def test_retries(self) -> None:
        result = self.run(P.retrying)
        rec = result.steps["flaky"]
        assert rec.status == "completed"
        assert rec.attempt == 3
        assert result.load("flaky") == 13

    def test_caching_on_rerun(self) -> None:
        first = self.run(P.diamond)
        second = self.run(P.diamond)
        assert set(self.statuses(first).values()) == {"completed"}
        assert set(self.statuses(second).values()) == {"cached"}
        assert second.steps["combine"].outputs["output"].uri == first.steps["combine"].outputs["output"].uri
        assert second.load("combine") == 406
        third = self.run(P.diamond, enable_cache=False)
        assert set(self.statuses(third).values()) == {"completed"}

    def test_cache_miss_when_cached_output_deleted(self) -> None:
        first = self.run(P.linear_chain)
        runs = self.runs()
        art = first.steps["multiply"].outputs["output"]
        runs.store.delete(runs.store.key_of_uri(art.uri))
        second = self.run(P.linear_chain)
        assert second.steps["multiply"].status == "completed"
        assert second.steps["number"].status == "cached"
        assert second.load("multiply") == 6

    def test_large_artifact(self) -> None:
        result = self.run(P.large_artifact)
        rec = result.steps["big_blob"].outputs["output"]
        assert rec.size == P.LARGE_SIZE
        digest = result.load("blob_digest", "digest")
        assert digest.startswith(f"{P.LARGE_SIZE}:")
        assert digest.split(":")[1] == rec.hash

    def test_step_logs(self) -> None:
        result = self.run(P.logs)
        text = self.runs().read_logs(result.run_id, "chatty")
        assert "stdout line from chatty, x=7" in text
        assert "stderr line from chatty" in text
        assert "log record from chatty" in text
        assert result.steps["number"].logs_uri is None  # chatty's output stayed with chatty

    def test_after_orders_steps_without_data(self) -> None:
        result = self.run(P.ordering)
        steps = result.steps
        assert _started(steps["second"]) >= _finished(steps["first"]) - 1e-3
