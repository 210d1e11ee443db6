"""A real Kubernetes cluster (and image registry) for the kubernetes integration tests.

* **Cluster.** With ``KUBECONFIG`` set, that cluster is used as is (kind, minikube,
  anything) and left running. Otherwise ``tools/k8s-cluster/up.sh`` brings up the
  project's one-node cluster (building it first on a fresh machine) and
  ``tools/k8s-cluster/down.sh`` stops it at the end (``ZEN_K8S_KEEP_CLUSTER=1``
  keeps it).
* **Images** come through the ``zen_build_images`` hook (zen-docker), pushed to a
  registry the cluster pulls from: ``ZEN_TEST_REGISTRY`` (default the
  ``127.0.0.1:5000`` registry of ``tools/container-engine/setup.sh``, which this
  session starts when no Docker API answers, and stops again if it started it).
  ``ZEN_K8S_TEST_IMAGE=REF`` skips building and runs every pod in ``REF``;
  without zen-docker the session builds its own image from the wheels of zen-core
  and zen-k8s.
* **Artifact store**: a local folder declared ``shared``, mounted into pods by
  hostPath, under ``ZEN_K8S_TEST_STORE_ROOT`` (default: pytest's temporary
  folder; on kind it must be a folder the kind node mounts at the same path:
  ``tools/k8s-cluster/kind-up.sh`` prints it).
* Each session works in a fresh namespace ``zen-it-<random>`` with the RBAC the
  orchestrator Job needs, deleted at the end; after every test no Job or pod of
  zen may still be running there.

A cluster whose pods cannot reach the API server's Service (no kube-proxy, as on
the project's one-node cluster) gets the orchestrator pod on the host network
with ``KUBERNETES_SERVICE_HOST``/``PORT`` pointing at the kubeconfig's server.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_TOOLS = REPO_ROOT / "tools" / "k8s-cluster"
ENGINE_TOOLS = REPO_ROOT / "tools" / "container-engine"
POD_CODE = Path(__file__).resolve().parent / "pod_code"
DEFAULT_REGISTRY = "127.0.0.1:5000"
ORCHESTRATOR_SA = "zen-orchestrator"
UP_TIMEOUT = 1800  # a fresh machine builds the Kubernetes binaries first (~7 min on 2 cores)
LEFTOVER_TIMEOUT = 120

# the test steps (k8s_steps) import the same way here as in the pods
sys.path.insert(0, str(POD_CODE))


def parse_exports(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        parts = shlex.split(line, comments=True)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            env[key] = os.path.expandvars(value)
    return env


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# -- the cluster -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cluster() -> Iterator[SimpleNamespace]:
    started = False
    if not os.environ.get("KUBECONFIG"):
        t0 = time.monotonic()
        proc = subprocess.run(
            [str(CLUSTER_TOOLS / "up.sh")], capture_output=True, text=True, timeout=UP_TIMEOUT, check=False
        )
        if proc.returncode != 0:
            pytest.fail(
                f"tools/k8s-cluster/up.sh exited {proc.returncode}:\n{proc.stderr[-4000:]}", pytrace=False
            )
        os.environ.update(parse_exports(proc.stdout))
        started = True
        print(
            f"\ncluster started by tools/k8s-cluster/up.sh in {time.monotonic() - t0:.0f}s", file=sys.stderr
        )
    from zen_k8s.client import Kube

    kube = Kube.connect()
    try:
        kube.core.list_namespace(_request_timeout=10)
    except Exception as exc:
        pytest.fail(
            f"the cluster in KUBECONFIG={os.environ['KUBECONFIG']} does not answer: {exc}", pytrace=False
        )
    yield SimpleNamespace(kube=kube, started=started, server=kube.description)
    if started and not os.environ.get("ZEN_K8S_KEEP_CLUSTER"):
        subprocess.run([str(CLUSTER_TOOLS / "down.sh")], capture_output=True, timeout=300, check=False)


@pytest.fixture(scope="session")
def kube(cluster: SimpleNamespace) -> Any:
    return cluster.kube


@pytest.fixture(scope="session")
def orchestrator_pod(cluster: SimpleNamespace) -> dict[str, Any]:
    """Pod settings of the orchestrator Job: host network when Services are not routed."""
    from kubernetes.client.exceptions import ApiException

    try:
        endpoints = cluster.kube.core.read_namespaced_endpoints("kubernetes", "default")
        routed = bool(endpoints.subsets)
    except ApiException:
        routed = False
    if routed:
        return {}
    server = urlparse(cluster.server)
    return {
        "env": {
            "KUBERNETES_SERVICE_HOST": server.hostname,
            "KUBERNETES_SERVICE_PORT": str(server.port or 443),
        },
        "pod_spec_overrides": {"hostNetwork": True},
    }


@pytest.fixture(scope="session")
def namespace(kube: Any) -> Iterator[str]:
    from zen_k8s import manifests

    name = f"zen-it-{secrets.token_hex(3)}"
    kube.core.create_namespace({"metadata": {"name": name, "labels": {"zen.dev/test": "integration"}}})
    for obj in manifests.rbac(name, ORCHESTRATOR_SA):
        kube.apply(obj)
    wait_for(
        lambda: kube.core.list_namespaced_service_account(name).items, 30, "the namespace's service accounts"
    )
    yield name
    with contextlib.suppress(Exception):
        kube.core.delete_namespace(name, propagation_policy="Background")
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not _namespace_exists(kube, name), 90, f"namespace {name} to go away")


def _namespace_exists(kube: Any, name: str) -> bool:
    return any(ns.metadata.name == name for ns in kube.core.list_namespace().items)


# -- images ------------------------------------------------------------------------------------


def _registry_answers(address: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}/v2/", timeout=5) as resp:
            return bool(resp.status == 200)
    except Exception:
        return False


def _docker_answers() -> bool:
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env(version="1.41", timeout=10)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@pytest.fixture(scope="session")
def engine() -> Iterator[SimpleNamespace]:
    """A Docker API and a registry the cluster can pull from (started only if missing)."""
    home = Path(os.environ.get("ZEN_ENGINE_HOME") or Path.home() / ".cache" / "zen" / "engine")
    started = False
    registry = os.environ.get("ZEN_TEST_REGISTRY") or DEFAULT_REGISTRY
    if not _docker_answers() and (home / "env.sh").is_file():
        os.environ.update(parse_exports((home / "env.sh").read_text()))
        registry = os.environ.get("ZEN_TEST_REGISTRY") or registry
    if not (_docker_answers() and _registry_answers(registry)):
        proc = subprocess.run(
            [str(ENGINE_TOOLS / "setup.sh")], capture_output=True, text=True, timeout=900, check=False
        )
        if proc.returncode != 0:
            pytest.fail(f"tools/container-engine/setup.sh exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        os.environ.update(parse_exports(proc.stdout))
        registry = os.environ.get("ZEN_TEST_REGISTRY") or registry
        started = True
    if not _registry_answers(registry):
        pytest.fail(f"no image registry answers at {registry} (set ZEN_TEST_REGISTRY)", pytrace=False)
    yield SimpleNamespace(registry=registry, started=started)
    if started:
        subprocess.run([str(ENGINE_TOOLS / "teardown.sh")], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def images(request: pytest.FixtureRequest) -> SimpleNamespace:
    """How pods get their image: ``hook`` (zen-docker builds and pushes) or a fixed ``image``."""
    fixed = os.environ.get("ZEN_K8S_TEST_IMAGE")
    if fixed:
        return SimpleNamespace(mode="image", image=fixed, registry=None)
    eng = request.getfixturevalue("engine")
    if importlib.util.find_spec("zen_docker") is not None and not os.environ.get("ZEN_K8S_TEST_OWN_IMAGE"):
        return SimpleNamespace(mode="hook", image=None, registry=eng.registry)
    return SimpleNamespace(mode="image", image=build_own_image(eng.registry), registry=None)


def build_own_image(registry: str) -> str:
    """Without zen-docker: an image of the zen-core and zen-k8s wheels plus the test steps."""
    import docker

    sources = [REPO_ROOT / "packages" / p for p in ("zen-core", "zen-k8s")]
    digest = hashlib.sha256()
    for root in [*sources, POD_CODE]:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".pytest_cache" not in path.parts:
                digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    image = f"{registry}/zen-k8s-it:{digest.hexdigest()[:16]}"
    client = docker.from_env(version="1.41", timeout=1800)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        uv = shutil.which("uv") or "uv"
        subprocess.run(
            [uv, "build", "--wheel", "--out-dir", str(ctx / "wheels"), *map(str, sources)],
            check=True,
            capture_output=True,
        )
        shutil.copytree(POD_CODE, ctx / "code", ignore=shutil.ignore_patterns("__pycache__"))
        (ctx / "Dockerfile").write_text(
            "FROM python:3.11-slim\n"
            "COPY wheels/ /tmp/wheels/\n"
            "RUN python -m pip install --no-cache-dir /tmp/wheels/*.whl\n"
            "WORKDIR /app\nENV ZEN_SOURCE_ROOT=/app\nCOPY code/ /app/\n"
        )
        client.images.build(path=str(ctx), tag=image, rm=True)
    for line in client.images.push(image, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"pushing {image}: {line['error']}")
    return image


# -- the stack of one test -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = os.environ.get("ZEN_K8S_TEST_STORE_ROOT")
    if root:
        path = Path(root) / f"session-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        return path
    return tmp_path_factory.mktemp("k8s-stores")


@pytest.fixture(scope="session")
def base_config(namespace: str, orchestrator_pod: dict[str, Any], images: SimpleNamespace) -> dict[str, Any]:
    """The orchestrator config every test starts from."""
    config: dict[str, Any] = {
        "namespace": namespace,
        "service_account": ORCHESTRATOR_SA,
        "progress": "plain",
        "poll_interval": 1.0,
        "pending_timeout": 120,
        "orchestrator_pod": orchestrator_pod,
    }
    if images.image:
        config["image"] = images.image
    return config


def register_stack(
    store: Path, orchestrator: dict[str, Any], images: SimpleNamespace, name: str = "k8s-it"
) -> None:
    from zen_core import plugins
    from zen_core.stacks import StackManager

    plugins.reset()
    manager = StackManager()
    manager.register_component(
        "artifact_store", name, "local", {"path": str(store), "shared": True}, replace=True
    )
    manager.register_component("orchestrator", name, "kubernetes", orchestrator, replace=True)
    components = {"orchestrator": name, "artifact_store": name}
    if images.registry:
        manager.register_component(
            "container_registry", name, "default", {"uri": images.registry, "insecure": True}, replace=True
        )
        components["container_registry"] = name
    manager.register_stack(name, components, replace=True)
    manager.set_active(name)
    manager.save()


@pytest.fixture(scope="session")
def prebuilt(
    images: SimpleNamespace, base_config: dict[str, Any], store_root: Path, tmp_path_factory: Any
) -> str:
    """Build (or find) the steps' image once, before any test, so builds do not count as test time."""
    if images.image:
        return str(images.image)
    from zen_core.plugins import plugin_manager
    from zen_core.stacks import Stack, StackManager
    from zen_core.testing import pipelines as P

    old_cwd, old_cfg = os.getcwd(), os.environ.get("ZEN_CONFIG_DIR")
    cfg = tmp_path_factory.mktemp("prebuild-config")
    os.environ["ZEN_CONFIG_DIR"] = str(cfg)
    os.chdir(POD_CODE)
    try:
        register_stack(store_root / "prebuild", base_config, images)
        stack = Stack(manager=StackManager())
        t0 = time.monotonic()
        built = plugin_manager().hook.zen_build_images(spec=P.linear_chain.compile(), stack=stack)
        print(f"\nstep image ready in {time.monotonic() - t0:.0f}s: {built}", file=sys.stderr)
    finally:
        os.chdir(old_cwd)
        if old_cfg is None:
            os.environ.pop("ZEN_CONFIG_DIR", None)
        else:
            os.environ["ZEN_CONFIG_DIR"] = old_cfg
    assert built, "the image builder returned nothing"
    return str(next(iter(built.values())))


