"""Which zen packages go into an image, and the development-mode wheel cache."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import zen_core
from zen_core.errors import ZenError
from zen_docker.packages import (
    WheelCache,
    build_wheel,
    find_in_checkout,
    installed_package,
    requirement_name,
    resolve_zen_packages,
    tree_digest,
    wheel_digest_and_requires,
)

METADATA = """Metadata-Version: 2.3
Name: {name}
Version: 0.1.0
Requires-Dist: pydantic<3,>=2.6
Requires-Dist: zen-core>=0.1.0,<0.2
Requires-Dist: pytest>=8; extra == "testing"
Requires-Dist: tomli; python_version < "3.11"
"""


class FakeBuilder:
    """Writes a small wheel for a project folder; the zip's time stamps change every call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, project_dir: Path, out_dir: Path) -> Path:
        self.calls += 1
        name = project_dir.name.replace("-", "_")
        wheel = out_dir / f"{name}-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            for path in sorted(project_dir.rglob("*.py")):
                rel = path.relative_to(project_dir).as_posix()
                info = zipfile.ZipInfo(f"{name}/{rel}", date_time=(2000 + self.calls, 1, 1, 0, 0, 0))
                zf.writestr(info, path.read_bytes())
            stamp = (2000 + self.calls, 1, 1, 0, 0, 0)
            info = zipfile.ZipInfo(f"{name}-0.1.0.dist-info/METADATA", date_time=stamp)
            zf.writestr(info, METADATA.format(name=project_dir.name))
        return wheel


def make_project(root: Path, name: str = "zen-thing") -> Path:
    project = root / "packages" / name
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1.0"\n')
    (project / "src" / "mod.py").write_text("VALUE = 1\n")
    return project


def test_zen_core_here_is_installed_from_this_checkout():
    pkg = installed_package("zen-core")
    assert pkg.version == zen_core.__version__
    assert pkg.local_dir is not None or pkg.local_wheel is not None
    assert pkg.pin == f"zen-core=={zen_core.__version__}"


def test_unknown_package_is_an_error():
    with pytest.raises(ZenError, match="not installed"):
        installed_package("zen-no-such-package")


def test_dev_mode_off_pins_the_client_versions(tmp_path):
    names = ["zen-core", "zen-docker", "zen-core"]
    install = resolve_zen_packages(names, dev_mode=False, cache=WheelCache(tmp_path))
    assert install.pins == [f"zen-core=={zen_core.__version__}", "zen-docker==0.1.0"]
    assert install.wheels == []
    assert install.requirement_lines == sorted(install.pins)


def test_dev_mode_auto_builds_wheels_of_locally_installed_packages(tmp_path):
    builder = FakeBuilder()
    install = resolve_zen_packages(["zen-core"], dev_mode=None, cache=WheelCache(tmp_path, builder))
    assert [w.name for w in install.wheels] == ["zen-core"]
    assert install.pins == []
    # the wheels' own dependencies install in the dependency layer: extras and local names left out
    assert install.dependencies == ["pydantic<3,>=2.6", 'tomli; python_version < "3.11"']


def test_dev_mode_on_finds_a_package_in_the_checkout(tmp_path, monkeypatch):
    # pydantic is installed from an index; a checkout holding packages/pydantic stands in for it
    project = make_project(tmp_path / "repo", "pydantic")
    monkeypatch.chdir(project.parent.parent)
    cache = WheelCache(tmp_path / "c", FakeBuilder())
    install = resolve_zen_packages(["pydantic"], dev_mode=True, cache=cache)
    # the fake wheel requires zen-core, itself installed from a folder here: its wheel goes in too
    assert [w.name for w in install.wheels] == ["pydantic", "zen-core"]
    assert find_in_checkout("pydantic", project / "src") == project


def test_dev_mode_on_without_a_source_says_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ZenError, match="ZEN_DOCKER_DEV_MODE=0"):
        resolve_zen_packages(["pydantic"], dev_mode=True, cache=WheelCache(tmp_path, FakeBuilder()))


def test_wheel_cache_builds_once_per_source_tree(tmp_path):
    project = make_project(tmp_path)
    builder = FakeBuilder()
    cache = WheelCache(tmp_path / "cache", builder)
    first = cache.for_project("zen-thing", project)
    again = WheelCache(tmp_path / "cache", builder).for_project("zen-thing", project)
    assert builder.calls == 1
    assert again == first
    (project / "src" / "__pycache__").mkdir()
    (project / "src" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    cache.for_project("zen-thing", project)
    assert builder.calls == 1  # ignored files do not count
    (project / "src" / "mod.py").write_text("VALUE = 2\n")
    changed = cache.for_project("zen-thing", project)
    assert builder.calls == 2
    assert changed.digest != first.digest


def test_wheel_digest_ignores_zip_time_stamps(tmp_path):
    project = make_project(tmp_path)
    builder = FakeBuilder()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = builder(project, tmp_path / "a")
    digest_a, requires = wheel_digest_and_requires(a)
    b = builder(project, tmp_path / "b")
    assert a.read_bytes() != b.read_bytes()  # other time stamps, other bytes
    assert wheel_digest_and_requires(b)[0] == digest_a
    assert "pydantic<3,>=2.6" in requires and not any("extra ==" in r for r in requires)


def test_tree_digest_follows_content_not_time(tmp_path):
    project = make_project(tmp_path)
    before = tree_digest(project)
    (project / "src" / "mod.py").touch()
    assert tree_digest(project) == before
    (project / "src" / "new.py").write_text("")
    assert tree_digest(project) != before


def test_requirement_name():
    assert requirement_name("Zen_Core>=0.1") == "zen-core"
    assert requirement_name('tomli; python_version < "3.11"') == "tomli"
    assert requirement_name("   ") is None


def test_real_wheel_build_of_zen_core_is_reproducible(tmp_path):
    """uv (or pip) builds zen-core's wheel; two builds have the same content digest."""
    source = installed_package("zen-core").local_dir
    if source is None:
        pytest.skip("zen-core is not installed from a source folder here")
    one = WheelCache(tmp_path / "one", build_wheel).for_project("zen-core", source)
    two = WheelCache(tmp_path / "two", build_wheel).for_project("zen-core", source)
    assert one.path.name.startswith("zen_core-") and one.path.suffix == ".whl"
    assert one.digest == two.digest
    assert any(r.startswith("pydantic") for r in one.requires)
