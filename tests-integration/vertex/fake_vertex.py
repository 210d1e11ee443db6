"""A local Vertex AI Pipelines service: the real google-cloud-aiplatform SDK talks to it.

It speaks the part of the Vertex AI REST API (``/v1``) that the SDK's ``PipelineJob``
and ``PipelineJobSchedule`` send, with the request and response bodies parsed and
written by the SDK's own proto-plus classes (``google.cloud.aiplatform_v1.types``), so
a body the real API would refuse is refused here too:

* ``POST /v1/projects/P/locations/L/pipelineJobs?pipelineJobId=ID``: create a job;
  ``409 ALREADY_EXISTS`` when the id is taken;
* ``GET /v1/projects/P/locations/L/pipelineJobs/ID``: the job, its state, error and
  ``jobDetail.taskDetails``;
* ``POST /v1/projects/P/locations/L/pipelineJobs/ID:cancel``;
* ``POST /v1/projects/P/locations/L/schedules``, ``GET .../schedules/ID``,
  ``POST .../schedules/ID:pause``, ``DELETE .../schedules/ID``.

Nothing is faked about execution: each job's ``pipelineSpec`` runs under KFP's own local
executor (``python -m zen_kubeflow.local_runner``: kfp.local's DockerRunner on the
Docker API), in a child process, on the host network, so step containers reach the
GCS emulator on 127.0.0.1. Like Vertex, the service gives the containers their cloud
environment: here, the emulator's address and anonymous credentials, added to each
executor's env. Runtime parameter values arrive as JSON numbers (protobuf ``Value``)
and are typed from the IR's parameter types, as Vertex does. Task states come from
the executor's log; a failed task's error is the end of its output.

Simplifications, each visible to the tests: jobs run one task at a time (kfp.local);
a schedule starts its first job at once instead of at its next cron time, and no
other. Everything listens on 127.0.0.1; :meth:`FakeVertex.stop` ends every child and
every job is bounded in time (``max_job_seconds``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXECUTING = re.compile(r"Executing task '([^']+)'")
_FINISHED = re.compile(r"Task '([^']+)' finished with status (\w+)")
_JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_PARENT = r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_ROUTES = [
    ("POST", re.compile(rf"^/v1/{_PARENT}/pipelineJobs$"), "create_job"),
    ("GET", re.compile(rf"^/v1/(?P<name>{_PARENT}/pipelineJobs/[^/:]+)$"), "get_job"),
    ("POST", re.compile(rf"^/v1/(?P<name>{_PARENT}/pipelineJobs/[^/:]+):cancel$"), "cancel_job"),
    ("POST", re.compile(rf"^/v1/{_PARENT}/schedules$"), "create_schedule"),
    ("GET", re.compile(rf"^/v1/(?P<name>{_PARENT}/schedules/[^/:]+)$"), "get_schedule"),
    ("POST", re.compile(rf"^/v1/(?P<name>{_PARENT}/schedules/[^/:]+):pause$"), "pause_schedule"),
    ("DELETE", re.compile(rf"^/v1/(?P<name>{_PARENT}/schedules/[^/:]+)$"), "delete_schedule"),
]
_TAIL_LINES = 15


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ApiError(Exception):
    """An error the API answers with: HTTP status, gRPC status name, message."""

    def __init__(self, http: int, status: str, message: str) -> None:
        super().__init__(message)
        self.http, self.status, self.message = http, status, message

    def payload(self) -> dict[str, Any]:
        return {"error": {"code": self.http, "message": self.message, "status": self.status}}


@dataclass
class FakeJob:
    name: str
    job_id: str
    body: dict[str, Any]  # the request body, camelCase, as received
    folder: Path
    state: str = "PIPELINE_STATE_QUEUED"
    create_time: dt.datetime = field(default_factory=_now)
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    error: dict[str, Any] | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task name -> detail
    proc: subprocess.Popen[bytes] | None = None
    cancel_requested: bool = False
    schedule_name: str | None = None
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)


class FakeVertex:
    """``FakeVertex(workdir, platform_env={...}).start()``; ``.endpoint`` is the API endpoint."""

    def __init__(
        self,
        workdir: Path,
        *,
        platform_env: dict[str, str] | None = None,
        network_mode: str = "host",
        max_job_seconds: float = 900,
    ) -> None:
        self.workdir = workdir
        self.platform_env = dict(platform_env or {})
        self.network_mode = network_mode
        self.max_job_seconds = max_job_seconds
        self.lock = threading.RLock()
        self.jobs: dict[str, FakeJob] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.ids = itertools.count(1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeVertex:
        t = threading.Thread(target=self.httpd.serve_forever, name="fake-vertex", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            self._terminate(job)
        for job in jobs:
            if job.proc is not None:
                try:
                    job.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    job.proc.kill()
                    job.proc.wait(timeout=10)
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=30)

    # -- pipeline jobs ---------------------------------------------------------------------------
    def create_job(
        self, parent: str, body: dict[str, Any], job_id: str | None, schedule_name: str | None = None
    ) -> FakeJob:
        from google.cloud.aiplatform_v1 import types

        try:  # what the real API would refuse to parse, refused here
            types.PipelineJob.from_json(json.dumps(body))
        except Exception as exc:
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid PipelineJob: {exc}") from None
        if not body.get("pipelineSpec"):
            raise ApiError(400, "INVALID_ARGUMENT", "pipelineSpec is required")
        if job_id is None:
            base = re.sub(r"[^a-z0-9-]+", "-", str(body["pipelineSpec"]["pipelineInfo"]["name"]).lower())
            job_id = f"{base.strip('-')[:100]}-{_now():%Y%m%d%H%M%S}-{next(self.ids)}"
        if not _JOB_ID.match(job_id):
            raise ApiError(
                400, "INVALID_ARGUMENT", f"pipelineJobId {job_id!r} does not match {_JOB_ID.pattern}"
            )
        name = f"{parent}/pipelineJobs/{job_id}"
        package = self._package(body["pipelineSpec"])
        with self.lock:
            if name in self.jobs:
                raise ApiError(409, "ALREADY_EXISTS", f"PipelineJob {name} already exists.")
            folder = self.workdir / job_id
            folder.mkdir(parents=True)
            job = FakeJob(name=name, job_id=job_id, body=body, folder=folder, schedule_name=schedule_name)
            (folder / "pipeline.yaml").write_text(yaml.safe_dump(package, sort_keys=True))
            self.jobs[name] = job
        t = threading.Thread(target=self._execute, args=(job,), name=f"fake-vertex-{job_id}", daemon=True)
        t.start()
        self._threads.append(t)
        return job

    def job_json(self, job: FakeJob) -> dict[str, Any]:
        """The job as ``GetPipelineJob`` returns it (checked by the proto-plus class)."""
        from google.cloud.aiplatform_v1 import types

        with self.lock:
            data = dict(job.body)
            data.update(
                {
                    "name": job.name,
                    "state": job.state,
                    "createTime": job.create_time.isoformat(),
                    "updateTime": _now().isoformat(),
                    "jobDetail": {"taskDetails": [dict(t) for t in job.tasks.values()]},
                }
            )
            if job.start_time:
                data["startTime"] = job.start_time.isoformat()
            if job.end_time:
                data["endTime"] = job.end_time.isoformat()
            if job.error:
                data["error"] = dict(job.error)
            if job.schedule_name:
                data["scheduleName"] = job.schedule_name
        msg = types.PipelineJob.from_json(json.dumps(data))
        out: dict[str, Any] = json.loads(types.PipelineJob.to_json(msg, use_integers_for_enums=False))
        return out

    def cancel_job(self, job: FakeJob) -> None:
        with self.lock:
            if job.state in ("PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"):
                raise ApiError(
                    400, "FAILED_PRECONDITION", f"Cannot cancel pipeline job {job.name} in state {job.state}."
                )
            job.cancel_requested = True
            job.state = "PIPELINE_STATE_CANCELLING"
        self._terminate(job)

    def wait_job(self, name: str, timeout: float = 600) -> FakeJob:
        """Block until a job ends (for tests); raises after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                job = self.jobs[name]
                if job.end_time is not None:
                    return job
            time.sleep(0.2)
        raise TimeoutError(f"job {name} did not end within {timeout}s")

    def _terminate(self, job: FakeJob) -> None:
        proc = job.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    # -- execution ------------------------------------------------------------------------------
    def _package(self, ir: dict[str, Any]) -> dict[str, Any]:
        """The IR as this 'cloud' executes it.

        Every container gets the platform's env. kfp.local names a running task after its
        component, so each container task gets a component of its own named after the task
        (same executor): the executor's log then says which task ran, as Vertex knows.
        """
        ir = json.loads(json.dumps(ir))
        components = ir.get("components", {})
        for owner in [ir.get("root", {}), *list(components.values())]:
            for key, task in owner.get("dag", {}).get("tasks", {}).items():
                ref = task.get("componentRef", {}).get("name")
                target = components.get(ref)
                own = f"comp-{key}"
                if target is None or "executorLabel" not in target or own == ref:
                    continue
                if own in components and components[own] != target:
                    raise ApiError(400, "INVALID_ARGUMENT", f"task {key} clashes with component {own}")
                components[own] = json.loads(json.dumps(target))
                task["componentRef"]["name"] = own
        for executor in ir.get("deploymentSpec", {}).get("executors", {}).values():
            container = executor.get("container")
            if container is None:
                continue
            env = [e for e in container.get("env", []) if e.get("name") not in self.platform_env]
            env += [{"name": k, "value": v} for k, v in sorted(self.platform_env.items())]
            container["env"] = env
        return ir

    @staticmethod
    def _arguments(ir: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Runtime parameter values typed by the IR (protobuf Values carry every number as a double)."""
        types = {
            n: p.get("parameterType")
            for n, p in ir["root"].get("inputDefinitions", {}).get("parameters", {}).items()
        }
        out = {}
        for name, value in values.items():
            if types.get(name) == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
                value = int(value)
            out[name] = value
        return out

    def _execute(self, job: FakeJob) -> None:
        package = job.folder / "pipeline.yaml"
        runtime = job.body.get("runtimeConfig") or {}
        arguments = self._arguments(job.body["pipelineSpec"], runtime.get("parameterValues") or {})
        result_path = job.folder / "result.json"
        log_path = job.folder / "executor.log"
        cmd = [
            sys.executable,
            "-m",
            "zen_kubeflow.local_runner",
            str(package),
            "--result",
            str(result_path),
            "--arguments",
            json.dumps(arguments),
            "--pipeline-root",
            str(job.folder / "root"),
            "--label",
            f"zen.vertex.job={job.job_id}",
            "--network-mode",
            self.network_mode,
        ]
        with self.lock:
            if job.cancel_requested or self._stop.is_set():
                self._finish(job, {"state": "CANCELED", "error": ""}, "")
                return
            with log_path.open("wb") as log:
                job.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
            job.state = "PIPELINE_STATE_RUNNING"
            job.start_time = _now()
        deadline = time.monotonic() + self.max_job_seconds
        while job.proc.poll() is None:
            self._update_tasks(job, log_path)
            if time.monotonic() > deadline:
                job.proc.send_signal(signal.SIGTERM)
                try:
                    job.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    job.proc.kill()
                break
            time.sleep(0.2)
        job.proc.wait()
        if job.cancel_requested:
            # Cancelling stops the job's running tasks, as Vertex does: the local executor
            # was terminated, but a step container it had started would run on.
            from vertex_engine import remove_job_containers

            remove_job_containers(f"zen.vertex.job={job.job_id}")
        try:
            result = json.loads(result_path.read_text())
        except (OSError, ValueError):
            result = {
                "state": "FAILED",
                "error": f"the local executor exited with code {job.proc.returncode}",
            }
        self._finish(job, result, log_path.read_text(errors="replace") if log_path.exists() else "")

    def _update_tasks(self, job: FakeJob, log_path: Path) -> None:
        try:
            text = _ANSI.sub("", log_path.read_text(errors="replace"))
        except OSError:
            return
        self._tasks_from_log(job, text)

    def _tasks_from_log(self, job: FakeJob, text: str) -> None:
        lines = text.splitlines()
        with self.lock:
            current: str | None = None
            output: list[str] = []
            for line in lines:
                started = _EXECUTING.search(line)
                finished = _FINISHED.search(line)
                if started:
                    current, output = started.group(1), []
                    detail = job.tasks.setdefault(current, self._task_detail(job, current))
                    detail["state"] = "RUNNING"
                    detail.pop("error", None)
                elif finished:
                    name, status = finished.group(1), finished.group(2)
                    detail = job.tasks.setdefault(name, self._task_detail(job, name))
                    if status == "SUCCESS":
                        detail["state"] = "SUCCEEDED"
                    else:
                        detail["state"] = "FAILED"
                        tail = "\n".join(line.strip() for line in output[-_TAIL_LINES:] if line.strip())
                        message = f"The task {name} exited with a non-zero status. Its last output:\n{tail}"
                        detail["error"] = {"code": 9, "message": message}
                    detail["endTime"] = _now().isoformat()
                    current = None
                elif current is not None:
                    output.append(line)

    def _task_detail(self, job: FakeJob, name: str) -> dict[str, Any]:
        return {
            "taskId": str(next(self.ids)),
            "taskName": name,
            "createTime": _now().isoformat(),
            "state": "PENDING",
        }

    def _finish(self, job: FakeJob, result: dict[str, Any], log: str) -> None:
        self._tasks_from_log(job, _ANSI.sub("", log))
        with self.lock:
            state = str(result.get("state", "FAILED"))
            if job.cancel_requested or state == "CANCELED":
                job.state = "PIPELINE_STATE_CANCELLED"
                job.error = {"code": 1, "message": "The pipeline job was cancelled."}
                for detail in job.tasks.values():
                    if detail["state"] in ("PENDING", "RUNNING"):
                        detail["state"] = "CANCELLED"
            elif state == "SUCCEEDED":
                job.state = "PIPELINE_STATE_SUCCEEDED"
            else:
                job.state = "PIPELINE_STATE_FAILED"
                failed = sorted(n for n, d in job.tasks.items() if d["state"] == "FAILED")
                message = (
                    f"The DAG failed because some tasks failed. The failed tasks are: [{', '.join(failed)}]."
                    if failed
                    else f"The pipeline job failed: {result.get('error') or 'unknown error'}"
                )
                job.error = {"code": 9, "message": message}
            job.end_time = _now()

    # -- schedules ----------------------------------------------------------------------------------
    def create_schedule(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        from google.cloud.aiplatform_v1 import types

        try:
            types.Schedule.from_json(json.dumps(body))
        except Exception as exc:
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid Schedule: {exc}") from None
        request = body.get("createPipelineJobRequest") or {}
        if not body.get("cron") or not request.get("pipelineJob"):
            raise ApiError(400, "INVALID_ARGUMENT", "a schedule needs cron and createPipelineJobRequest")
        name = f"{parent}/schedules/{next(self.ids)}"
        schedule = {
            **body,
            "name": name,
            "state": "ACTIVE",
            "createTime": _now().isoformat(),
            "startedRunCount": "0",
        }
        with self.lock:
            self.schedules[name] = schedule
        # the fake's shortcut: the first run starts now instead of at the next cron time
        self.create_job(request.get("parent") or parent, request["pipelineJob"], None, schedule_name=name)
        with self.lock:
            schedule["startedRunCount"] = "1"
            schedule["updateTime"] = _now().isoformat()
        return self.schedule_json(schedule)

    @staticmethod
    def schedule_json(schedule: dict[str, Any]) -> dict[str, Any]:
        from google.cloud.aiplatform_v1 import types

        msg = types.Schedule.from_json(json.dumps(schedule))
        out: dict[str, Any] = json.loads(types.Schedule.to_json(msg, use_integers_for_enums=False))
        return out

    def scheduled_jobs(self, schedule_name: str) -> list[FakeJob]:
        with self.lock:
            return [j for j in self.jobs.values() if j.schedule_name == schedule_name]

    # -- HTTP ------------------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not raw:
                    return {}
                try:
                    data = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "INVALID_ARGUMENT", "the body is not JSON") from None
                if not isinstance(data, dict):
                    raise ApiError(400, "INVALID_ARGUMENT", "the body is not a JSON object")
                return data

            def _dispatch(self, method: str) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                server.requests.append((method, url.path))
                try:
                    body = self._body() if method in ("POST", "PATCH") else {}
                    for verb, pattern, action in _ROUTES:
                        match = pattern.match(url.path) if verb == method else None
                        if match:
                            self._send(200, getattr(self, action)(match, body, query))
                            return
                    raise ApiError(404, "NOT_FOUND", f"no route for {method} {url.path}")
                except ApiError as exc:
                    self._send(exc.http, exc.payload())

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

            # -- actions
            def _job(self, name: str) -> FakeJob:
                with server.lock:
                    job = server.jobs.get(name)
                if job is None:
                    raise ApiError(404, "NOT_FOUND", f"PipelineJob {name} not found.")
                return job

            def create_job(self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]) -> Any:
                parent = f"projects/{m['project']}/locations/{m['location']}"
                job_id = (query.get("pipelineJobId") or [None])[0]
                return server.job_json(server.create_job(parent, body, job_id))

            def get_job(self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]) -> Any:
                return server.job_json(self._job(m["name"]))

            def cancel_job(self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]) -> Any:
                server.cancel_job(self._job(m["name"]))
                return {}

            def _schedule(self, name: str) -> dict[str, Any]:
                with server.lock:
                    schedule = server.schedules.get(name)
                if schedule is None:
                    raise ApiError(404, "NOT_FOUND", f"Schedule {name} not found.")
                return schedule

            def create_schedule(
                self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]
            ) -> Any:
                parent = f"projects/{m['project']}/locations/{m['location']}"
                return server.create_schedule(parent, body)

            def get_schedule(
                self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]
            ) -> Any:
                return server.schedule_json(self._schedule(m["name"]))

            def pause_schedule(
                self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]
            ) -> Any:
                schedule = self._schedule(m["name"])
                with server.lock:
                    schedule["state"] = "PAUSED"
                    schedule["lastPauseTime"] = _now().isoformat()
                return {}

            def delete_schedule(
                self, m: re.Match[str], body: dict[str, Any], query: dict[str, list[str]]
            ) -> Any:
                self._schedule(m["name"])
                with server.lock:
                    del server.schedules[m["name"]]
                return {"name": f"{m['name']}/operations/{next(server.ids)}", "done": True}

        return Handler
