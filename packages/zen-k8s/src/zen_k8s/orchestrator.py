"""The ``kubernetes`` orchestrator: runs each step of a pipeline as a Kubernetes Job.

``cluster`` mode (the default) submits one **orchestrator Job** that walks the DAG
inside the cluster (:mod:`zen_k8s.orchestrator_job`) and creates the step Jobs,
owned by it; the client then waits, showing progress from the step records, or
returns at once (``wait=False``). ``client`` mode runs the same loop
(:class:`zen_k8s.runner.RunLoop`) in the client, for debugging.

Images come from the ``zen_build_images`` hook (zen-docker's builder, or any
plugin's), unless the config names a prebuilt ``image``. The artifact store must
be reachable from every pod: a remote fsspec URL, or a local folder declared
``shared`` that every node has at the same path (mounted into the pods by hostPath).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from zen_core.errors import StackError, ZenError
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.records import FINISHED, RunRecord, RunStore
from zen_core.spec import PipelineSpec

from . import manifests
from .config import KubernetesOrchestratorConfig
from .settings import KubernetesSettings, settings_for_step

if TYPE_CHECKING:
    from zen_core.progress import Progress

    from .client import Kube
    from .plan import RunPlan

#: How long `stop` waits for the run's pods to go away.
STOP_WAIT = 90.0


class KubernetesRunError(ZenError):
    """The orchestrator Job itself failed (not a step): the message says why."""


class KubernetesOrchestrator(Orchestrator):
    flavor = "kubernetes"
    settings_model = KubernetesSettings
    config: KubernetesOrchestratorConfig

    # -- checks before anything is submitted -------------------------------------------
    def validate(self, spec: PipelineSpec) -> None:
        super().validate(spec)
        self.store_location()

    def store_location(self) -> tuple[str, str | None]:
        """``(store URL, host path to mount or None)``; refuses a store pods cannot reach."""
        store = self.stack.artifact_store
        if not store.is_local:
            return str(store.url), None
        if not store.shared:
            name = self.stack.component_model("artifact_store").name
            raise StackError(
                f"the kubernetes orchestrator runs steps in pods, which cannot see the local artifact "
                f"store '{name}' ({store.root}). Use a store every pod can reach: a remote one "
                f"(zen artifact-store register NAME --flavor fsspec -c url=s3://bucket/zen), or, if "
                f"every node has this folder at the same path (a one-node cluster on this machine, a "
                f"network mount), declare it shared: zen artifact-store register {name} --flavor local "
                f"-c path={store.root} -c shared=true --replace"
            )
        return str(store.url), os.path.abspath(store.root)

    # -- connection and images -----------------------------------------------------------
    def kube(self) -> Kube:
        from .client import Kube

        cfg = self.config
        return Kube.connect(kubeconfig=cfg.kubeconfig, context=cfg.context, in_cluster=cfg.in_cluster)

    def images(self, spec: PipelineSpec) -> dict[str, str]:
        """``{step_id: image}``: the config's prebuilt image, else the image builder's."""
        if self.config.image:
            return {s.id: self.config.image for s in spec.steps}
        needed = [s.id for s in spec.steps if not settings_for_step(spec, s.id).image]
        if not needed:
            return {}
        from zen_core.plugins import plugin_manager

        built = plugin_manager().hook.zen_build_images(spec=spec, stack=self.stack)
        if built is None:
            raise StackError(
                "the kubernetes orchestrator needs a container image for each step, and no image "
                "builder is installed: pip install zen-docker (and add a container registry the "
                "cluster can pull from to the stack), or give the orchestrator a prebuilt image "
                "holding zen-core, zen-k8s and your code (-c image=REGISTRY/IMAGE:TAG)"
            )
        missing = [sid for sid in needed if sid not in built]
        if missing:
            raise StackError(f"the image builder returned no image for step(s) {', '.join(missing)}")
        return dict(built)

    def make_plan(
        self,
        spec: PipelineSpec,
        *,
        enable_cache: bool | None,
        schedule: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RunPlan:
        from .plan import RunPlan

        url, host_path = self.store_location()
        if host_path:
            os.makedirs(host_path, exist_ok=True)
        images = self.images(spec)
        cfg = self.config
        orchestrator_image = cfg.orchestrator_image or cfg.image
        if not orchestrator_image:
            firsts = [images[s.id] for s in spec.steps if s.id in images]
            orchestrator_image = firsts[0] if firsts else settings_for_step(spec, spec.steps[0].id).image
        if not orchestrator_image:
            raise StackError("no image for the orchestrator Job: set the orchestrator's orchestrator_image")
        return RunPlan(
            store_url=url,
            host_path=host_path,
            namespace=cfg.namespace,
            images=images,
            orchestrator_image=orchestrator_image,
            config=cfg,
            enable_cache=enable_cache,
            schedule=schedule,
            parameters=dict(parameters or {}),
            stack=self.stack.name,
            orchestrator=self.flavor,
        )

    def compile_native(self, spec: PipelineSpec) -> tuple[str, str]:
        """``zen pipeline compile --flavor kubernetes``: the manifests a run would create.

        The orchestrator Job and each step's first-attempt Job, as YAML, for a run id
        ``RUN_ID``. Images are the config's prebuilt ``image`` or a step's ``image``
        setting; otherwise a placeholder (building happens only when a run is submitted).
        """
        import yaml  # type: ignore[import-untyped, unused-ignore]

        from .plan import RunPlan

        url, host_path = self.store_location()
        placeholder = "IMAGE-BUILT-AT-SUBMISSION"
        cfg = self.config
        images = {s.id: cfg.image or settings_for_step(spec, s.id).image or placeholder for s in spec.steps}
        plan = RunPlan(
            store_url=url,
            host_path=host_path,
            namespace=cfg.namespace,
            images=images,
            orchestrator_image=cfg.orchestrator_image or cfg.image or placeholder,
            config=cfg,
        )
        run_id = "RUN_ID"
        objects = [manifests.orchestrator_job(plan, spec, run_id)]
        objects += [manifests.step_job(plan, spec, run_id, s.id, 1) for s in spec.steps]
        return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects), ".yaml"

    # -- running ---------------------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        from zen_core.progress import make_progress

        from .plan import write_run_plan

        cfg = self.config
        kube = self.kube()  # a bad kubeconfig or a missing account fails before any image is built
        if cfg.mode == "cluster":
            account = cfg.orchestrator_pod.service_account or cfg.service_account
            if kube.service_account_exists(cfg.namespace, account) is False:
                raise StackError(
                    f"the orchestrator Job runs as service account '{account}', which does not exist in "
                    f"namespace '{cfg.namespace}': create it and its Role with `zen k8s rbac --apply` "
                    "(or set the orchestrator's service_account)"
                )
        plan = self.make_plan(request.spec, enable_cache=request.enable_cache)
        if cfg.mode == "client":
            from .runner import RunLoop

            request.run.backend.update({"mode": "client", "namespace": cfg.namespace})
            request.runs.write_run(request.run)
            progress = make_progress(cfg.progress, echo_logs=cfg.echo_logs)
            loop = RunLoop(kube, plan, request.spec, request.runs, request.run_id, progress=progress)
            return loop.run()

        write_run_plan(request.runs.store, request.run_id, plan)
        body = manifests.orchestrator_job(plan, request.spec, request.run_id)
        job_name = body["metadata"]["name"]
        # the run now belongs to the cluster: it goes on whether or not this client does
        request.run.backend.pop("client_pid", None)
        request.run.backend.update(
            {"mode": "cluster", "namespace": cfg.namespace, "orchestrator_job": job_name}
        )
        request.runs.write_run(request.run)
        kube.create_job(cfg.namespace, body)
        if not cfg.wait:
            return "running"
        progress = make_progress(cfg.progress, echo_logs=cfg.echo_logs)
        try:
            return self._wait(kube, request, job_name, progress)
        except KeyboardInterrupt:
            self._stop(kube, request.runs, request.run, "interrupted in the client")
            progress.run_finished("stopped")
            raise

    def _wait(self, kube: Kube, request: RunRequest, job_name: str, progress: Progress) -> str:
        from .status import PodlessTracker, StuckTracker, job_state, last_warning

        cfg, runs, run_id, ns = self.config, request.runs, request.run_id, self.config.namespace
        progress.run_started(run_id, [s.id for s in request.spec.steps])
        seen: dict[str, tuple[str, int]] = {}
        tracker = StuckTracker()
        podless = PodlessTracker()
        timeout = cfg.orchestrator_pod.pending_timeout or cfg.pending_timeout
        interval = 0.5
        gone_since: float | None = None
        while True:
            time.sleep(interval)
            interval = min(interval * 1.5, cfg.poll_interval)
            job = kube.get_job(ns, job_name)
            self._report(runs, run_id, seen, progress)
            run = runs.read_run(run_id)
            if job is None:
                if run.status != "running":
                    return self._finish(progress, run.status)
                # deleted by hand: its pod records "stopped" on SIGTERM; give it the grace period
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since > 40:
                    self._stop(kube, runs, run, "the orchestrator Job was deleted")
                    return self._finish(progress, "stopped")
                continue
            state = job_state(job)
            if state.state == "active":
                pods = kube.list_pods(ns, f"job-name={job_name}")
                waited = podless.check(job_name, bool(pods), time.monotonic(), timeout)
                if waited is not None:
                    why = last_warning(kube.events(ns, "Job", job_name)) or "no event says why"
                    kube.delete_job(ns, job_name)
                    self._stop(kube, runs, run, "the orchestrator Job could not start")
                    progress.run_finished("failed")
                    raise KubernetesRunError(
                        f"orchestrator Job {job_name} could not create its pod for {waited:.0f}s: {why}"
                    )
                for pod in pods:
                    stuck = tracker.check(pod, time.monotonic(), timeout)
                    if stuck is not None:
                        kube.delete_job(ns, job_name)
                        self._stop(kube, runs, run, "the orchestrator Job could not start")
                        progress.run_finished("failed")
                        raise KubernetesRunError(f"orchestrator Job {job_name}: {stuck.describe()}")
                continue
            if run.status != "running":
                self._report(runs, run_id, seen, progress)
                return self._finish(progress, run.status)
            # the orchestrator ended without recording the run's end: it crashed
            detail = f"{state.reason}: {state.message}".strip(": ")
            tail = ""
            pods = kube.list_pods(ns, f"job-name={job_name}")
            if pods:
                tail = kube.pod_log(
                    ns, pods[-1]["metadata"]["name"], manifests.ORCHESTRATOR_CONTAINER, tail_lines=30
                )
            self._stop(kube, runs, run, "the orchestrator Job failed")
            progress.run_finished("failed")
            raise KubernetesRunError(
                f"orchestrator Job {job_name} ended without finishing the run ({detail or state.state})"
                + (f"; its last log lines:\n{tail}" if tail else "")
            )

    @staticmethod
    def _finish(progress: Progress, status: str) -> str:
        progress.run_finished(status)
        return status

    @staticmethod
    def _report(runs: RunStore, run_id: str, seen: dict[str, tuple[str, int]], progress: Progress) -> None:
        """Tell the progress reporter what changed in the step records since last time."""
        for sid, rec in runs.read_steps(run_id).items():
            key = (rec.status, rec.attempt)
            if seen.get(sid) == key:
                continue
            seen[sid] = key
            if rec.status == "running":
                job = rec.backend.get("job", "")
                detail = f"Job {job}" if job else ""
                if rec.attempt > 1:
                    detail += f", attempt {rec.attempt}"
                progress.step(sid, "running", detail=detail)
                continue
            progress.step(
                sid, rec.status, duration=rec.duration, detail=rec.error or rec.skipped_because or ""
            )
            if rec.logs_uri and rec.status in FINISHED and rec.status != "skipped":
                try:
                    for line in runs.read_logs(run_id, sid).splitlines():
                        progress.log(sid, line)
                except ZenError:
                    pass

    # -- stopping --------------------------------------------------------------------------
    def stop(self, run: RunRecord, runs: RunStore) -> None:
        """Stop a run (``zen run stop``): record it stopped, delete its Jobs, close its steps."""
        self._stop(self.kube(), runs, run, "stopped by the user")

    def _stop(self, kube: Kube, runs: RunStore, run: RunRecord, reason: str) -> None:
        from .runner import close_open_steps, delete_step_jobs

        latest = runs.read_run(run.run_id)
        ns = latest.backend.get("namespace") or self.config.namespace
        if latest.status == "running":
            runs.write_run(
                latest.model_copy(update={"status": "stopped", "finished_at": time.time(), "error": reason})
            )
        job = latest.backend.get("orchestrator_job")
        if job:
            kube.delete_job(ns, job)  # SIGTERM to the orchestrator; the step Jobs it owns go too
        delete_step_jobs(kube, ns, run.run_id)
        deadline = time.monotonic() + STOP_WAIT
        selector = manifests.run_selector(run.run_id)
        while time.monotonic() < deadline:
            pods = kube.list_pods(ns, selector)
            if not [p for p in pods if (p.get("status") or {}).get("phase") in ("Pending", "Running")]:
                break
            time.sleep(1.0)
        close_open_steps(runs, run.run_id, runs.read_spec(run.run_id), reason)
