"""The ``airflow`` orchestrator: a pipeline becomes an Airflow DAG, run by Airflow.

For every run the orchestrator writes the DAG files (see :mod:`zen_airflow.generate`)
into the DAGs folder, then

* in ``local`` mode runs one DAG run with Airflow's own test runner
  (``DAG.test()``), in a fresh Python process or in this one;
* in ``rest`` mode waits until the deployment has parsed this version of the DAG,
  triggers a run through the REST API (the Airflow run id is the zen run id) and
  waits for it to end, or detaches.

The zen run id travels in the DAG run's conf, the pipeline parameters as DAG
params. Steps write their own records through the universal entrypoint; once
Airflow is done, the orchestrator records what Airflow decided without running
a step: steps skipped because an upstream step failed, and tasks that ended
without the step recording a result (a container that never started, a
timeout).
"""

# mypy: ignore-missing-imports
# (Airflow is imported only where it is installed: inside Airflow, or for a local run)

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from typing import Any

from zen_core.dag import DagScheduler
from zen_core.errors import StackError, ZenError
from zen_core.orchestrator import Orchestrator, RunRequest
from zen_core.progress import Progress, make_progress
from zen_core.records import FINISHED, RunRecord, RunStore, StepRecord
from zen_core.spec import PipelineSpec

from .config import AirflowOrchestratorConfig, AirflowSettings
from .dagfile import RUN_ID_CONF_KEY
from .generate import (
    DagFiles,
    build_dag_files,
    definition_hash,
    needs_image,
    pipeline_settings,
    step_settings,
    write_dag_files,
)
from .rest import AirflowApi

#: Airflow task states after which the task will not run again in this DAG run.
_RUN_OVER = frozenset({"success", "failed"})


