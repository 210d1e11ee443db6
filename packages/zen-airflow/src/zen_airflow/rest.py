"""A small client of the Airflow 3 REST API (``/api/v2``), on the standard library.

Only what the orchestrator needs: see a DAG, unpause it, trigger a run, read the
run and its task instances, and stop it. Credentials come from the environment
and go only into the ``Authorization`` header: they are never logged and never
part of an error message.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from zen_core.errors import ZenError


class AirflowApiError(ZenError):
    """The Airflow API refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


class AirflowApi:
    """Calls one Airflow API server.

    Authenticates with a bearer ``token`` when given, else gets one from
    ``POST /auth/token`` with ``username``/``password`` (Airflow's simple and FAB
    auth managers), else sends no credentials.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._login = (username, password) if username else None
        self._timeout = timeout
        self._context = None if verify_tls else ssl._create_unverified_context()  # noqa: S323 - opted out

    def __repr__(self) -> str:  # never shows credentials
        return f"AirflowApi({self.base_url!r})"

    # -- transport ---------------------------------------------------------------
    def _send(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            token = self._bearer()
            if token:
                headers["Authorization"] = f"Bearer {token}"
        # base_url is the configured api_url, checked to be http(s)
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self._timeout, context=self._context) as resp:  # noqa: S310
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read())
            raise AirflowApiError(f"{method} {path}: HTTP {exc.code}{detail}", status=exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AirflowApiError(
                f"{method} {self.base_url}{path}: cannot reach Airflow ({reason})"
            ) from None
        return json.loads(raw) if raw.strip() else None

    def _bearer(self) -> str | None:
        if self._token is None and self._login is not None:
            username, password = self._login
            reply = self._send(
                "POST", "/auth/token", {"username": username, "password": password}, auth=False
            )
            if not isinstance(reply, dict) or not reply.get("access_token"):
                raise AirflowApiError("POST /auth/token: no access_token in the reply")
            self._token = str(reply["access_token"])
        return self._token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One API call; with a login, an expired token is renewed once."""
        try:
            return self._send(method, path, body)
        except AirflowApiError as exc:
            if exc.status != 401 or self._login is None:
                raise
            self._token = None
            return self._send(method, path, body)

    # -- the calls the orchestrator makes -------------------------------------------
    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        """The DAG as the deployment knows it, or None while it has not parsed it."""
        try:
            dag: dict[str, Any] = self.request("GET", f"/api/v2/dags/{_quote(dag_id)}")
        except AirflowApiError as exc:
            if exc.status == 404:
                return None
            raise
        return dag

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{_quote(dag_id)}", {"is_paused": paused})

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        run: dict[str, Any] = self.request("POST", f"/api/v2/dags/{_quote(dag_id)}/dagRuns", body)
        return run

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self.request("GET", f"/api/v2/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}")
        return run

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}", {"state": state})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        base = f"/api/v2/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}/taskInstances"
        while True:
            page = self.request("GET", f"{base}?limit=100&offset={len(out)}")
            items = page.get("task_instances", []) if isinstance(page, dict) else []
            out.extend(items)
            if not items or len(out) >= int(page.get("total_entries", 0)):
                return out


def _detail(raw: bytes) -> str:
    try:
        detail = json.loads(raw).get("detail")
    except (ValueError, AttributeError):
        detail = raw.decode(errors="replace").strip()[:300]
    return f": {detail}" if detail else ""
