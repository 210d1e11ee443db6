"""A thin layer over the official ``kubernetes`` client, speaking plain dicts.

Objects go in and come out as the API's own JSON (``_preload_content=False``), so
the rest of zen-k8s (and its tests, through a fake) never touches the client's
model classes, and works the same with every client release in the supported range.
The ``kubernetes`` package is imported here only, when a client is made.
"""

from __future__ import annotations

import json
from typing import Any

from zen_core.errors import ZenError

#: (connect, read) seconds of every API call.
REQUEST_TIMEOUT = (10, 60)


class KubeError(ZenError):
    """A Kubernetes API call failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Kube:
    """The few API calls zen-k8s makes. Every method raises :class:`KubeError` on failure."""

    def __init__(self, api_client: Any, *, description: str = "") -> None:
        from kubernetes import client

        self.api_client = api_client
        self.description = description
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.rbac = client.RbacAuthorizationV1Api(api_client)

    @classmethod
    def connect(
        cls, *, kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False
    ) -> Kube:
        """A client from a kubeconfig (default ``$KUBECONFIG``/``~/.kube/config``) or in-cluster config."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=configuration)
            else:
                config.load_kube_config(
                    config_file=kubeconfig, context=context, client_configuration=configuration
                )
        except (ConfigException, OSError, TypeError) as exc:
            where = (
                "in-cluster service account" if in_cluster else (kubeconfig or "$KUBECONFIG/~/.kube/config")
            )
            raise KubeError(f"cannot load Kubernetes credentials from {where}: {exc}") from None
        return cls(client.ApiClient(configuration), description=str(configuration.host))

    # -- plumbing -------------------------------------------------------------------
    def _call(self, what: str, method: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            response = method(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise KubeError(f"{what}: {_api_message(exc)}", int(exc.status or 0)) from None
        except (HTTPError, OSError) as exc:
            raise KubeError(
                f"{what}: cannot reach the Kubernetes API server {self.description}: {exc}"
            ) from None
        data = response.data
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            return data.decode(errors="replace")

    # -- Jobs -----------------------------------------------------------------------
    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"].get("name", "")
        result: dict[str, Any] = self._call(
            f"creating Job {namespace}/{name}", self.batch.create_namespaced_job, namespace, body
        )
        return result

    def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call(
            f"reading Job {namespace}/{name}",
            self.batch.read_namespaced_job,
            name,
            namespace,
            missing_ok=True,
        )
        return result

    def list_jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = self._call(
            f"listing Jobs in {namespace}", self.batch.list_namespaced_job, namespace, label_selector=selector
        )
        return list(result.get("items") or [])

    def delete_job(self, namespace: str, name: str) -> bool:
        """Delete a Job and (in the background) its pods and the Jobs it owns; False if absent."""
        result = self._call(
            f"deleting Job {namespace}/{name}",
            self.batch.delete_namespaced_job,
            name,
            namespace,
            missing_ok=True,
            propagation_policy="Background",
        )
        return result is not None

    def delete_jobs(self, namespace: str, selector: str) -> None:
        self._call(
            f"deleting Jobs in {namespace}",
            self.batch.delete_collection_namespaced_job,
            namespace,
            label_selector=selector,
            propagation_policy="Background",
        )

    # -- pods -----------------------------------------------------------------------
    def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = self._call(
            f"listing pods in {namespace}", self.core.list_namespaced_pod, namespace, label_selector=selector
        )
        return list(result.get("items") or [])

    def delete_pods(self, namespace: str, selector: str, grace_seconds: int | None = None) -> None:
        kwargs: dict[str, Any] = {"label_selector": selector}
        if grace_seconds is not None:
            kwargs["grace_period_seconds"] = grace_seconds
        self._call(
            f"deleting pods in {namespace}", self.core.delete_collection_namespaced_pod, namespace, **kwargs
        )

    def pod_log(self, namespace: str, name: str, container: str, tail_lines: int | None = None) -> str:
        """The pod's log ("" when there is none, e.g. the container never started)."""
        kwargs: dict[str, Any] = {"container": container}
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        try:
            result = self._call(
                f"reading the log of pod {namespace}/{name}",
                self.core.read_namespaced_pod_log,
                name,
                namespace,
                **kwargs,
            )
        except KubeError as exc:
            if exc.status in (400, 404):  # container not started / pod gone
                return ""
            raise
        if isinstance(result, dict):  # a JSON-looking log line got parsed
            return json.dumps(result)
        return str(result or "")

    def events(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """Events about one object, oldest first (``[]`` when they cannot be read)."""
        try:
            result = self._call(
                f"listing events of {kind} {namespace}/{name}",
                self.core.list_namespaced_event,
                namespace,
                field_selector=f"involvedObject.kind={kind},involvedObject.name={name}",
            )
        except KubeError:
            return []
        items = list(result.get("items") or [])
        return sorted(items, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    def service_account_exists(self, namespace: str, name: str) -> bool | None:
        """True/False, or None when this client may not read service accounts."""
        try:
            found = self._call(
                f"reading ServiceAccount {namespace}/{name}",
                self.core.read_namespaced_service_account,
                name,
                namespace,
                missing_ok=True,
            )
        except KubeError as exc:
            if exc.status == 403:
                return None
            raise
        return found is not None

    # -- CronJobs -------------------------------------------------------------------
    def create_cron_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        result: dict[str, Any] = self._call(
            f"creating CronJob {namespace}/{name}", self.batch.create_namespaced_cron_job, namespace, body
        )
        return result

    def replace_cron_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        result: dict[str, Any] = self._call(
            f"replacing CronJob {namespace}/{name}",
            self.batch.replace_namespaced_cron_job,
            name,
            namespace,
            body,
        )
        return result

    def get_cron_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call(
            f"reading CronJob {namespace}/{name}",
            self.batch.read_namespaced_cron_job,
            name,
            namespace,
            missing_ok=True,
        )
        return result

    def list_cron_jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = self._call(
            f"listing CronJobs in {namespace}",
            self.batch.list_namespaced_cron_job,
            namespace,
            label_selector=selector,
        )
        return list(result.get("items") or [])

    def delete_cron_job(self, namespace: str, name: str) -> bool:
        result = self._call(
            f"deleting CronJob {namespace}/{name}",
            self.batch.delete_namespaced_cron_job,
            name,
            namespace,
            missing_ok=True,
            propagation_policy="Background",
        )
        return result is not None

    # -- RBAC -----------------------------------------------------------------------
    def apply(self, obj: dict[str, Any]) -> str:
        """Create a ServiceAccount, Role or RoleBinding, or replace it if it exists."""
        kind, meta = obj["kind"], obj["metadata"]
        ns, name = meta["namespace"], meta["name"]
        create, replace = {
            "ServiceAccount": (self.core.create_namespaced_service_account, None),
            "Role": (self.rbac.create_namespaced_role, self.rbac.replace_namespaced_role),
            "RoleBinding": (
                self.rbac.create_namespaced_role_binding,
                self.rbac.replace_namespaced_role_binding,
            ),
        }[kind]
        try:
            self._call(f"creating {kind} {ns}/{name}", create, ns, obj)
            return "created"
        except KubeError as exc:
            if exc.status != 409:
                raise
        if replace is None:
            return "unchanged"
        self._call(f"replacing {kind} {ns}/{name}", replace, name, ns, obj)
        return "replaced"


def _api_message(exc: Any) -> str:
    """The API's own message of an ApiException (its JSON Status body), else its reason."""
    try:
        body = json.loads(exc.body)
        return f"{exc.status} {body.get('reason') or exc.reason}: {body.get('message')}"
    except (TypeError, ValueError, AttributeError):
        return f"{exc.status} {exc.reason}"