class AirflowOrchestrator(Orchestrator):
    flavor = "airflow"
    settings_model = AirflowSettings
    config: AirflowOrchestratorConfig

    # -- checks and generation -------------------------------------------------------
    def validate(self, spec: PipelineSpec) -> None:
        """Every settings scope, the parameters and the artifact store, before anything is written."""
        super().validate(spec)  # importable step code, each settings scope on its own
        pipeline_settings(spec)
        settings = {s.id: step_settings(spec, s, self.config.step_defaults) for s in spec.steps}
        build_dag_files(spec, self.config, store_url="", spec_uri=None)  # parameter rules
        if self.stack is not None:
            self._check_store(spec, settings)

    def step_settings(self, spec: PipelineSpec, step_id: str) -> AirflowSettings:
        """A step's effective settings (see :func:`zen_airflow.generate.step_settings`)."""
        return step_settings(spec, spec.step(step_id), self.config.step_defaults)

    def _check_store(self, spec: PipelineSpec, settings: Mapping[str, AirflowSettings]) -> None:
        store = self.stack.artifact_store
        if not store.is_local or store.shared:
            return
        where = None
        if self.config.mode == "rest":
            where = "the Airflow deployment's workers"
        elif any(s.operator == "kubernetes_pod" for s in settings.values()):
            where = "Kubernetes pods"
        if where:
            raise StackError(
                f"pipeline '{spec.name}': the artifact store {store.url} is a folder on this machine, "
                f"which {where} cannot reach. Use a store every step can reach (an fsspec URL such "
                "as s3://bucket/zen), or declare the folder shared (shared=true) if they see it at "
                "the same path."
            )

    def dags_folder(self) -> str:
        """Where DAG files go: the config, else Airflow's own DAGs folder setting."""
        if self.config.dags_folder:
            folder = self.config.dags_folder
        elif os.environ.get("AIRFLOW__CORE__DAGS_FOLDER"):
            folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
        else:
            home = self.config.airflow_home or os.environ.get("AIRFLOW_HOME") or "~/airflow"
            folder = os.path.join(home, "dags")
        if "://" in folder and not folder.startswith("file://"):
            return folder
        return os.path.abspath(os.path.expanduser(folder))

    def dag_files(self, spec: PipelineSpec, *, build_images: bool = True) -> DagFiles:
        """Generate the DAG files of ``spec`` (building images when steps need them)."""
        store = self.stack.artifact_store
        needs = [s.id for s in spec.steps if needs_image(step_settings(spec, s, self.config.step_defaults))]
        images = self._build_images(spec) if needs and build_images else None
        spec_uri = None
        if needs:
            key = store.key("airflow", "specs", f"{spec.digest()}.json")
            if build_images:
                store.write_text(key, spec.to_json())
            spec_uri = store.uri(key)
        source_root = self.config.source_root or (os.getcwd() if self.config.mode == "local" else None)
        return build_dag_files(
            spec,
            self.config,
            store_url=store.url,
            spec_uri=spec_uri,
            local_store=store.root if store.is_local else None,
            images=images,
            source_root=source_root,
        )

    def compile_native(self, spec: PipelineSpec) -> tuple[str, str]:
        """The DAG's JSON definition (``zen pipeline compile --flavor airflow``); builds no image."""
        return self.dag_files(spec, build_images=False).definition_json, ".json"

    def deploy(self, spec: PipelineSpec) -> tuple[DagFiles, list[str]]:
        """Write the DAG files of ``spec`` into the DAGs folder; returns them and the paths written."""
        self.validate(spec)
        files = self.dag_files(spec)
        return files, write_dag_files(files, self.dags_folder())

    def _build_images(self, spec: PipelineSpec) -> dict[str, str]:
        from zen_core.plugins import plugin_manager

        images = plugin_manager().hook.zen_build_images(spec=spec, stack=self.stack)
        if images is None:
            raise StackError(
                f"pipeline '{spec.name}' has steps that run in containers (operator docker, "
                "kubernetes_pod or an image_kwarg), but no image builder is installed: install "
                "zen-docker (pip install zen-docker) or another plugin implementing zen_build_images"
            )
        return dict(images)

    # -- running -----------------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        files, paths = self.deploy(request.spec)
        conf = {**request.parameters, RUN_ID_CONF_KEY: request.run_id}
        info: dict[str, Any] = {"mode": self.config.mode, "dag_id": files.dag_id, "dag_file": paths[-1]}
        # the same object run_pipeline finalizes, so this survives into the final record
        request.run.backend["airflow"] = info
        request.runs.write_run(request.run)
        progress = make_progress(self.config.progress, echo_logs=False)
        progress.run_started(request.run_id, [s.id for s in request.spec.steps])
        if self.config.mode == "rest":
            return self._run_rest(request, files, conf, info, progress)
        watcher = _Watcher(request.runs, request.run_id, progress, files, interval=0.5)
        try:
            result = self._run_local(request, files, paths[-1], conf, info)
        except BaseException:
            watcher.stop()
            progress.run_finished("failed")
            raise
        watcher.stop()
        info["airflow_run_id"] = result["run_id"]
        states = {tid: t["state"] for tid, t in result["tasks"].items()}
        return self._reconcile(request, files, states, progress, watcher.seen)

    # local mode ---------------------------------------------------------------------
    def _airflow_env(self) -> dict[str, str]:
        env = {"AIRFLOW__CORE__DAGS_FOLDER": self.dags_folder()}
        if self.config.airflow_home:
            env["AIRFLOW_HOME"] = os.path.abspath(os.path.expanduser(self.config.airflow_home))
        if "AIRFLOW__CORE__LOAD_EXAMPLES" not in os.environ:
            env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        return env

    def _run_local(
        self, request: RunRequest, files: DagFiles, dag_file: str, conf: dict[str, Any], info: dict[str, Any]
    ) -> dict[str, Any]:
        if "://" in dag_file:
            raise StackError("local mode runs DAGs on this machine: dags_folder must be a local folder")
        if self.config.local_runner == "in_process":
            return self._run_in_process(files, dag_file, conf)
        return self._run_subprocess(request, files, dag_file, conf, info)

    def _run_in_process(self, files: DagFiles, dag_file: str, conf: dict[str, Any]) -> dict[str, Any]:
        env = self._airflow_env()
        if sys.modules.get("airflow") is not None:
            from airflow.configuration import conf as airflow_conf

            configured = os.path.realpath(os.path.expanduser(airflow_conf.get("core", "dags_folder")))
            if configured != os.path.realpath(env["AIRFLOW__CORE__DAGS_FOLDER"]):
                raise StackError(
                    f"Airflow is already loaded in this process with DAGs folder {configured}; the "
                    f"in_process runner needs {env['AIRFLOW__CORE__DAGS_FOLDER']}. Use the subprocess "
                    "runner, or point dags_folder at Airflow's."
                )
        else:
            os.environ.update(env)  # read by Airflow when it is first imported, just below
        from .local_runner import LocalRunError, run_dag

        try:
            return run_dag(dag_file, files.dag_id, conf, migrate=self.config.migrate_db)
        except LocalRunError as exc:
            raise ZenError(str(exc)) from None
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] != "airflow":
                raise
            raise StackError(_NO_AIRFLOW.format(exc=exc)) from None

    def _run_subprocess(
        self, request: RunRequest, files: DagFiles, dag_file: str, conf: dict[str, Any], info: dict[str, Any]
    ) -> dict[str, Any]:
        from . import local_runner

        python = self.config.airflow_python or sys.executable
        store = request.runs.store
        log_key = store.key("runs", request.run_id, "airflow-local.log")
        info["runner_log"] = store.uri(log_key)
        env = {**os.environ, **self._airflow_env(), "PYTHONUNBUFFERED": "1"}
        with tempfile.TemporaryDirectory(prefix="zen-airflow-") as tmp:
            result_path = os.path.join(tmp, "result.json")
            log_path = os.path.join(tmp, "airflow.log")
            argv = [python, local_runner.__file__, "--dag-file", dag_file, "--dag-id", files.dag_id]
            argv += ["--conf", json.dumps(conf), "--result", result_path]
            if not self.config.migrate_db:
                argv.append("--no-migrate")
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
                try:
                    code = proc.wait(timeout=self.config.timeout)
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    code = None
                except BaseException:
                    _kill_group(proc)
                    raise
                finally:
                    with open(log_path, "rb") as f:
                        store.write_bytes(log_key, f.read())
            if code is None:
                raise ZenError(
                    f"the Airflow run of DAG '{files.dag_id}' took longer than the timeout "
                    f"({self.config.timeout:g}s) and was stopped; Airflow's log: {info['runner_log']}"
                )
            result: dict[str, Any] = {}
            with contextlib.suppress(OSError, ValueError), open(result_path, encoding="utf-8") as f:
                result = json.load(f)
            if "tasks" in result:
                return result
            if "No module named 'airflow'" in result.get("error", "") or _no_airflow(log_path):
                raise StackError(_NO_AIRFLOW.format(exc=f"{python} cannot import airflow"))
            reason = result.get("error") or f"the runner exited with code {code}"
            raise ZenError(
                f"Airflow could not run DAG '{files.dag_id}': {reason}\nAirflow's log: {info['runner_log']}"
            )

    # rest mode ----------------------------------------------------------------------
    def api(self) -> AirflowApi:
        cfg = self.config
        assert cfg.api_url is not None  # the config requires it in rest mode
        return AirflowApi(
            cfg.api_url,
            token=os.environ.get(cfg.token_env) or None,
            username=os.environ.get(cfg.username_env) or None,
            password=os.environ.get(cfg.password_env),
            verify_tls=cfg.verify_tls,
        )

    def wait_until_parsed(self, api: AirflowApi, files: DagFiles) -> dict[str, Any]:
        """Wait for the deployment to know this version of the DAG (its description quotes the hash)."""
        marker = definition_hash(files.definition)
        deadline = time.monotonic() + self.config.parse_timeout
        while True:
            dag = api.get_dag(files.dag_id)
            if dag is not None and marker in (dag.get("description") or ""):
                return dag
            if time.monotonic() > deadline:
                seen = "does not know the DAG" if dag is None else "still has an older version of the DAG"
                raise ZenError(
                    f"after {self.config.parse_timeout:g}s Airflow at {api.base_url} {seen} "
                    f"'{files.dag_id}' (definition {marker}); check that its DAGs folder is "
                    f"{self.dags_folder()} and look for import errors in the Airflow UI"
                )
            time.sleep(min(self.config.poll_interval, 2.0))

    def _run_rest(
        self,
        request: RunRequest,
        files: DagFiles,
        conf: dict[str, Any],
        info: dict[str, Any],
        progress: Progress,
    ) -> str:
        api = self.api()
        dag = self.wait_until_parsed(api, files)
        if self.config.unpause and dag.get("is_paused"):
            api.set_paused(files.dag_id, False)
        api.trigger(files.dag_id, request.run_id, conf)
        info["airflow_run_id"] = request.run_id
        request.runs.write_run(request.run)
        if not self.config.wait:
            progress.run_finished("running")
            return "running"
        watcher = _Watcher(request.runs, request.run_id, progress, files, interval=self.config.poll_interval)
        deadline = None if self.config.timeout is None else time.monotonic() + self.config.timeout
        try:
            while True:
                state = api.dag_run(files.dag_id, request.run_id).get("state")
                if state in _RUN_OVER:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    api.set_run_state(files.dag_id, request.run_id, "failed")
                    raise ZenError(
                        f"the Airflow run {request.run_id} of DAG '{files.dag_id}' took longer than the "
                        f"timeout ({self.config.timeout:g}s) and was marked failed"
                    )
                time.sleep(self.config.poll_interval)
        except KeyboardInterrupt:
            with contextlib.suppress(ZenError):
                api.set_run_state(files.dag_id, request.run_id, "failed")
            raise
        finally:
            watcher.stop()
        states = {ti["task_id"]: ti.get("state") for ti in api.task_instances(files.dag_id, request.run_id)}
        return self._reconcile(request, files, states, progress, watcher.seen)

    def stop(self, run: RunRecord, runs: RunStore) -> None:
        """Mark the Airflow run failed: Airflow stops its running tasks and starts no more."""
        info = run.backend.get("airflow", {})
        if info.get("mode") != "rest" or not info.get("airflow_run_id"):
            raise ZenError(
                f"run '{run.run_id}' was not triggered on an Airflow deployment: only runs of "
                "mode 'rest' can be stopped (a local run stops with its client)"
            )
        self.api().set_run_state(info["dag_id"], info["airflow_run_id"], "failed")

    # -- after Airflow ---------------------------------------------------------------
    def _reconcile(
        self,
        request: RunRequest,
        files: DagFiles,
        task_states: Mapping[str, str | None],
        progress: Progress,
        reported: Mapping[str, tuple[str, int]] | None = None,
    ) -> str:
        """Record what Airflow decided without a step recording it; return the run's outcome.

        ``reported`` holds the (status, attempt) progress already showed for each step.
        """
        reported = reported or {}
        runs, run_id = request.runs, request.run_id
        task_of = {t["step"]: t["task_id"] for t in files.definition["tasks"]}
        records = runs.read_steps(run_id)
        sched = DagScheduler(request.spec)
        while not sched.done:
            for step_id in sched.take_ready():
                record = records.get(step_id)
                if record is None or record.status not in FINISHED:
                    record = self._unrecorded(runs, run_id, step_id, task_of[step_id], task_states, record)
                if reported.get(step_id) != (record.status, record.attempt):
                    progress.step(step_id, record.status, duration=record.duration, detail=record.error or "")
                for skipped in sched.finish(step_id, record.status):
                    have = records.get(skipped)
                    if have is not None and have.status in FINISHED:
                        continue
                    reason = sched.skip_reason[skipped]
                    runs.write_step(
                        StepRecord(run_id=run_id, step_id=skipped, status="skipped", skipped_because=reason)
                    )
                    progress.step(skipped, "skipped", detail=reason)
        outcome = sched.outcome()
        progress.run_finished(outcome)
        return outcome

    @staticmethod
    def _unrecorded(
        runs: RunStore,
        run_id: str,
        step_id: str,
        task_id: str,
        task_states: Mapping[str, str | None],
        record: StepRecord | None,
    ) -> StepRecord:
        state = task_states.get(task_id)
        failed = StepRecord(
            run_id=run_id,
            step_id=step_id,
            status="failed",
            attempt=record.attempt if record else 1,
            started_at=record.started_at if record else None,
            finished_at=time.time(),
            error=f"Airflow task '{task_id}' ended in state '{state}' without the step recording a "
            "result (see the Airflow task log)",
        )
        runs.write_step(failed)
        return failed


