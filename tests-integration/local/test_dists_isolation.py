"""The built distributions are complete, and zen-core + zen-local install alone.

``tools/build_dists.py`` builds a wheel and an sdist of every package under
``packages/``. A fresh venv then installs zen-core and zen-local *from those
wheels* (their PyPI dependencies from the index) and must hold nothing else of
zen's: no other flavor package, none of the backends' SDKs, nothing that their
declared dependencies do not pull in. That is "install only what you need",
proved on the artifacts a user would get.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

#: Flavor packages that must not come along with zen-core + zen-local.
OTHER_ZEN_PACKAGES = (
    "zen-docker",
    "zen-k8s",
    "zen-kubeflow",
    "zen-vertex",
    "zen-airflow",
    "zen-github",
    "zen-plugin-example",
)
#: distribution -> import name of each backend SDK that must not be installed.
BACKEND_SDKS = {
    "docker": "docker",
    "kubernetes": "kubernetes",
    "kfp": "kfp",
    "google-cloud-aiplatform": "google.cloud.aiplatform",
    "apache-airflow": "airflow",
    "PyGithub": "github",
}

TINY_PIPELINE = """
from zen_core import pipeline, step


@step
def numbers() -> list[int]:
    return [1, 2, 3]


@step
def double(values: list[int]) -> list[int]:
    return [2 * v for v in values]


@step
def total(values: list[int]) -> int:
    print(f"total of {values}")
    return sum(values)


@pipeline
def tiny():
    total(double(numbers()))
