"""A stand-in Airflow API server on 127.0.0.1 that really runs the DAGs it is sent.

It answers the ``/api/v2`` and ``/auth/token`` calls the orchestrator makes, the
way Airflow 3 does (status codes, JSON shapes, a paused DAG's runs staying
queued), and "parses" the DAG files zen writes into its DAGs folder. A triggered
run executes each task with the generated DAG file's own code
(``dagfile.run_step``: the real entrypoint, the real steps), in dependency
order, retrying as the task's ``retries`` says and marking the tasks after a
failure ``upstream_failed``. Real Airflow behind the same calls is tested in
tests-integration/airflow.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from zen_airflow import dagfile


class FakeAirflow:
    def __init__(
        self, dags_folder: Path, *, users: dict[str, str] | None = None, parse_after: int = 1
    ) -> None:
        self.dags_folder = dags_folder
        self.users = users if users is not None else {"admin": "s3cret-pw"}
        self.parse_after = parse_after  # GETs of a DAG before it is "parsed"
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.dags: dict[str, dict[str, Any]] = {}
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.page_size = 2  # small, so the client must page through task instances
        self.expire_tokens = False
        self.parse = True
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self._gets: dict[str, int] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAirflow:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        for t in self.threads:
            t.join(timeout=60)

    # -- the DAG processor ------------------------------------------------------------
    def _parsed(self, dag_id: str) -> dict[str, Any] | None:
        self._gets[dag_id] = self._gets.get(dag_id, 0) + 1
        if not self.parse or self._gets[dag_id] <= self.parse_after:
            return self.dags.get(dag_id)
        path = self.dags_folder / f"zen_{dag_id}.json"
        if path.exists():
            definition = json.loads(path.read_text())
            old = self.dags.get(dag_id, {})
            self.dags[dag_id] = {
                "dag_id": dag_id,
                "description": definition["description"],
                "is_paused": old.get("is_paused", True),
                "definition": definition,
            }
        return self.dags.get(dag_id)

    # -- the scheduler and workers ------------------------------------------------------
    def _execute(self, dag: dict[str, Any], run: dict[str, Any]) -> None:
        definition = dag["definition"]
        run["state"] = "running"
        for task in definition["tasks"]:
            ti = run["tasks"][task["task_id"]]
            if run["state"] != "running":
                break
            if any(run["tasks"][u]["state"] != "success" for u in task["upstream"]):
                ti["state"] = "upstream_failed"
                continue
            for try_number in range(1, task["task_args"]["retries"] + 2):
                ti.update(state="running", try_number=try_number)
                ctx = {
                    "dag_run": SimpleNamespace(run_id=run["dag_run_id"], conf=run["conf"]),
                    "params": {**definition_defaults(definition), **run["conf"]},
                    "ti": SimpleNamespace(try_number=try_number),
                }
                try:
                    dagfile.run_step(definition, task, str(self.dags_folder), **ctx)
                except RuntimeError:
                    ti["state"] = "failed"
                    continue
                ti["state"] = "success"
                break
        if run["state"] == "running":
            ok = all(t["state"] == "success" for t in run["tasks"].values())
            run["state"] = "success" if ok else "failed"

    # -- HTTP -------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length)) if length else None

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                fake.requests.append((method, self.path, dict(self.headers)))
                with fake.lock:
                    status, body = fake.route(
                        method, url.path, parse_qs(url.query), self._body(), self.headers
                    )
                self._reply(status, body)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

        return Handler

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any
    ) -> tuple[int, Any]:
        if (method, path) == ("POST", "/auth/token"):
            if not body or self.users.get(body.get("username")) != body.get("password"):
                return 401, {"detail": "Invalid credentials"}
            token = secrets.token_hex(8)
            self.tokens.add(token)
            return 201, {"access_token": token}
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if token not in self.tokens:
            return 401, {"detail": "Not authenticated"}
        if self.expire_tokens:
            self.tokens.discard(token)
        parts = [unquote(p) for p in path.split("/")[3:]]  # after /api/v2
        if not path.startswith("/api/v2/dags/") or not parts:
            return 404, {"detail": "Not Found"}
        dag_id = parts[1]
        dag = self._parsed(dag_id) if len(parts) == 2 and method == "GET" else self.dags.get(dag_id)
        if dag is None:
            return 404, {"detail": f"The Dag with ID: `{dag_id}` was not found"}
        if len(parts) == 2:
            if method == "PATCH":
                dag["is_paused"] = bool(body["is_paused"])
            return 200, {k: v for k, v in dag.items() if k != "definition"}
        if parts[2] != "dagRuns":
            return 404, {"detail": "Not Found"}
        if len(parts) == 3 and method == "POST":
            run_id = body["dag_run_id"]
            if (dag_id, run_id) in self.runs:
                return 409, {"detail": f"DAG run {run_id} already exists"}
            if not re.fullmatch(r"[A-Za-z0-9_.~:+-]+", run_id):
                return 400, {"detail": "bad run id"}
            tasks = {
                t["task_id"]: {"task_id": t["task_id"], "state": None, "try_number": 0}
                for t in dag["definition"]["tasks"]
            }
            run = {
                "dag_run_id": run_id,
                "dag_id": dag_id,
                "state": "queued",
                "conf": body.get("conf") or {},
                "tasks": tasks,
            }
            self.runs[(dag_id, run_id)] = run
            if not dag["is_paused"]:  # a paused DAG's runs wait, as in Airflow
                thread = threading.Thread(target=self._execute, args=(dag, run), daemon=True)
                self.threads.append(thread)
                thread.start()
            return 200, _public(run)
        run = self.runs.get((dag_id, parts[3])) if len(parts) > 3 else None
        if run is None:
            return 404, {"detail": "DagRun not found"}
        if len(parts) == 4:
            if method == "PATCH":
                run["state"] = body["state"]
            return 200, _public(run)
        if parts[4] == "taskInstances":
            limit = min(int(query.get("limit", ["100"])[0]), self.page_size)
            offset = int(query.get("offset", ["0"])[0])
            items = list(run["tasks"].values())
            return 200, {"task_instances": items[offset : offset + limit], "total_entries": len(items)}
        return 404, {"detail": "Not Found"}


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "tasks"}


def definition_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    return {n: p["default"] for n, p in definition["param_specs"].items() if not p["required"]}