# (no square brackets: the zen CLI prints errors as rich markup)
_NO_AIRFLOW = (
    "the airflow orchestrator's local mode needs Apache Airflow on this machine: "
    "pip install 'apache-airflow>=3.3.2,<3.4' (the 'airflow' extra of zen-airflow), "
    "or set airflow_python to a Python that has it ({exc})"
)


def _no_airflow(log_path: str) -> bool:
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return "No module named 'airflow'" in f.read()
    except OSError:
        return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class _Watcher:
    """Reports step records as they change, from a thread, while Airflow runs the steps."""

    def __init__(
        self, runs: RunStore, run_id: str, progress: Progress, files: DagFiles, *, interval: float
    ) -> None:
        self._retries = {t["step"]: int(t["task_args"].get("retries", 0)) for t in files.definition["tasks"]}
        self._runs = runs
        self._run_id = run_id
        self._progress = progress
        self._interval = interval
        #: the (status, attempt) last reported for each step
        self.seen: dict[str, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="zen-airflow-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()

    def poll(self) -> None:
        try:
            records = self._runs.read_steps(self._run_id)
        except (OSError, ValueError, ZenError):
            return  # a record being replaced; the next poll sees it
        for step_id, rec in sorted(records.items(), key=lambda item: item[1].started_at or 0):
            key = (rec.status, rec.attempt)
            if self.seen.get(step_id) == key or rec.status == "skipped":
                continue  # skipped steps are recorded (and reported) once Airflow is done
            self.seen[step_id] = key
            if rec.status == "failed" and rec.attempt <= self._retries.get(step_id, 0):
                detail = f"attempt {rec.attempt} failed ({rec.error or ''}); Airflow retries it"
                self._progress.step(step_id, "retrying", detail=detail)
            else:
                self._progress.step(step_id, rec.status, duration=rec.duration, detail=rec.error or "")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()  # what changed since the last poll
