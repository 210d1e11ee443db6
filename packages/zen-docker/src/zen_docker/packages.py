"""The zen packages an image needs, at the versions installed on the client.

A package installed from an index goes into the image as ``name==version``. A
package installed from a local folder (``pip install -e packages/zen-core`` or
``pip install packages/zen-core``, what a clone of the monorepo does) or from a
local wheel file cannot be fetched from an index: in *development mode* its wheel
is built from that folder (``uv build --wheel``) and installed from the build
context. Development mode is on for exactly those packages by default; the
``dev_mode`` setting or ``ZEN_DOCKER_DEV_MODE=1|0`` forces it on or off.

Built wheels are cached by a hash of the package's source tree, so an unchanged
checkout never rebuilds them; images are tagged by a hash of the wheels' *contents*,
so a rebuilt but identical wheel does not change the image either.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from zen_core.errors import ZenError

from .ignore import DEFAULT_PATTERNS, IgnoreRules

DEV_MODE_ENV = "ZEN_DOCKER_DEV_MODE"
CACHE_ENV = "ZEN_DOCKER_CACHE_DIR"
#: Source-tree entries that never influence a wheel.
_TREE_IGNORE = (*DEFAULT_PATTERNS, "dist", "build", "**/*.egg-info", "**/.coverage", "site")
_KEEP_BUILDS = 8


def canonical(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return canonical(match.group(1)) if match else None


def dev_mode_from_env() -> bool | None:
    value = os.environ.get(DEV_MODE_ENV, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zen" / "docker"


# -- what is installed, and from where ----------------------------------------------------


@dataclass(frozen=True)
class InstalledPackage:
    name: str
    version: str
    local_dir: Path | None = None  # the project folder it was installed from
    local_wheel: Path | None = None  # the wheel file it was installed from

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


def installed_package(name: str) -> InstalledPackage:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise ZenError(
            f"package '{name}' is not installed here, so its version for the image is unknown"
        ) from None
    local_dir = local_wheel = None
    raw = dist.read_text("direct_url.json")
    if raw:
        try:
            info = json.loads(raw)
        except ValueError:
            info = {}
        url = info.get("url", "")
        if url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if "dir_info" in info and (path / "pyproject.toml").is_file():
                local_dir = path
            elif path.suffix == ".whl" and path.is_file():
                local_wheel = path
    return InstalledPackage(dist.metadata["Name"], dist.version, local_dir, local_wheel)


def find_in_checkout(name: str, start: Path) -> Path | None:
    """``packages/<name>`` (or ``<name>``) holding a pyproject.toml, in ``start`` or above."""
    for folder in (start, *start.parents):
        for candidate in (folder / "packages" / name, folder / name):
            if (candidate / "pyproject.toml").is_file():
                return candidate
    return None


# -- wheels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalWheel:
    name: str
    path: Path
    digest: str  # hash of the wheel's contents (entry names and bytes), not of the file
    requires: tuple[str, ...] = ()  # Requires-Dist lines that apply to a plain install


def wheel_digest_and_requires(path: Path) -> tuple[str, tuple[str, ...]]:
    h = hashlib.sha256()
    requires: tuple[str, ...] = ()
    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            data = zf.read(name)
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            if name.endswith(".dist-info/METADATA") and name.count("/") == 1:
                msg = email.parser.Parser().parsestr(data.decode("utf-8"))
                requires = tuple(
                    r.strip() for r in (msg.get_all("Requires-Dist") or []) if "extra ==" not in r
                )
    return h.hexdigest(), requires


def tree_digest(project_dir: Path) -> str:
    """A hash of every file of a project folder that could end up in its wheel."""
    rules = IgnoreRules(_TREE_IGNORE)
    h = hashlib.sha256()
    for rel, path in walk_files(project_dir, rules):
        h.update(rel.encode() + b"\0")
        if path.is_symlink():
            h.update(b"L" + os.readlink(path).encode())
        else:
            h.update(b"F" + file_digest(path).encode())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def walk_files(root: Path, rules: IgnoreRules) -> list[tuple[str, Path]]:
    """``(relative posix path, path)`` of every file or symlink under ``root`` not excluded, sorted."""
    out: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_base = base.relative_to(root).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        keep = []
        for d in sorted(dirnames):
            rel = prefix + d
            if (base / d).is_symlink():
                if not rules.excluded(rel):
                    out.append((rel, base / d))
            elif not rules.prunable(rel):
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            rel = prefix + f
            path = base / f
            if rules.excluded(rel):
                continue
            if path.is_symlink() or path.is_file():
                out.append((rel, path))
    out.sort()
    return out


WheelBuilder = Callable[[Path, Path], Path]


def _uv() -> list[str] | None:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return [str(find_uv_bin())]
    except (ImportError, FileNotFoundError, OSError):
        return None


def build_wheel(project_dir: Path, out_dir: Path) -> Path:
    """Build ``project_dir``'s wheel into ``out_dir`` with uv (else pip); return its path."""
    uv = _uv()
    if uv:
        cmd = [*uv, "build", "--wheel", "--quiet", "--out-dir", str(out_dir), str(project_dir)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out_dir),
            str(project_dir),
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(out_dir.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        hint = "" if uv else " (install uv, or pip, to build development wheels)"
        raise ZenError(f"building the wheel of {project_dir} failed{hint}: {' '.join(cmd)}\n{tail}")
    return wheels[0]


class WheelCache:
    """Wheels of local projects, cached by a hash of the project's source tree."""

    def __init__(self, root: Path | None = None, builder: WheelBuilder = build_wheel) -> None:
        self.root = (root or default_cache_dir()) / "wheels"
        self.builder = builder
        self.built: list[str] = []  # names of the wheels built (not cached) by this instance

    def for_project(self, name: str, project_dir: Path) -> LocalWheel:
        key = tree_digest(project_dir)[:32]
        folder = self.root / canonical(name) / key
        meta_file = folder / "wheel.json"
        if meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text())
                wheel = folder / meta["file"]
                if wheel.is_file():
                    touch(folder)
                    return LocalWheel(name, wheel, meta["digest"], tuple(meta["requires"]))
            except (ValueError, KeyError, OSError):
                pass  # a damaged entry: build again
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
        try:
            built = self.builder(project_dir, tmp)
            digest, requires = wheel_digest_and_requires(built)
            meta = {
                "file": built.name,
                "digest": digest,
                "requires": list(requires),
                "source": str(project_dir),
            }
            (tmp / "wheel.json").write_text(json.dumps(meta, indent=2))
            try:
                os.replace(tmp, folder)
            except OSError:  # another build got there first (or a damaged entry is in the way)
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.built.append(name)
        self._prune(folder.parent)
        return LocalWheel(name, folder / built.name, digest, requires)

    def for_file(self, name: str, wheel: Path) -> LocalWheel:
        digest, requires = wheel_digest_and_requires(wheel)
        return LocalWheel(name, wheel, digest, requires)

    @staticmethod
    def _prune(package_dir: Path) -> None:
        entries = [p for p in package_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[_KEEP_BUILDS:]:
            shutil.rmtree(old, ignore_errors=True)


# -- putting it together ------------------------------------------------------------------


@dataclass
class ZenInstall:
    """How the zen packages get into an image."""

    pins: list[str] = field(default_factory=list)  # name==version, from the index
    wheels: list[LocalWheel] = field(default_factory=list)  # built from the checkout
    dependencies: list[str] = field(default_factory=list)  # the wheels' own requirements

    @property
    def requirement_lines(self) -> list[str]:
        """What the dependency layer installs: the pins and the wheels' third-party needs."""
        return sorted(set(self.pins) | set(self.dependencies))


def resolve_zen_packages(
    names: Iterable[str],
    *,
    dev_mode: bool | None,
    cache: WheelCache,
    search_from: Path | None = None,
) -> ZenInstall:
    """Decide, for each distribution in ``names``, between a pin and a local wheel."""
    install = ZenInstall()
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop(0)
        key = canonical(name)
        if key in seen:
            continue
        seen.add(key)
        pkg = installed_package(name)
        local = dev_mode is not False and (pkg.local_dir or pkg.local_wheel)
        if dev_mode is True and not local:
            checkout = find_in_checkout(key, search_from or Path.cwd())
            if checkout is None:
                raise ZenError(
                    f"development mode is on but '{pkg.name}' was not installed from a local folder "
                    f"and no packages/{key}/pyproject.toml was found from {search_from or Path.cwd()} "
                    f"upwards; install it with 'pip install -e <checkout>/packages/{key}' or turn "
                    f"development mode off ({DEV_MODE_ENV}=0)"
                )
            install.wheels.append(cache.for_project(pkg.name, checkout))
        elif local and pkg.local_dir is not None:
            install.wheels.append(cache.for_project(pkg.name, pkg.local_dir))
        elif local and pkg.local_wheel is not None:
            install.wheels.append(cache.for_file(pkg.name, pkg.local_wheel))
        else:
            install.pins.append(pkg.pin)
            continue
        # A local package's requirements that are installed from local folders too (zen-vertex
        # needs zen-kubeflow) cannot come from an index either: their wheels go in as well.
        for req in install.wheels[-1].requires:
            dep = requirement_name(req)
            if dep and canonical(dep) not in seen and _installed_locally(dep):
                pending.append(dep)
    local_names = {canonical(w.name) for w in install.wheels}
    deps: set[str] = set()
    for wheel in install.wheels:
        for req in wheel.requires:
            if requirement_name(req) not in local_names:
                deps.add(req)
    install.dependencies = sorted(deps)
    return install


def _installed_locally(name: str) -> bool:
    try:
        pkg = installed_package(name)
    except ZenError:
        return False
    return pkg.local_dir is not None or pkg.local_wheel is not None


def client_pin(dist_name: str) -> str:
    """``name==version`` when installed here, else the bare name."""
    try:
        return f"{dist_name}=={metadata.version(dist_name)}"
    except metadata.PackageNotFoundError:
        return dist_name


def touch(path: Path) -> None:
    """Mark a cache entry as recently used."""
    now = time.time()
    os.utime(path, (now, now))
