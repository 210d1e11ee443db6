"""The ``kubeflow`` orchestrator: compile to KFP v2 IR, submit with the kfp client, wait.

A run goes like this:

1. The steps' images come from the ``zen_build_images`` hook (zen-docker builds and
   pushes them), or from the config's ``image``.
2. :func:`zen_kubeflow.compiler.compile_pipeline` makes the IR; the artifact store
   URL is baked in, the zen run id is passed as the ``zen_run_id`` argument.
3. The kfp client submits it: as a package with the run, or uploaded first as a
   pipeline version (``submit: upload``). A pipeline with a ``schedule`` setting
   becomes a KFP recurring run instead.
4. Unless ``synchronous`` is off, the client polls the run every ``poll_interval``
   seconds (showing step outcomes from zen's records), up to ``timeout``. When it
   ends, KFP's task states complete zen's records: a task KFP reports failed whose
   step recorded nothing (its pod never started, it ran out of memory) gets a
   failed record carrying KFP's error; steps that never ran are recorded skipped.
   The run's status is zen's view of its steps.

``stop`` terminates the KFP run (and disables a recurring run). With ``local: true``
nothing is submitted: the IR runs on this machine under kfp.local's DockerRunner
(:mod:`zen_kubeflow.local_runner`), in a child process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from zen_core.errors import PipelineDefinitionError, StackError, ZenError
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.spec import PipelineSpec

from .compiler import CompiledPipeline, compile_pipeline
from .config import KubeflowOrchestratorConfig
from .launcher import RESERVED_INPUTS, RUN_ID_INPUT, STATUS_INPUT, finalize_records
from .settings import SETTINGS_KEY, KubeflowSettings, PvcMount, merged_settings

#: KFP run states after which nothing changes any more.
FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"})


def _say(message: str) -> None:
    print(f"zen: {message}", file=sys.stderr, flush=True)


class KubeflowOrchestrator(Orchestrator):
    flavor = "kubeflow"
    settings_model = KubeflowSettings
    config: KubeflowOrchestratorConfig

    # -- validation and compiling ------------------------------------------------
    def validate(self, spec: PipelineSpec) -> None:
        super().validate(spec)
        for step in spec.steps:
            if "schedule" in step.settings.get(SETTINGS_KEY, {}):
                raise PipelineDefinitionError(
                    f"pipeline '{spec.name}', step '{step.id}': 'schedule' is a pipeline-level "
                    f"'{SETTINGS_KEY}' setting"
                )
        for name in spec.parameters:
            if name in RESERVED_INPUTS or name == STATUS_INPUT:
                raise PipelineDefinitionError(
                    f"pipeline '{spec.name}': parameter name '{name}' is reserved by the kubeflow flavor"
                )
        store = self.stack.artifact_store
        if store.is_local and not store.shared:
            raise StackError(
                f"the kubeflow orchestrator '{self.name}' runs steps in containers, which cannot see "
                f"the local artifact store {store.url}: use an fsspec store they reach (gs://, s3://, "
                "...), or declare a local store shared (shared: true) when it is mounted at the same "
                "path everywhere (store_pvc on a cluster; local mode mounts it itself)"
            )

    def images(self, spec: PipelineSpec) -> dict[str, str]:
        """``{step_id: image}``: the config's image, else the image builder plugin's."""
        if self.config.image:
            return {s.id: self.config.image for s in spec.steps}
        from zen_core.plugins import plugin_manager

        built = plugin_manager().hook.zen_build_images(spec=spec, stack=self.stack)
        if not built:
            raise StackError(
                f"no image for the steps of pipeline '{spec.name}': install an image builder "
                "(pip install zen-docker) or set the kubeflow orchestrator's 'image'"
            )
        return dict(built)

    def base_settings(self, store: Any) -> KubeflowSettings:
        """What every container gets under its own settings: env, the shared store's volume."""
        values: dict[str, Any] = {}
        if self.config.environment:
            values["env"] = dict(self.config.environment)
        if self.config.store_pvc and store.is_local:
            values["pvc_mounts"] = [PvcMount(pvc_name=self.config.store_pvc, mount_path=store.root)]
        return KubeflowSettings.model_validate(values)

    def compile(self, spec: PipelineSpec, store: Any | None = None) -> CompiledPipeline:
        """Compile ``spec`` for this orchestrator's stack (builds the images if needed)."""
        store = store if store is not None else self.stack.artifact_store
        return compile_pipeline(
            spec,
            self.images(spec),
            store_url=store.url,
            base_settings=self.base_settings(store),
            python=self.config.python,
        )

    def compile_native(self, spec: PipelineSpec) -> tuple[str, str]:
        self.validate(spec)
        return self.compile(spec).to_yaml(), ".yaml"

    # -- running -----------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        compiled = self.compile(request.spec, request.runs.store)
        with tempfile.TemporaryDirectory(prefix="zen-kfp-") as tmp:
            package = compiled.write(Path(tmp) / "pipeline.yaml")
            if self.config.local:
                return self._run_local(request, package, Path(tmp))
            return self._run_remote(request, compiled, package)

    def _arguments(self, request: RunRequest, *, with_run_id: bool = True) -> dict[str, Any]:
        args = dict(request.parameters)
        if with_run_id:
            args[RUN_ID_INPUT] = request.run_id
        return args

    def _remember(self, request: RunRequest, **backend: Any) -> None:
        # request.run is the record the client finalizes: keep the ids on it
        request.run.backend.update({k: v for k, v in backend.items() if v is not None})
        request.runs.write_run(request.run)

    # ---- remote: the kfp client
    def client(self) -> Any:
        """A ``kfp.Client`` for the configured endpoint and credentials."""
        import kfp  # type: ignore[import-untyped]

        cfg = self.config
        token = None
        credentials = None
        if cfg.token_env:
            token = os.environ.get(cfg.token_env)
            if not token:
                raise StackError(
                    f"kubeflow orchestrator '{self.name}': environment variable {cfg.token_env} "
                    "(token_env) is not set"
                )
        if cfg.credentials:
            from zen_core.sources import load_source

            made = load_source(cfg.credentials)()
            if isinstance(made, str):
                token = made
            else:
                credentials = made
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)
            return kfp.Client(
                host=cfg.host,
                namespace=cfg.namespace or "kubeflow",
                existing_token=token,
                credentials=credentials,
                ssl_ca_cert=cfg.ssl_ca_cert,
                verify_ssl=cfg.verify_ssl,
            )

    def _experiment_id(self, client: Any, compiled: CompiledPipeline) -> str:
        name = self.config.experiment or compiled.name
        with contextlib.redirect_stdout(io.StringIO()):
            experiment = client.create_experiment(name=name, namespace=self.config.namespace)
        return str(experiment.experiment_id)

    def _upload(self, client: Any, compiled: CompiledPipeline, package: Path) -> tuple[str, str]:
        """The (pipeline id, version id) of this exact package, uploading it if new."""
        import hashlib

        version_name = f"{compiled.name}-{hashlib.sha256(package.read_bytes()).hexdigest()[:12]}"
        with contextlib.redirect_stdout(io.StringIO()):
            pipeline_id = client.get_pipeline_id(compiled.name)
            if pipeline_id is None:
                pipeline = client.upload_pipeline(
                    str(package), pipeline_name=compiled.name, namespace=self.config.namespace
                )
                # its first version is named like the pipeline; zen's versions are named by content
                pipeline_id = pipeline.pipeline_id
            versions = client.list_pipeline_versions(pipeline_id, page_size=200).pipeline_versions or []
            for v in versions:
                if v.display_name == version_name:
                    return str(pipeline_id), str(v.pipeline_version_id)
            version = client.upload_pipeline_version(
                str(package), pipeline_version_name=version_name, pipeline_id=pipeline_id
            )
        return str(pipeline_id), str(version.pipeline_version_id)

    def _run_remote(self, request: RunRequest, compiled: CompiledPipeline, package: Path) -> str:
        cfg = self.config
        client = self.client()
        experiment_id = self._experiment_id(client, compiled)
        source: dict[str, Any] = {"pipeline_package_path": str(package)}
        if cfg.submit == "upload":
            pipeline_id, version_id = self._upload(client, compiled, package)
            source = {"pipeline_id": pipeline_id, "version_id": version_id}
        schedule = merged_settings(request.spec).schedule
        if schedule is not None:
            with contextlib.redirect_stdout(io.StringIO()):
                recurring = client.create_recurring_run(
                    experiment_id=experiment_id,
                    job_name=schedule.name or compiled.name,
                    description=f"zen pipeline {request.spec.name}",
                    start_time=schedule.start_time,
                    end_time=schedule.end_time,
                    interval_second=schedule.interval_seconds,
                    cron_expression=schedule.cron,
                    max_concurrency=schedule.max_concurrency,
                    no_catchup=not schedule.catchup,
                    params=self._arguments(request, with_run_id=False),
                    enable_caching=False,
                    service_account=cfg.service_account,
                    **source,
                )
            self._remember(
                request,
                kfp_host=cfg.host,
                kfp_experiment_id=experiment_id,
                kfp_recurring_run_id=recurring.recurring_run_id,
            )
            _say(
                f"created KFP recurring run {recurring.recurring_run_id}; each run it starts is recorded "
                f"as a zen run of its own. Stop the schedule with: zen run stop {request.run_id}"
            )
            return "running"
        with contextlib.redirect_stdout(io.StringIO()):
            kfp_run = client.run_pipeline(
                experiment_id=experiment_id,
                job_name=request.run_id,
                params=self._arguments(request),
                enable_caching=False if "pipeline_package_path" in source else None,
                service_account=cfg.service_account,
                **source,
            )
        kfp_run_id = str(kfp_run.run_id)
        self._remember(request, kfp_host=cfg.host, kfp_experiment_id=experiment_id, kfp_run_id=kfp_run_id)
        _say(f"submitted KFP run {kfp_run_id} (run {request.run_id})")
        if not cfg.synchronous:
            return "running"
        return self._wait_remote(request, client, kfp_run_id)

    def _wait_remote(self, request: RunRequest, client: Any, kfp_run_id: str) -> str:
        cfg = self.config
        deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
        seen: dict[str, str] = {}
        try:
            while True:
                kfp_run = client.get_run(kfp_run_id)
                state = str(kfp_run.state or "").upper()
                self._echo_progress(request, seen)
                if state in FINAL_STATES:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    _say(
                        f"stopped waiting after {cfg.timeout:g}s; KFP run {kfp_run_id} goes on "
                        f"(follow it with: zen run show {request.run_id})"
                    )
                    return "running"
                time.sleep(cfg.poll_interval)
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                client.terminate_run(kfp_run_id)
            finalize_records(request.runs, request.spec, request.run_id, "CANCELED")
            raise
        return self._conclude(request, state, kfp_run, seen)

    def _echo_progress(self, request: RunRequest, seen: dict[str, str]) -> None:
        if not self.config.echo_logs:
            return
        for sid, rec in request.runs.read_steps(request.run_id).items():
            if rec.status != "running" and seen.get(sid) != rec.status:
                seen[sid] = rec.status
                detail = f": {rec.error}" if rec.error else ""
                _say(f"step '{sid}' {rec.status}{detail}")

    def _conclude(self, request: RunRequest, state: str, kfp_run: Any, seen: dict[str, str]) -> str:
        """Complete zen's records from KFP's view of the run; return the zen status."""
        runs, spec = request.runs, request.spec
        by_name = {s.id: s.id for s in spec.steps}
        details = getattr(getattr(kfp_run, "run_details", None), "task_details", None) or []
        for task in details:
            sid = by_name.get(str(getattr(task, "display_name", "") or ""))
            if sid is None or str(getattr(task, "state", "") or "").upper() != "FAILED":
                continue
            rec = runs.read_step(request.run_id, sid)
            if rec is not None and rec.status in ("failed", "completed", "cached"):
                continue
            message = str(getattr(getattr(task, "error", None), "message", "") or "KFP reports it failed")
            runs.write_step(
                StepRecord(
                    run_id=request.run_id,
                    step_id=sid,
                    status="failed",
                    attempt=rec.attempt if rec else 1,
                    started_at=rec.started_at if rec else None,
                    finished_at=time.time(),
                    error=f"KFP task failed: {message}",
                    backend={"kfp_task_id": str(getattr(task, "task_id", "") or "")},
                )
            )
        error = str(getattr(getattr(kfp_run, "error", None), "message", "") or "")
        outcome = finalize_records(runs, spec, request.run_id, state, error)
        if error and outcome != "completed":
            request.run.error = error
        self._echo_progress(request, seen)
        return outcome

    # ---- local: kfp.local in a child process
    def _run_local(self, request: RunRequest, package: Path, tmp: Path) -> str:
        cfg = self.config
        store = request.runs.store
        result = tmp / "result.json"
        cmd = [
            sys.executable,
            "-m",
            "zen_kubeflow.local_runner",
            str(package),
            "--result",
            str(result),
            "--arguments",
            json.dumps(self._arguments(request)),
            "--pipeline-root",
            str(tmp / "root"),
            "--label",
            f"zen.kubeflow.run={request.run_id}",
        ]
        if store.is_local:
            cmd += ["--mount", store.root]
        if cfg.local_network_mode:
            cmd += ["--network-mode", cfg.local_network_mode]
        out = None if cfg.echo_logs else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
        self._remember(request, kfp_local_pid=proc.pid, kfp_local_host=os.uname().nodename)
        if not cfg.synchronous:
            _say(f"started the local KFP executor (pid {proc.pid}) for run {request.run_id}")
            return "running"
        deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
        try:
            while proc.poll() is None:
                if deadline is not None and time.monotonic() >= deadline:
                    _say(
                        f"stopped waiting after {cfg.timeout:g}s; the local executor (pid {proc.pid}) goes on"
                    )
                    return "running"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(cfg.poll_interval, 1.0))
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
            finalize_records(request.runs, request.spec, request.run_id, "CANCELED")
            raise
        try:
            outcome = json.loads(result.read_text())
        except (OSError, ValueError):
            outcome = {"state": "FAILED", "error": f"the local executor exited with code {proc.returncode}"}
        state = str(outcome.get("state", "FAILED"))
        status = finalize_records(
            request.runs, request.spec, request.run_id, state, str(outcome.get("error", ""))
        )
        if status != "completed" and outcome.get("error"):
            request.run.error = str(outcome["error"])
        return status

    # -- stopping ------------------------------------------------------------------
    def stop(self, run: RunRecord, runs: RunStore) -> None:
        backend = run.backend
        if "kfp_local_pid" in backend:
            if backend.get("kfp_local_host") != os.uname().nodename:
                raise ZenError(f"run '{run.run_id}' runs under kfp.local on {backend.get('kfp_local_host')}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(backend["kfp_local_pid"]), signal.SIGTERM)
        elif "kfp_recurring_run_id" in backend or "kfp_run_id" in backend:
            client = self.client()
            if "kfp_recurring_run_id" in backend:
                client.disable_recurring_run(backend["kfp_recurring_run_id"])
            if "kfp_run_id" in backend:
                client.terminate_run(backend["kfp_run_id"])
        else:
            raise ZenError(f"run '{run.run_id}' has no KFP run recorded: nothing to stop")
        with contextlib.suppress(ZenError, OSError):
            finalize_records(runs, runs.read_spec(run.run_id), run.run_id, "CANCELED")
