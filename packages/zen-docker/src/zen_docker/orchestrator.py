"""The ``local_docker`` orchestrator: every step in its own container on the local engine.

Images come from the ``zen_build_images`` hook (zen-docker's builder by default),
so what runs here is exactly what a cluster would run. The DAG is walked on the
client with :class:`zen_core.dag.DagScheduler`: a step's container starts once all
of its upstream steps succeeded, up to ``max_parallelism`` at once. Each container
runs the universal entrypoint (``python -m zen_core.entrypoint``), which records
the step's outcome, outputs and logs in the artifact store.

A local artifact store is bind-mounted at the same absolute path inside every
container, so the URIs in the records are valid on both sides; any other store
(``gs://``, ``s3://``) is passed by URL and reached by the container itself. A
container that exits without recording an outcome (killed, out of memory, a
broken image) becomes a failed step record carrying the exit code and the end of
the container's output. Retries follow each step's ``retry`` policy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from typing import Any

from zen_core.errors import StackError
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.progress import Progress, make_progress
from zen_core.records import RunRecord, RunStore, StepRecord
from zen_core.spec import PipelineSpec
from zen_core.walk import walk_dag

from .config import LocalDockerOrchestratorConfig
from .settings import validate_spec_settings

LABEL_RUN = "zen.run_id"
LABEL_STEP = "zen.step_id"
_EXIT_MEANING = {
    2: "bad entrypoint arguments or missing run",
    125: "the engine could not run the container",
    126: "the command could not be executed",
    127: "python not found in the image",
    137: "killed (SIGKILL: out of memory, timeout or stop)",
    139: "segmentation fault",
    143: "terminated (SIGTERM)",
}
_TAIL = 40


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def build_images(spec: PipelineSpec, stack: Any) -> dict[str, str]:
    """Images for every step, from whichever ``zen_build_images`` implementation answers first."""
    from zen_core.plugins import plugin_manager

    images: dict[str, str] | None = plugin_manager().hook.zen_build_images(spec=spec, stack=stack)
    if images is None:
        raise StackError(
            f"no image builder answered for stack '{getattr(stack, 'name', '?')}': its image builder "
            "flavor has no build_images() and no installed plugin implements zen_build_images"
        )
    missing = [s.id for s in spec.steps if s.id not in images]
    if missing:
        raise StackError(f"the image builder returned no image for step(s) {', '.join(missing)}")
    return images


class LocalDockerOrchestrator(Orchestrator):
    flavor = "local_docker"
    config: LocalDockerOrchestratorConfig

    def __init__(self, name: str, config: Any, stack: Any) -> None:
        super().__init__(name, config, stack)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from .builder import docker_client

            self._client = docker_client(max_pool_size=self.config.max_parallelism + 4)
        return self._client

    def validate(self, spec: PipelineSpec) -> None:
        super().validate(spec)
        validate_spec_settings(spec)

    # -- the run ---------------------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        cfg = self.config
        spec, runs = request.spec, request.runs
        if runs.store.url.startswith("memory://"):
            raise StackError(
                "the local_docker orchestrator needs an artifact store its containers can reach: "
                f"a local folder (mounted into each container) or a remote URL, not {runs.store.url}"
            )
        images = build_images(spec, self.stack)
        self.client  # noqa: B018 - fail before any step starts when there is no engine
        progress = make_progress(cfg.progress, echo_logs=cfg.echo_logs)
        return walk_dag(
            request,
            lambda sid: self._attempts(request, sid, images[sid], progress),
            max_parallelism=cfg.max_parallelism,
            progress=progress,
            fail_fast=cfg.fail_fast,
            on_interrupt=lambda: self._remove_run_containers(request.run_id),
        )

    def stop(self, run: RunRecord, runs: RunStore) -> None:
        """Interrupt the client running ``run`` (as Ctrl-C does), then remove its containers.

        The client stops starting steps and removes the run's containers itself; whatever
        is left (a client that is gone, or slow to stop) is removed here.
        """
        pid, host = run.backend.get("client_pid"), run.backend.get("client_host")
        if isinstance(pid, int) and host == socket.gethostname() and pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and _alive(pid):
                    time.sleep(0.1)
        self._remove_run_containers(run.run_id)

    def _remove_run_containers(self, run_id: str) -> None:
        import docker.errors  # type: ignore[import-untyped]

        try:
            containers = self.client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
        except docker.errors.DockerException:
            return
        for container in containers:
            with contextlib.suppress(docker.errors.DockerException):  # already gone
                container.remove(force=True)

    # -- one step, with retries ------------------------------------------------------------
    def _attempts(self, request: RunRequest, step_id: str, image: str, progress: Progress) -> StepRecord:
        step = request.spec.step(step_id)
        attempt = 1
        while True:
            record = self._run_container(request, step_id, attempt, image, progress)
            if record.status != "failed" or attempt > step.retry.max_retries:
                return record
            delay = step.retry.wait_before(attempt + 1)
            progress.step(
                step_id, "retrying", detail=f"attempt {attempt} failed ({record.error}); retry in {delay:g}s"
            )
            time.sleep(delay)
            attempt += 1

    def command(self, request: RunRequest, step_id: str, attempt: int) -> list[str]:
        cmd = [
            "python",
            "-m",
            "zen_core.entrypoint",
            "--store",
            request.store_url,
            "--run-id",
            request.run_id,
        ]
        cmd += ["--step", step_id, "--attempt", str(attempt)]
        if request.enable_cache is False:
            cmd.append("--no-cache")
        return cmd

    def container_options(self, request: RunRequest, step_id: str, attempt: int) -> dict[str, Any]:
        cfg = self.config
        store = request.runs.store
        volumes: dict[str, dict[str, str]] = {}
        if store.is_local:
            root = os.path.abspath(store.root)
            os.makedirs(root, exist_ok=True)
            volumes[root] = {"bind": root, "mode": "rw"}
        env = {k: os.environ[k] for k in cfg.forward_env if k in os.environ}
        env.update(cfg.environment)
        env["ZEN_STEP_ATTEMPT"] = str(attempt)
        options: dict[str, Any] = {
            "detach": True,
            "volumes": volumes,
            "environment": env,
            "labels": {LABEL_RUN: request.run_id, LABEL_STEP: step_id},
        }
        if cfg.user:
            options["user"] = f"{os.getuid()}:{os.getgid()}" if cfg.user == "host" else cfg.user
        if cfg.network_mode:
            options["network_mode"] = cfg.network_mode
        return options

    def _run_container(
        self, request: RunRequest, step_id: str, attempt: int, image: str, progress: Progress
    ) -> StepRecord:
        import docker.errors  # type: ignore[import-untyped]
        import requests.exceptions  # type: ignore[import-untyped]

        runs = request.runs
        progress.step(step_id, "running")
        started = time.time()
        exit_code: int | None = None
        output = ""
        problem = ""
        container = None
        try:
            container = self.client.containers.run(
                image,
                self.command(request, step_id, attempt),
                **self.container_options(request, step_id, attempt),
            )
            try:
                result = container.wait(timeout=self.config.step_timeout)
                exit_code = int(result.get("StatusCode", -1))
                if result.get("Error"):
                    problem = str(result["Error"].get("Message") or result["Error"])
            except requests.exceptions.RequestException:  # no answer within step_timeout
                if self.config.step_timeout is None:
                    raise
                container.kill()
                problem = f"timed out after {self.config.step_timeout:g}s and was killed"
            try:
                output = container.logs(stdout=True, stderr=True).decode(errors="replace")
            except docker.errors.DockerException:
                output = ""
            if exit_code not in (None, 0):
                container.reload()
                if container.attrs.get("State", {}).get("OOMKilled"):
                    problem = "killed: out of memory"
        except docker.errors.DockerException as exc:
            problem = (
                f"could not run the step container from {image}: {getattr(exc, 'explanation', None) or exc}"
            )
        finally:
            if container is not None and self.config.remove_containers:
                with contextlib.suppress(docker.errors.DockerException):
                    container.remove(force=True)

        record = runs.read_step(request.run_id, step_id)
        recorded = record is not None and record.attempt == attempt and record.status != "running"
        if record is not None and recorded and (exit_code == 0 or record.status == "failed"):
            if record.logs_uri and self.config.echo_logs:
                for line in runs.read_logs(request.run_id, step_id).splitlines():
                    progress.log(step_id, line)
            return record
        # the container ended without recording an outcome: record one from what we saw
        lines = output.strip().splitlines()
        tail = "\n".join(lines[-_TAIL:])
        if exit_code is not None and not problem:
            meaning = _EXIT_MEANING.get(exit_code)
            problem = f"step container exited with code {exit_code}" + (f" ({meaning})" if meaning else "")
        elif exit_code is not None:
            problem = f"step container exited with code {exit_code}: {problem}"
        if output:
            runs.store.write_text(runs.logs_key(request.run_id, step_id), output)
        failed = StepRecord(
            run_id=request.run_id,
            step_id=step_id,
            status="failed",
            attempt=attempt,
            started_at=record.started_at if record and record.attempt == attempt else started,
            finished_at=time.time(),
            error=problem or "step container ended without recording an outcome",
            traceback=tail or None,
            logs_uri=runs.store.uri(runs.logs_key(request.run_id, step_id)) if output else None,
            backend={"image": image, "exit_code": exit_code},
        )
        runs.write_step(failed)
        for line in lines[-_TAIL:]:
            progress.log(step_id, line)
        return failed
