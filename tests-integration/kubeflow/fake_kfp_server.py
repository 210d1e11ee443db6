"""A small Kubeflow Pipelines API server for tests: the real kfp client talks to it.

It speaks the part of KFP's REST API (``/apis/v2beta1``) the kfp client uses to
submit and follow runs: healthz, experiments, pipeline upload and versions, runs
(create, get, terminate) and recurring runs (create, get, disable, delete).
Nothing is faked about execution: every run's pipeline package goes to
``python -m zen_kubeflow.local_runner``, i.e. KFP's own local executor
(kfp.local's DockerRunner), in a child process, and the run's state, error and
failed tasks come from it. Terminating a run stops that process, which removes
its running container. A recurring run starts its first run at once and one per
interval after that, until disabled.

It listens on 127.0.0.1 only; :meth:`FakeKfpServer.stop` ends every child.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

API = "/apis/v2beta1"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class _Run:
    run_id: str
    body: dict[str, Any]
    package: Path
    task_names: dict[str, str]  # IR task key -> display name
    proc: subprocess.Popen[bytes] | None = None
    result_path: Path | None = None
    state: str = "PENDING"
    error: str = ""
    failed: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=_now)
    finished_at: str | None = None
    canceling: bool = False


class FakeKfpServer:
    """``FakeKfpServer(workdir, mounts=[...]).start()``; ``.url`` is the KFP host."""

    def __init__(self, workdir: Path, *, mounts: list[str] | None = None) -> None:
        self.workdir = workdir
        self.mounts = list(mounts or [])
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.experiments: dict[str, dict[str, Any]] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, _Run] = {}
        self.recurring: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeKfpServer:
        t = threading.Thread(target=self.httpd.serve_forever, name="fake-kfp", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            procs = [r.proc for r in self.runs.values() if r.proc is not None and r.proc.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=10)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids):04d}"

    # -- runs --------------------------------------------------------------------------
    def _package_of(self, body: dict[str, Any]) -> str:
        if body.get("pipeline_spec"):
            spec = body["pipeline_spec"]
            docs = [spec["pipeline_spec"], spec["platform_spec"]] if "platform_spec" in spec else [spec]
            return yaml.safe_dump_all(docs, sort_keys=True)
        ref = body.get("pipeline_version_reference") or {}
        version = self.versions[ref["pipeline_version_id"]]
        text: str = version["package"]
        return text

    def create_run(self, body: dict[str, Any], recurring_run_id: str | None = None) -> _Run:
        run_id = self.new_id("run")
        folder = self.workdir / run_id
        folder.mkdir(parents=True)
        package = folder / "pipeline.yaml"
        package.write_text(self._package_of(body))
        ir = next(yaml.safe_load_all(package.read_text()))
        names: dict[str, str] = {}
        for comp in ir["components"].values():
            for key, task in comp.get("dag", {}).get("tasks", {}).items():
                names[key] = task["taskInfo"]["name"]
        run = _Run(
            run_id=run_id,
            body={**body, "recurring_run_id": recurring_run_id},
            package=package,
            task_names=names,
        )
        params = (body.get("runtime_config") or {}).get("parameters") or {}
        run.result_path = folder / "result.json"
        cmd = [
            sys.executable,
            "-m",
            "zen_kubeflow.local_runner",
            str(package),
            "--result",
            str(run.result_path),
            "--arguments",
            json.dumps(params),
            "--pipeline-root",
            str(folder / "root"),
            "--label",
            f"zen.kubeflow.run={run_id}",
        ]
        for m in self.mounts:
            cmd += ["--mount", m]
        log = (folder / "executor.log").open("wb")
        run.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        run.state = "RUNNING"
        with self.lock:
            self.runs[run_id] = run
        return run

    def _refresh(self, run: _Run) -> None:
        if run.proc is None or run.proc.poll() is None or run.finished_at is not None:
            return
        try:
            result = json.loads(run.result_path.read_text()) if run.result_path else {}
        except (OSError, ValueError):
            result = {"state": "FAILED", "error": f"executor exited with {run.proc.returncode}"}
        run.state = "CANCELED" if run.canceling else str(result.get("state", "FAILED"))
        run.error = str(result.get("error", ""))
        run.failed = [t for t in result.get("failed_tasks", []) if t in run.task_names]
        run.finished_at = _now()

    def run_json(self, run: _Run) -> dict[str, Any]:
        self._refresh(run)
        state = "CANCELING" if run.canceling and run.finished_at is None else run.state
        out: dict[str, Any] = {
            "run_id": run.run_id,
            "experiment_id": run.body.get("experiment_id"),
            "display_name": run.body.get("display_name"),
            "runtime_config": run.body.get("runtime_config"),
            "state": state,
            "created_at": run.created_at,
            "storage_state": "AVAILABLE",
        }
        if run.body.get("recurring_run_id"):
            out["recurring_run_id"] = run.body["recurring_run_id"]
        if run.finished_at:
            out["finished_at"] = run.finished_at
        if run.error and state in ("FAILED", "CANCELED"):
            out["error"] = {"code": 2, "message": run.error}
        out["run_details"] = {
            "task_details": [
                {
                    "run_id": run.run_id,
                    "task_id": f"{run.run_id}-{key}",
                    "display_name": run.task_names[key],
                    "state": "FAILED",
                    "error": {"code": 2, "message": f"task {key} failed"},
                }
                for key in run.failed
            ]
        }
        return out

    def terminate(self, run: _Run) -> None:
        run.canceling = True
        if run.proc is not None and run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)

    # -- recurring runs -------------------------------------------------------------------
    def create_recurring(self, body: dict[str, Any]) -> dict[str, Any]:
        rid = self.new_id("recurring")
        trigger = body.get("trigger") or {}
        interval = int((trigger.get("periodic_schedule") or {}).get("interval_second") or 3600)
        rec = {
            **body,
            "recurring_run_id": rid,
            "status": "ENABLED",
            "created_at": _now(),
            "interval": interval,
        }
        with self.lock:
            self.recurring[rid] = rec

        def loop() -> None:
            while not self._stop.is_set() and self.recurring[rid]["status"] == "ENABLED":
                self.create_run(
                    {
                        k: body.get(k)
                        for k in (
                            "experiment_id",
                            "pipeline_spec",
                            "pipeline_version_reference",
                            "runtime_config",
                            "display_name",
                        )
                    },
                    recurring_run_id=rid,
                )
                if self._stop.wait(interval):
                    return

        t = threading.Thread(target=loop, name=f"fake-kfp-{rid}", daemon=True)
        t.start()
        self._threads.append(t)
        return {k: v for k, v in rec.items() if k != "interval"}

    # -- HTTP --------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                path, query = url.path, parse_qs(url.query)
                server.requests.append((method, path))
                try:
                    status, payload = server.route(method, path, query, self.headers, self._body())
                except KeyError as exc:
                    status, payload = 404, {"code": 5, "message": f"not found: {exc}"}
                self._send(status, payload)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        return Handler

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes
    ) -> tuple[int, Any]:
        if not path.startswith(API):
            return 404, {"message": path}
        p = path[len(API) :]
        body = json.loads(raw) if raw and "json" in (headers.get("Content-Type") or "") else {}
        with self.lock:
            if p == "/healthz":
                return 200, {"multi_user": False}
            if p == "/experiments" and method == "GET":
                name = _filter_value(query)
                found = [e for e in self.experiments.values() if name is None or e["display_name"] == name]
                return 200, {"experiments": found, "total_size": len(found)} if found else {}
            if p == "/experiments" and method == "POST":
                eid = self.new_id("exp")
                self.experiments[eid] = {**body, "experiment_id": eid, "created_at": _now()}
                return 200, self.experiments[eid]
            if p == "/pipelines" and method == "GET":
                name = _filter_value(query)
                found = [
                    {k: v for k, v in pl.items() if k != "package"}
                    for pl in self.pipelines.values()
                    if name is None or pl["display_name"] == name
                ]
                return 200, {"pipelines": found, "total_size": len(found)} if found else {}
            if p == "/pipelines/upload" and method == "POST":
                package = _uploaded_file(headers, raw)
                pid = self.new_id("pipeline")
                name = query.get("name", ["pipeline"])[0]
                self.pipelines[pid] = {"pipeline_id": pid, "display_name": name, "created_at": _now()}
                self._add_version(pid, name, package)
                return 200, self.pipelines[pid]
            if p == "/pipelines/upload_version" and method == "POST":
                package = _uploaded_file(headers, raw)
                pid = query["pipelineid"][0]
                return 200, self._add_version(pid, query["name"][0], package)
            m = re.fullmatch(r"/pipelines/([^/]+)/versions", p)
            if m and method == "GET":
                versions = [
                    {k: v for k, v in ver.items() if k != "package"}
                    for ver in self.versions.values()
                    if ver["pipeline_id"] == m.group(1)
                ]
                return 200, {"pipeline_versions": versions, "total_size": len(versions)}
        if p == "/runs" and method == "POST":
            return 200, self.run_json(self.create_run(body))
        m = re.fullmatch(r"/runs/([^/:]+)(:terminate)?", p)
        if m:
            run = self.runs[m.group(1)]
            if m.group(2) and method == "POST":
                self.terminate(run)
                return 200, {}
            return 200, self.run_json(run)
        if p == "/recurringruns" and method == "POST":
            return 200, self.create_recurring(body)
        m = re.fullmatch(r"/recurringruns/([^/:]+)(:disable|:enable)?", p)
        if m:
            rec = self.recurring[m.group(1)]
            if m.group(2) == ":disable" or method == "DELETE":
                rec["status"] = "DISABLED"
                return 200, {}
            return 200, {k: v for k, v in rec.items() if k != "interval"}
        return 404, {"code": 5, "message": f"{method} {path} is not served by the fake KFP server"}

    def _add_version(self, pid: str, name: str, package: str) -> dict[str, Any]:
        vid = self.new_id("version")
        self.versions[vid] = {
            "pipeline_id": pid,
            "pipeline_version_id": vid,
            "display_name": name,
            "created_at": _now(),
            "package": package,
        }
        return {k: v for k, v in self.versions[vid].items() if k != "package"}

    def kfp_runs(self) -> list[_Run]:
        with self.lock:
            return list(self.runs.values())

    def wait_run(self, run_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.run_json(self.runs[run_id])
            if data["state"] in ("SUCCEEDED", "FAILED", "CANCELED"):
                return data
            time.sleep(0.5)
        raise TimeoutError(f"KFP run {run_id} did not end in {timeout}s")


def _filter_value(query: dict[str, list[str]]) -> str | None:
    raw = query.get("filter", [""])[0]
    if not raw:
        return None
    for pred in json.loads(raw).get("predicates", []):
        value = pred.get("stringValue", pred.get("string_value"))
        if value is not None:
            return str(value)
    return None


def _uploaded_file(headers: Any, raw: bytes) -> str:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode() + raw
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "uploadfile":
            payload = part.get_payload(decode=True)
            return payload.decode() if isinstance(payload, bytes) else str(payload)
    raise KeyError("uploadfile")
