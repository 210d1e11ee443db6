"""A small, stateful stand-in for the GitHub REST API whose dispatches really run, with act.

It serves the calls the ``github`` orchestrator makes through PyGithub, under the
``/api/v3`` prefix of a GitHub Enterprise Server (every ``url`` it returns carries
the prefix, as PyGithub follows them):

* ``GET /repos/{owner}/{repo}``
* ``GET|PUT /repos/{owner}/{repo}/contents/{path}`` (files per branch, blob shas,
  a stale ``sha`` is refused with 409 as GitHub does)
* ``GET /repos/{owner}/{repo}/actions/workflows/{id or file name}`` and its ``/runs``
* ``POST .../actions/workflows/{id}/dispatches``: checks the inputs against the
  committed workflow's ``workflow_dispatch`` inputs (422 for unknown or missing
  ones), then runs that workflow with act in a throwaway git repository holding
  the branch's files, updating the run and its jobs from act's JSON events
* ``GET /repos/{owner}/{repo}/actions/runs/{id}`` and ``/jobs``; ``POST .../cancel``

Requests need ``Authorization: token <the server's token>`` (401 otherwise). The
server listens on 127.0.0.1 only; :meth:`FakeGitHub.stop` cancels running
workflows (their act process group, by id) and shuts it down. Every loop and
wait in here is bounded in time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

PREFIX = "/api/v3"
ACT_TIMEOUT = 300.0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Job:
    id: int
    key: str
    name: str
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None


@dataclass
class Run:
    id: int
    repo: str
    workflow_id: int
    branch: str
    title: str
    inputs: dict[str, str]
    jobs: dict[str, Job]
    status: str = "queued"
    conclusion: str | None = None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    process: subprocess.Popen[str] | None = None
    thread: threading.Thread | None = None
    cancel_requested: bool = False
    log: list[str] = field(default_factory=list)


@dataclass
class Workflow:
    id: int
    repo: str
    path: str

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class FakeGitHub:
    """The server's state and its act runner; use as a context manager."""

    def __init__(
        self,
        *,
        token: str,
        act: str,
        workdir: Path,
        act_args: list[str] | None = None,
        return_run_details: bool = True,
    ) -> None:
        self.token = token
        self.act = act
        self.workdir = workdir
        self.act_args = act_args or []
        self.return_run_details = return_run_details
        self.lock = threading.RLock()
        self.files: dict[tuple[str, str], dict[str, bytes]] = {}
        self.default_branch: dict[str, str] = {}
        self.workflows: dict[tuple[str, str], Workflow] = {}
        self.runs: dict[int, Run] = {}
        self.requests: list[tuple[str, str]] = []
        self.dispatches: list[dict[str, Any]] = []
        self.commits: list[dict[str, Any]] = []
        self._ids = iter(range(1000, 10**9))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1})

    # -- lifecycle ------------------------------------------------------------------
    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base + PREFIX

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            self._kill(run)
        for run in runs:
            if run.thread is not None:
                run.thread.join(timeout=30)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_repo(
        self, full_name: str, default_branch: str = "main", files: dict[str, bytes] | None = None
    ) -> None:
        with self.lock:
            self.default_branch[full_name] = default_branch
            self.files[(full_name, default_branch)] = dict(files or {})
            for path in files or {}:
                self._register_workflow(full_name, path)

    def wait_run(self, run_id: int, timeout: float = 120) -> Run:
        """Block until a run completes (bounded), for tests."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                run = self.runs[run_id]
                if run.status == "completed":
                    return run
            time.sleep(0.1)
        raise TimeoutError(f"run {run_id} did not complete within {timeout}s")

    # -- JSON shapes ------------------------------------------------------------------
    def _repo_url(self, repo: str) -> str:
        return f"{self.api_url}/repos/{repo}"

    def _repo_json(self, repo: str) -> dict[str, Any]:
        owner, name = repo.split("/")
        return {
            "id": abs(hash(repo)) % 10**6,
            "name": name,
            "full_name": repo,
            "owner": {"login": owner, "url": f"{self.api_url}/users/{owner}"},
            "private": True,
            "default_branch": self.default_branch[repo],
            "url": self._repo_url(repo),
            "html_url": f"{self.base}/{repo}",
        }

    def _content_json(self, repo: str, path: str, data: bytes) -> dict[str, Any]:
        return {
            "type": "file",
            "encoding": "base64",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "size": len(data),
            "sha": blob_sha(data),
            "content": base64.b64encode(data).decode(),
            "url": f"{self._repo_url(repo)}/contents/{path}",
            "html_url": f"{self.base}/{repo}/blob/{path}",
        }

    def _workflow_json(self, wf: Workflow) -> dict[str, Any]:
        return {
            "id": wf.id,
            "node_id": f"W_{wf.id}",
            "name": wf.file_name,
            "path": wf.path,
            "state": "active",
            "created_at": _now(),
            "updated_at": _now(),
            "url": f"{self._repo_url(wf.repo)}/actions/workflows/{wf.id}",
            "html_url": f"{self.base}/{wf.repo}/actions/workflows/{wf.file_name}",
            "badge_url": f"{self.base}/{wf.repo}/workflows/{wf.file_name}/badge.svg",
        }

    def _run_json(self, run: Run) -> dict[str, Any]:
        url = f"{self._repo_url(run.repo)}/actions/runs/{run.id}"
        return {
            "id": run.id,
            "name": run.title,
            "display_title": run.title,
            "event": "workflow_dispatch",
            "head_branch": run.branch,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "run_attempt": 1,
            "run_number": run.id - 999,
            "created_at": run.created_at,
            "updated_at": run.updated_at,
            "url": url,
            "html_url": f"{self.base}/{run.repo}/actions/runs/{run.id}",
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "workflow_url": f"{self._repo_url(run.repo)}/actions/workflows/{run.workflow_id}",
        }

    def _job_json(self, run: Run, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "run_id": run.id,
            "name": job.name,
            "status": job.status,
            "conclusion": job.conclusion,
            "started_at": job.started_at,
            "completed_at": job.completed_at,
            "url": f"{self._repo_url(run.repo)}/actions/jobs/{job.id}",
            "html_url": f"{self.base}/{run.repo}/actions/runs/{run.id}/job/{job.id}",
            "run_url": f"{self._repo_url(run.repo)}/actions/runs/{run.id}",
            "steps": [],
        }

    # -- state changes ----------------------------------------------------------------
    def _register_workflow(self, repo: str, path: str) -> None:
        if re.match(r"^\.github/workflows/[^/]+\.ya?ml$", path) and (repo, path) not in self.workflows:
            self.workflows[(repo, path)] = Workflow(next(self._ids), repo, path)

    def _workflow(self, repo: str, ident: str) -> Workflow:
        for wf in self.workflows.values():
            if wf.repo == repo and ident in (str(wf.id), wf.file_name):
                return wf
        raise ApiError(404, "Not Found")

    def _put_file(self, repo: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        branch = body.get("branch") or self.default_branch[repo]
        files = self.files.get((repo, branch))
        if files is None:
            raise ApiError(404, f"Branch {branch} not found")
        data = base64.b64decode(body["content"])
        if path in files:
            if "sha" not in body:
                raise ApiError(422, '"sha" wasn\'t supplied.')
            if body["sha"] != blob_sha(files[path]):
                raise ApiError(409, f"{path} does not match {body['sha']}")
        files[path] = data
        self._register_workflow(repo, path)
        commit = hashlib.sha1(f"{repo}{branch}{path}{len(self.commits)}".encode()).hexdigest()
        self.commits.append({"repo": repo, "branch": branch, "path": path, "message": body.get("message")})
        return {
            "content": self._content_json(repo, path, data),
            "commit": {"sha": commit, "url": f"{self._repo_url(repo)}/git/commits/{commit}"},
        }

    def _dispatch(self, wf: Workflow, body: dict[str, Any]) -> Run:
        branch = body.get("ref") or self.default_branch[wf.repo]
        files = self.files.get((wf.repo, branch))
        if files is None or wf.path not in files:
            raise ApiError(422, f"No ref found for: {branch}")
        doc = yaml.safe_load(files[wf.path])
        on = doc.get("on", doc.get(True)) or {}
        if "workflow_dispatch" not in on:
            raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
        declared = (on.get("workflow_dispatch") or {}).get("inputs") or {}
        inputs = {str(k): str(v) for k, v in (body.get("inputs") or {}).items()}
        unexpected = sorted(set(inputs) - set(declared))
        if unexpected:
            raise ApiError(422, f"Unexpected inputs provided: {unexpected}")
        for name, spec in declared.items():
            if spec.get("required") and name not in inputs:
                raise ApiError(422, f"Required input '{name}' not provided")
        values = {
            n: inputs.get(n, str(s.get("default", "")))
            for n, s in declared.items()
            if n in inputs or "default" in s
        }
        title = re.sub(
            r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}",
            lambda m: values.get(m.group(1), ""),
            str(doc.get("run-name") or doc.get("name") or wf.file_name),
        )
        jobs = {
            key: Job(id=next(self._ids), key=key, name=str(job.get("name", key)))
            for key, job in (doc.get("jobs") or {}).items()
        }
        run = Run(next(self._ids), wf.repo, wf.id, branch, title, inputs, jobs)
        self.runs[run.id] = run
        self.dispatches.append({"workflow": wf.file_name, "ref": branch, "inputs": inputs})
        snapshot = dict(files)
        run.thread = threading.Thread(target=self._execute, args=(run, wf, snapshot), daemon=True)
        run.thread.start()
        return run

    def _execute(self, run: Run, wf: Workflow, files: dict[str, bytes]) -> None:
        """Run the committed workflow with act, in a git repository holding the branch's files."""
        with tempfile.TemporaryDirectory(prefix=f"run-{run.id}-", dir=self.workdir) as tmp:
            repo = Path(tmp) / "repo"
            for path, data in files.items():
                target = repo / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            env = {
                **os.environ,
                "GIT_AUTHOR_NAME": "fake",
                "GIT_AUTHOR_EMAIL": "fake@example.invalid",
                "GIT_COMMITTER_NAME": "fake",
                "GIT_COMMITTER_EMAIL": "fake@example.invalid",
            }
            for args in (["init", "-q", "-b", run.branch], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
                subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
            cmd = [
                self.act,
                "workflow_dispatch",
                "-W",
                wf.path,
                "--json",
                "-P",
                "ubuntu-latest=-self-hosted",
                "--action-offline-mode",
                "--pull=false",
                "--artifact-server-addr",
                "127.0.0.1",
                "--cache-server-addr",
                "127.0.0.1",
                "--no-cache-server",
                "--action-cache-path",
                str(Path(tmp) / "act-cache"),
                *self.act_args,
            ]
            for name, value in run.inputs.items():
                cmd += ["--input", f"{name}={value}"]
            with self.lock:
                if run.cancel_requested:
                    self._finish(run, "cancelled")
                    return
                run.status = "in_progress"
                run.updated_at = _now()
                run.process = subprocess.Popen(
                    cmd,
                    cwd=repo,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    start_new_session=True,
                )
            proc = run.process
            reader = threading.Thread(target=self._read_events, args=(run, proc), daemon=True)
            reader.start()
            try:
                code = proc.wait(timeout=ACT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill(run)
                code = -1
            reader.join(timeout=10)
            with self.lock:
                if run.cancel_requested:
                    self._finish(run, "cancelled")
                else:
                    failed = any(j.conclusion not in (None, "success", "skipped") for j in run.jobs.values())
                    self._finish(run, "failure" if failed or code != 0 else "success")

    def _read_events(self, run: Run, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                run.log.append(line.rstrip())
                continue
            if not isinstance(event, dict):
                continue
            with self.lock:
                job = run.jobs.get(str(event.get("jobID", "")))
                if job is None:
                    continue
                if event.get("raw_output"):
                    run.log.append(f"[{job.key}] {str(event.get('msg', '')).rstrip()}")
                if job.status == "queued":
                    job.status, job.started_at = "in_progress", _now()
                result = event.get("jobResult")
                if result is not None:
                    job.status, job.conclusion, job.completed_at = "completed", str(result), _now()
                run.updated_at = _now()

    def _finish(self, run: Run, conclusion: str) -> None:
        for job in run.jobs.values():
            if job.status != "completed":
                job.conclusion = "cancelled" if conclusion == "cancelled" else "skipped"
                job.status, job.completed_at = "completed", _now()
        run.status, run.conclusion, run.updated_at = "completed", conclusion, _now()

    def _kill(self, run: Run) -> None:
        with self.lock:
            run.cancel_requested = True
            proc = run.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

    # -- HTTP ---------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if not path.startswith(PREFIX + "/repos/"):
            raise ApiError(404, "Not Found")
        parts = path[len(PREFIX) + len("/repos/") :].split("/")
        repo = "/".join(parts[:2])
        rest = parts[2:]
        with self.lock:
            if repo not in self.default_branch:
                raise ApiError(404, "Not Found")
            if method == "GET" and not rest:
                return 200, self._repo_json(repo)
            if rest[:1] == ["contents"] and len(rest) > 1:
                file_path = unquote("/".join(rest[1:]))
                if method == "GET":
                    branch = query.get("ref", [self.default_branch[repo]])[0]
                    data = self.files.get((repo, branch), {}).get(file_path)
                    if data is None:
                        raise ApiError(404, "Not Found")
                    return 200, self._content_json(repo, file_path, data)
                if method == "PUT":
                    existed = file_path in self.files.get(
                        (repo, body.get("branch") or self.default_branch[repo]), {}
                    )
                    return (200 if existed else 201), self._put_file(repo, file_path, body)
            if rest[:2] == ["actions", "workflows"] and len(rest) >= 3:
                wf = self._workflow(repo, unquote(rest[2]))
                if method == "GET" and len(rest) == 3:
                    return 200, self._workflow_json(wf)
                if method == "GET" and rest[3:] == ["runs"]:
                    runs = [r for r in self.runs.values() if r.workflow_id == wf.id]
                    branch = query.get("branch", [None])[0]
                    runs = [r for r in runs if branch is None or r.branch == branch]
                    runs.sort(key=lambda r: r.id, reverse=True)
                    return 200, {"total_count": len(runs), "workflow_runs": [self._run_json(r) for r in runs]}
                if method == "POST" and rest[3:] == ["dispatches"]:
                    run = self._dispatch(wf, body or {})
                    if self.return_run_details and (body or {}).get("return_run_details"):
                        data = self._run_json(run)
                        return 200, {
                            "workflow_run_id": run.id,
                            "run_url": data["url"],
                            "html_url": data["html_url"],
                        }
                    return 204, None
            if rest[:2] == ["actions", "runs"] and len(rest) >= 3:
                run = self.runs.get(int(rest[2])) if rest[2].isdigit() else None
                if run is None or run.repo != repo:
                    raise ApiError(404, "Not Found")
                if method == "GET" and len(rest) == 3:
                    return 200, self._run_json(run)
                if method == "GET" and rest[3:] == ["jobs"]:
                    jobs = [self._job_json(run, j) for j in run.jobs.values()]
                    return 200, {"total_count": len(jobs), "jobs": jobs}
                if method == "POST" and rest[3:] == ["cancel"]:
                    if run.status == "completed":
                        raise ApiError(409, "Cannot cancel a workflow run that is completed.")
                    threading.Thread(target=self._kill, args=(run,), daemon=True).start()
                    return 202, {}
        raise ApiError(404, "Not Found")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _send(self, status: int, payload: Any) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                with fake.lock:
                    fake.requests.append((method, url.path))
                auth = self.headers.get("Authorization", "")
                if auth not in (f"token {fake.token}", f"Bearer {fake.token}"):
                    self._send(401, {"message": "Bad credentials"})
                    return
                try:
                    body = json.loads(raw) if raw else None
                    status, payload = fake._route(method, url.path, parse_qs(url.query), body)
                except ApiError as exc:
                    status, payload = exc.status, {"message": exc.message}
                except (ValueError, KeyError) as exc:
                    status, payload = 400, {"message": f"Bad request: {exc}"}
                self._send(status, payload)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

        return Handler