"""


def dist_name(name: str) -> str:
    """A distribution's name as wheel and sdist file names spell it."""
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def build_dists(repo_root: Path) -> ModuleType:
    """tools/build_dists.py, imported from its file (tools/ is not a package)."""
    path = repo_root / "tools" / "build_dists.py"
    spec = importlib.util.spec_from_file_location("build_dists", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dists")


@pytest.fixture(scope="module")
def build_outcome(build_dists: ModuleType, dist_dir: Path) -> tuple[dict[str, list[Path]], Any]:
    """Every package built into ``dist_dir`` by the tool: (what built, the error if any).

    ``keep_going`` so one broken package fails the test about building, not the
    checks of the packages that did build.
    """
    lines: list[str] = []
    try:
        built = build_dists.build_all(dist_dir, log=lines.append, keep_going=True)
    except build_dists.BuildError as exc:
        return exc.built, exc
    assert lines and "Building" in lines[0]
    return built, None


@pytest.fixture(scope="module")
def built(build_outcome: tuple[dict[str, list[Path]], Any]) -> dict[str, list[Path]]:
    """{distribution name: [wheel, sdist]} of the packages that built; zen-core and zen-local must."""
    built, error = build_outcome
    for name in ("zen-core", "zen-local"):
        if name not in built:
            pytest.fail(f"{name} did not build: {error}\n{error.output if error else ''}")
    return built


@pytest.fixture(scope="module")
def venv(
    tmp_path_factory: pytest.TempPathFactory,
    venv_factory: Any,
    dist_dir: Path,
    built: dict[str, list[Path]],
    packages: dict[str, dict[str, Any]],
) -> Any:
    """A venv with zen-core and zen-local installed by name from the built wheels.

    The versions are pinned to the ones just built: the name ``zen-core`` is also
    used on PyPI by an unrelated project, which an unpinned request could pick.
    """
    pins = [f"{name}=={packages[name]['version']}" for name in ("zen-core", "zen-local")]
    venv = venv_factory(tmp_path_factory.mktemp("isolated") / "venv")
    venv.install("--find-links", dist_dir, *pins)
    return venv


# -- the distributions ---------------------------------------------------------------


def test_every_package_has_exactly_one_wheel_and_one_sdist_of_its_version(
    build_outcome: tuple[dict[str, list[Path]], Any], dist_dir: Path, packages: dict[str, dict[str, Any]]
) -> None:
    built, error = build_outcome
    if error is not None:
        pytest.fail(f"{error.package} failed to build: {error}\n{error.output[-4000:]}")
    assert set(built) == set(packages), "build_all must build every package under packages/"
    assert {"zen-core", "zen-local"} <= set(packages)
    all_files = sorted(p.name for p in dist_dir.iterdir())
    for name, project in packages.items():
        stem = dist_name(name)
        wheels = [f for f in all_files if f.endswith(".whl") and f.split("-")[0].lower() == stem]
        sdists = [f for f in all_files if f.endswith(".tar.gz") and f.rpartition("-")[0].lower() == stem]
        assert len(wheels) == 1 and len(sdists) == 1, (name, all_files)
        assert wheels[0].startswith(f"{stem}-{project['version']}-") and wheels[0].endswith("-none-any.whl")
        assert sdists[0] == f"{stem}-{project['version']}.tar.gz"
        assert sorted(p.name for p in built[name]) == sorted([wheels[0], sdists[0]])
        assert all(p.parent == dist_dir and p.stat().st_size > 0 for p in built[name])
    # nothing but the distributions is left behind (no scratch folders)
    assert len(all_files) == 2 * len(packages), all_files


def test_sdists_hold_pyproject_readme_and_sources(
    built: dict[str, list[Path]], packages: dict[str, dict[str, Any]]
) -> None:
    for name, project in packages.items():
        if name not in built:
            continue  # reported by the test above
        sdist = next(p for p in built[name] if p.name.endswith(".tar.gz"))
        root = f"{dist_name(name)}-{project['version']}"
        with tarfile.open(sdist) as tar:
            members = set(tar.getnames())
            pyproject = tar.extractfile(f"{root}/pyproject.toml")
            assert pyproject is not None
            text = pyproject.read().decode()
        readme = project.get("readme", "README.md")
        readme = readme if isinstance(readme, str) else readme["file"]
        import_name = dist_name(name)
        for required in ("pyproject.toml", readme, "PKG-INFO", f"src/{import_name}/__init__.py"):
            assert f"{root}/{required}" in members, (sdist.name, required, sorted(members))
        src = project["path"] / "src" / import_name
        for source in src.rglob("*.py"):
            assert f"{root}/{source.relative_to(project['path']).as_posix()}" in members, source
        assert f'name = "{name}"' in text and f'version = "{project["version"]}"' in text
        junk = [m for m in members if "__pycache__" in m or m.endswith(".pyc") or "/.venv/" in m]
        assert not junk, junk


def test_wheels_hold_the_package_and_its_entry_points(
    built: dict[str, list[Path]], packages: dict[str, dict[str, Any]]
) -> None:
    for name, project in packages.items():
        if name not in built:
            continue  # reported by the test above
        wheel = next(p for p in built[name] if p.name.endswith(".whl"))
        import_name = dist_name(name)
        info = f"{import_name}-{project['version']}.dist-info"
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            metadata = zf.read(f"{info}/METADATA").decode()
            entry_points = (
                zf.read(f"{info}/entry_points.txt").decode() if f"{info}/entry_points.txt" in names else ""
            )
        assert f"{import_name}/__init__.py" in names, sorted(names)
        assert f"\nVersion: {project['version']}\n" in metadata
        assert not [n for n in names if "__pycache__" in n or n.startswith(("src/", "tests/"))]
        # every package plugs into zen the same way, through the `zen` entry-point group
        if project.get("entry-points", {}).get("zen"):
            assert "[zen]" in entry_points, (wheel.name, entry_points)
        if name == "zen-core":
            assert "[console_scripts]" in entry_points and "zen = zen_core.cli.main:main" in entry_points


def test_build_dists_cli_rejects_an_unknown_package(
    build_dists: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_dists.main(["--packages", "zen-core,zen-nonexistent", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "zen-nonexistent" in err and "no such package" in err
    assert not list(tmp_path.iterdir())


# -- zen-core + zen-local, installed from those wheels alone -----------------------------


def test_installed_files_come_from_the_built_wheels(venv: Any, built: dict[str, list[Path]]) -> None:
    purelib = Path(
        venv.python_json("import json, sysconfig; print(json.dumps(sysconfig.get_paths()['purelib']))")
    )
    for name in ("zen-core", "zen-local"):
        wheel = next(p for p in built[name] if p.name.endswith(".whl"))
        with zipfile.ZipFile(wheel) as zf:
            files = [n for n in zf.namelist() if n.startswith(f"{dist_name(name)}/")]
            assert files
            for member in files:
                installed = purelib / member
                assert installed.is_file(), f"{member} of {wheel.name} is not installed"
                assert wheel_hash(installed.read_bytes()) == wheel_hash(zf.read(member)), (
                    f"{member} differs from {wheel.name}: installed from somewhere else?"
                )


def test_no_other_zen_distribution_is_installed(venv: Any) -> None:
    dists = venv.distributions()
    zen_dists = sorted(d for d in dists if d.startswith("zen-"))
    assert zen_dists == ["zen-core", "zen-local"], zen_dists
    assert not set(OTHER_ZEN_PACKAGES) & set(dists)
    plugins = venv.python_json(
        "import json, importlib.metadata as m\n"
        "print(json.dumps(sorted(f'{ep.name}={ep.value}' for ep in m.entry_points(group='zen'))))"
    )
    assert plugins == ["core=zen_core.builtins", "local=zen_local.plugin"]


def test_no_backend_sdk_is_installed_or_importable(venv: Any) -> None:
    code = textwrap.dedent(f"""
        import importlib, importlib.metadata as m, json
        found = {{}}
        for dist, module in {BACKEND_SDKS!r}.items():
            try:
                found[dist] = "installed " + m.version(dist)
                continue
            except m.PackageNotFoundError:
                pass
            try:
                importlib.import_module(module)
                found[dist] = "importable as " + module
            except ImportError:
                pass
        print(json.dumps(found))
    """)
    assert venv.python_json(code) == {}


def test_everything_installed_is_required_by_zen_core_or_zen_local(venv: Any) -> None:
    """The venv is exactly the dependency closure of zen-core + zen-local: nothing extra."""
    packaging_requirements = pytest.importorskip("packaging.requirements")
    dump = venv.python_json(
        textwrap.dedent("""
        import importlib.metadata as m, json
        print(json.dumps({d.metadata["Name"]: d.requires or [] for d in m.distributions()}))
    """)
    )
    requires = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in dump.items()}
    needed: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [("zen-core", frozenset()), ("zen-local", frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        needed.add(name)
        for text in requires.get(name, []):
            req = packaging_requirements.Requirement(text)
            if req.marker is not None and not any(
                req.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            ):
                continue
            todo.append((re.sub(r"[-_.]+", "-", req.name).lower(), frozenset(req.extras)))
    missing = needed - set(requires)
    extra = set(requires) - needed
    assert not missing, f"required but not installed: {sorted(missing)}"
    assert not extra, f"installed but required by neither zen-core nor zen-local: {sorted(extra)}"


def test_flavor_list_works(venv: Any, tmp_path: Path) -> None:
    out = venv.zen("orchestrator", "flavor", "list", config_dir=tmp_path / "cfg").stdout
    rows = [line for line in out.splitlines() if "zen-" in line]
    assert len(rows) == 1 and re.search(r"\blocal\b.*\bzen-local\b.*\b0\.1\.0\b", rows[0]), out
    stores = venv.zen("artifact-store", "flavor", "list", config_dir=tmp_path / "cfg").stdout
    assert re.search(r"\blocal\b.*\bzen-core\b", stores) and re.search(r"\bfsspec\b.*\bzen-core\b", stores)
    assert venv.zen("--version", config_dir=tmp_path / "cfg").stdout.strip().endswith("0.1.0")


def test_a_tiny_pipeline_runs_on_the_local_stack(venv: Any, tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    (tmp_path / "tiny_pipeline.py").write_text(TINY_PIPELINE)
    proc = venv.zen("pipeline", "run", "tiny_pipeline.py:tiny", config_dir=config_dir, cwd=tmp_path)
    assert "total of [2, 4, 6]" in proc.stdout, proc.stdout + proc.stderr

    runs = json.loads(venv.zen("run", "list", "--json", config_dir=config_dir).stdout)
    assert len(runs) == 1
    run = runs[0]
    assert (run["pipeline"], run["status"], run["stack"], run["orchestrator"]) == (
        "tiny",
        "completed",
        "default",
        "local",
    )
    shown = json.loads(venv.zen("run", "show", run["run_id"], "--json", config_dir=config_dir).stdout)
    assert {sid: s["status"] for sid, s in shown["steps"].items()} == {
        "numbers": "completed",
        "double": "completed",
        "total": "completed",
    }
    # the output, read back with the materializer through the Python API
    value = venv.python_json(
        textwrap.dedent(f"""
        import json
        from zen_core.records import RunStore
        from zen_core.run import RunResult
        from zen_core.stacks import Stack
        runs = RunStore(Stack().artifact_store)
        print(json.dumps(RunResult(run=runs.read_run({run["run_id"]!r}), runs=runs).load("total")))
    """),
        config_dir=config_dir,
    )
    assert value == 12