class K8s:
    """One test's stack, runs and cluster handles."""

    def __init__(
        self, root: Path, store: Path, base: dict[str, Any], images: SimpleNamespace, kube: Any, ns: str
    ):
        self.root = root
        self.store = store
        self.base = base
        self.images = images
        self.kube = kube
        self.namespace = ns
        self.config_dir = root / "zen-config"

    def configure(self, **overrides: Any) -> None:
        register_stack(self.store, {**self.base, **overrides}, self.images)

    @property
    def runs(self) -> Any:
        from zen_core.artifacts.store import ArtifactStore
        from zen_core.records import RunStore

        return RunStore(ArtifactStore(str(self.store)))

    def zen(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("zen", path=str(Path(sys.executable).parent))
        cmd = [exe] if exe else [sys.executable, "-m", "zen_core.cli.main"]
        env = {**os.environ, "ZEN_CONFIG_DIR": str(self.config_dir), "COLUMNS": "250", "NO_COLOR": "1"}
        env.pop("ZEN_STACK", None)
        return subprocess.run(
            [*cmd, *args], cwd=POD_CODE, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def jobs(self, run_id: str | None = None) -> list[dict[str, Any]]:
        from zen_k8s import manifests

        selector = manifests.run_selector(run_id) if run_id else "app.kubernetes.io/managed-by=zen"
        return self.kube.list_jobs(self.namespace, selector)

    def pods(self, run_id: str | None = None) -> list[dict[str, Any]]:
        from zen_k8s import manifests

        selector = manifests.run_selector(run_id) if run_id else "app.kubernetes.io/managed-by=zen"
        return self.kube.list_pods(self.namespace, selector)

    def wait_run(self, run_id: str, timeout: float = 300) -> Any:
        return wait_for(
            lambda: (r := self.runs.read_run(run_id)).status != "running" and r,
            timeout,
            f"run {run_id} to end",
        )

    def still_running(self, run_id: str | None = None) -> list[str]:
        """Names of zen Jobs still active and pods still pending or running (ours only)."""
        from zen_k8s.status import job_state

        left = [f"Job {j['metadata']['name']}" for j in self.jobs(run_id) if job_state(j).state == "active"]
        left += [
            f"pod {p['metadata']['name']} ({p['status'].get('phase')})"
            for p in self.pods(run_id)
            if p["status"].get("phase") in ("Pending", "Running")
        ]
        return left

    def assert_nothing_running(self, run_id: str | None = None, timeout: float = LEFTOVER_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = self.still_running(run_id)
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"still running {timeout:.0f}s after the test: {', '.join(left)}")
            time.sleep(2)


@pytest.fixture(scope="session")
def pod_code_dir() -> Path:
    """The folder copied into the step image as its code (the tests' working directory)."""
    return POD_CODE


@pytest.fixture(scope="session")
def checker(
    store_root: Path, base_config: dict[str, Any], images: SimpleNamespace, kube: Any, namespace: str
) -> K8s:
    """Cluster-wide checks (no stack of its own): ``checker.assert_nothing_running()``."""
    return K8s(store_root, store_root, base_config, images, kube, namespace)


@pytest.fixture
def k8s(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_root: Path,
    base_config: dict[str, Any],
    images: SimpleNamespace,
    prebuilt: str,
    kube: Any,
    namespace: str,
) -> Iterator[K8s]:
    monkeypatch.setenv("ZEN_CONFIG_DIR", str(tmp_path / "zen-config"))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.chdir(POD_CODE)
    store = store_root / tmp_path.name
    env = K8s(tmp_path, store, base_config, images, kube, namespace)
    env.configure()
    yield env
    env.assert_nothing_running()
