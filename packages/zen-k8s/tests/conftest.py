"""Fixtures of zen-k8s's unit tests: no cluster, no network.

``FakeKube`` stands in for :class:`zen_k8s.client.Kube`. It keeps Jobs and pods as
the dicts the API would return and "runs" a step Job the first time it is listed:
it calls ``zen_core.entrypoint.main`` in this process with the Job's own command,
so records, artifacts and logs are the real ones, and sets the pod and Job status
from the exit code. Images listed in ``stuck_images`` never start (their pod waits
with the given reason); ``die`` makes chosen attempts end like a killed process.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from zen_core import plugins
from zen_core.artifacts.store import ArtifactStore
from zen_core.records import RunRecord, RunStore
from zen_core.spec import PipelineSpec
from zen_core.stacks import StackManager
from zen_k8s.client import KubeError
from zen_k8s.config import KubernetesOrchestratorConfig
from zen_k8s.plan import RunPlan

STACK = "k8s-tests"
IMAGE = "registry.example/zen/step:1"


def _matches(labels: dict[str, str], selector: str) -> bool:
    for part in filter(None, selector.split(",")):
        key, _, value = part.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeKube:
    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, dict[str, Any]] = {}
        self.logs: dict[str, str] = {}
        self.cron_jobs: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.stuck_images: dict[str, str] = {}
        self.podless_images: dict[str, str] = {}  # image -> the Warning event the Job gets
        self.service_accounts: set[str] | None = None  # None: cannot tell (403)
        self.job_events: dict[str, list[dict[str, Any]]] = {}
        self.die: dict[tuple[str, int], str] = {}  # (step id, attempt) -> terminated reason
        self.max_active = 0
        self.on_list: Any = None  # called before each list_jobs (tests inject events)
        self._uid = itertools.count(1)

    # -- Jobs ---------------------------------------------------------------------
    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if name in self.jobs:
            raise KubeError(f"creating Job {namespace}/{name}: 409 AlreadyExists", 409)
        job = {**body, "metadata": {**body["metadata"], "uid": f"uid-{next(self._uid)}"}, "status": {}}
        self.jobs[name] = job
        self.created.append(name)
        pod_labels = {**body["spec"]["template"]["metadata"]["labels"], "job-name": name}
        container = body["spec"]["template"]["spec"]["containers"][0]
        n = len(self.created)
        pod = {
            "metadata": {
                "name": f"{name}-x{n:04d}",
                "uid": f"pod-{next(self._uid)}",
                "labels": pod_labels,
                "creationTimestamp": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
            },
            "spec": body["spec"]["template"]["spec"],
            "status": {"phase": "Pending"},
        }
        if container["image"] in self.podless_images:
            message = self.podless_images[container["image"]]
            self.job_events[name] = [{"type": "Warning", "reason": "FailedCreate", "message": message}]
            return job
        reason = self.stuck_images.get(container["image"])
        if reason:
            pod["status"]["containerStatuses"] = [
                {"name": container["name"], "state": {"waiting": {"reason": reason, "message": "nope"}}}
            ]
        self.pods[pod["metadata"]["name"]] = pod
        active = sum(1 for j in self.jobs.values() if not j["status"].get("conditions"))
        self.max_active = max(self.max_active, active)
        return job

    def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.jobs.get(name)

    def list_jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        if self.on_list is not None:
            self.on_list(self)
        self._advance()
        return [j for j in self.jobs.values() if _matches(j["metadata"]["labels"], selector)]

    def delete_job(self, namespace: str, name: str) -> bool:
        found = self.jobs.pop(name, None) is not None
        if found:
            self.deleted.append(name)
            for pod in [p for p in self.pods.values() if p["metadata"]["labels"]["job-name"] == name]:
                del self.pods[pod["metadata"]["name"]]
        return found

    def delete_jobs(self, namespace: str, selector: str) -> None:
        for name in [n for n, j in self.jobs.items() if _matches(j["metadata"]["labels"], selector)]:
            self.delete_job(namespace, name)

    # -- CronJobs -----------------------------------------------------------------
    def create_cron_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        cj = {
            **body,
            "metadata": {**body["metadata"], "uid": f"uid-{next(self._uid)}", "resourceVersion": "1"},
        }
        self.cron_jobs[name] = cj
        return cj

    def replace_cron_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_cron_job(namespace, body)

    def get_cron_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cron_jobs.get(name)

    def list_cron_jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return [c for c in self.cron_jobs.values() if _matches(c["metadata"]["labels"], selector)]

    def delete_cron_job(self, namespace: str, name: str) -> bool:
        return self.cron_jobs.pop(name, None) is not None

    # -- pods ---------------------------------------------------------------------
    def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return [p for p in self.pods.values() if _matches(p["metadata"]["labels"], selector)]

    def events(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        return self.job_events.get(name, [])

    def service_account_exists(self, namespace: str, name: str) -> bool | None:
        return None if self.service_accounts is None else name in self.service_accounts

    def delete_pods(self, namespace: str, selector: str, grace_seconds: int | None = None) -> None:
        for name in [n for n, p in self.pods.items() if _matches(p["metadata"]["labels"], selector)]:
            del self.pods[name]

    def pod_log(self, namespace: str, name: str, container: str, tail_lines: int | None = None) -> str:
        return self.logs.get(name, "")

    # -- the "kubelet" --------------------------------------------------------------
    def _advance(self) -> None:
        from zen_core import entrypoint

        for name, job in list(self.jobs.items()):
            if (
                job["status"].get("conditions")
                or job["metadata"]["labels"].get("zen.dev/component") != "step"
            ):
                continue
            pod = next((p for p in self.pods.values() if p["metadata"]["labels"]["job-name"] == name), None)
            if pod is None or pod["status"].get("containerStatuses"):
                continue  # stuck
            command = job["spec"]["template"]["spec"]["containers"][0]["command"]
            argv = command[3:]  # python -m zen_core.entrypoint ...
            step_id = argv[argv.index("--step") + 1]
            attempt = int(argv[argv.index("--attempt") + 1])
            died = self.die.get((step_id, attempt))
            out = io.StringIO()
            if died:
                code = 137
                self.logs[pod["metadata"]["name"]] = f"about to be killed: {step_id}\n"
                # the entrypoint got as far as recording "running" with a start time
                rec = _runs_of(argv).read_step(argv[argv.index("--run-id") + 1], step_id)
                if rec is not None:
                    _runs_of(argv).write_step(rec.model_copy(update={"started_at": 1.0}))
            else:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                    code = entrypoint.main(argv)
                self.logs[pod["metadata"]["name"]] = out.getvalue()
            terminated = {"exitCode": code, "reason": died or ("Completed" if code == 0 else "Error")}
            pod["status"] = {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [{"name": "step", "state": {"terminated": terminated}}],
            }
            cond = (
                {"type": "Complete", "status": "True"}
                if code == 0
                else {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            )
            job["status"] = {"conditions": [cond]}


def _runs_of(argv: list[str]) -> RunStore:
    return RunStore(ArtifactStore(argv[argv.index("--store") + 1]))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def make_plan(store_dir: Path, **config: Any) -> RunPlan:
    cfg = KubernetesOrchestratorConfig.model_validate({"namespace": "zen-test", "image": IMAGE, **config})
    return RunPlan(
        store_url=str(store_dir),
        host_path=str(store_dir),
        namespace=cfg.namespace,
        images={},
        orchestrator_image=IMAGE,
        config=cfg,
    )


def start_run(runs: RunStore, spec: PipelineSpec, run_id: str, **params: Any) -> RunRecord:
    defaults = {k: p.default for k, p in spec.parameters.items()}
    run = RunRecord(
        run_id=run_id, pipeline=spec.name, spec_digest=spec.digest(), parameters={**defaults, **params}
    )
    runs.write_spec(run_id, spec)
    runs.write_run(run)
    return run


@pytest.fixture
def fake_kube() -> FakeKube:
    return FakeKube()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def k8s_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A config dir with a stack (kubernetes orchestrator + shared local store) made active."""
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    plugins.reset()
    store = tmp_path / "store"

    def configure(shared: bool = True, **orchestrator: Any) -> None:
        manager = StackManager()
        manager.register_component(
            "artifact_store", STACK, "local", {"path": str(store), "shared": shared}, replace=True
        )
        manager.register_component(
            "orchestrator", STACK, "kubernetes", {"namespace": "zen-test", **orchestrator}, replace=True
        )
        manager.register_stack(STACK, {"orchestrator": STACK, "artifact_store": STACK}, replace=True)
        manager.set_active(STACK)
        manager.save()

    configure(image=IMAGE, progress="off")
    return SimpleNamespace(
        root=tmp_path,
        store=store,
        runs=RunStore(ArtifactStore(str(store))),
        configure=configure,
        make_plan=make_plan,
        start_run=start_run,
        FakeKube=FakeKube,
    )
