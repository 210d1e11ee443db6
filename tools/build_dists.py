#!/usr/bin/env python3
"""Build a wheel and an sdist of every package under ``packages/``.

Every folder ``packages/<name>/`` with a ``pyproject.toml`` is a separately
versioned distribution; this builds each one into one output folder::

    python tools/build_dists.py                          # all packages into dist/
    python tools/build_dists.py --packages zen-core,zen-local --out /tmp/dists

Builds use ``uv build`` (sdist first, then the wheel *from that sdist*, so a file
missing from the sdist breaks the build here rather than for a user), and fall
back to ``python -m build`` only when uv is not installed. Each package is built
into a scratch folder first, so the files reported are exactly the ones this
build made, then moved into the output folder (replacing files of the same name).

It prints each package's name and version, progress as it goes, and the built
files with their sizes; when a build fails it prints the builder's output and
exits non-zero naming the package. It imports nothing outside the standard
library, so it runs with any Python 3.10+, and tests can import it::

    from build_dists import build_all
    built = build_all(out_dir)          # {"zen-core": [wheel, sdist], ...}
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES_DIR = REPO_ROOT / "packages"

Log = Callable[[str], None]


class BuildError(Exception):
    """A package could not be built; ``package`` names it, ``output`` is the builder's output."""

    def __init__(self, package: str, message: str, output: str = "") -> None:
        super().__init__(message)
        self.package = package
        self.output = output
        #: what did build, when ``build_all(keep_going=True)`` raises: {name: [wheel, sdist]}
        self.built: dict[str, list[Path]] = {}


class Package(NamedTuple):
    # a NamedTuple, not a dataclass: this file may be loaded with importlib from its
    # path without being put in sys.modules, which dataclasses' annotations need
    name: str
    version: str
    path: Path

    @property
    def dist_name(self) -> str:
        """The name as it appears in wheel and sdist file names (PEP 427 / PEP 625)."""
        return normalize(self.name).replace("-", "_")


def normalize(name: str) -> str:
    """PEP 503 normalized name: ``Zen_Core`` -> ``zen-core``."""
    return re.sub(r"[-_.]+", "-", name).lower()


# -- reading pyproject.toml -----------------------------------------------------


def _parse_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    try:  # Python 3.10
        import tomli  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError:
        return _parse_project_table(text)
    parsed: dict[str, Any] = tomli.loads(text)
    return parsed


def _parse_project_table(text: str) -> dict[str, Any]:
    """Just ``[project] name/version`` for Pythons without a TOML parser."""
    project: dict[str, str] = {}
    in_project = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_project = stripped == "[project]"
            continue
        m = re.match(r'(name|version)\s*=\s*["\']([^"\']*)["\']', stripped)
        if in_project and m:
            project[m.group(1)] = m.group(2)
    return {"project": project}


def read_package(project_dir: Path) -> Package:
    pyproject = project_dir / "pyproject.toml"
    project = _parse_toml(pyproject.read_text(encoding="utf-8")).get("project", {})
    name, version = project.get("name"), project.get("version")
    if not name or not version:
        raise BuildError(project_dir.name, f"{pyproject} needs a static [project] name and version")
    return Package(name=name, version=version, path=project_dir)


def discover(packages_dir: Path = PACKAGES_DIR) -> list[Package]:
    """Every ``packages/*/pyproject.toml``, sorted by name."""
    return sorted(
        (read_package(p.parent) for p in packages_dir.glob("*/pyproject.toml")), key=lambda p: p.name
    )


def select(available: list[Package], names: Iterable[str] | None) -> list[Package]:
    """The packages named (by distribution or folder name), in the order given."""
    if names is None:
        return available
    by_name = {normalize(p.name): p for p in available}
    by_name.update({normalize(p.path.name): p for p in available})
    chosen: list[Package] = []
    unknown = []
    for name in names:
        pkg = by_name.get(normalize(name.strip()))
        if pkg is None:
            unknown.append(name)
        elif pkg not in chosen:
            chosen.append(pkg)
    if unknown:
        have = ", ".join(p.name for p in available) or "none"
        raise BuildError(", ".join(unknown), f"no such package under {PACKAGES_DIR} (have: {have})")
    return chosen


# -- building -------------------------------------------------------------------


def find_uv() -> str | None:
    """The uv executable: on PATH, or the one the ``uv`` Python package ships."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except (FileNotFoundError, OSError):
        return None


def builder_command(project_dir: Path, out_dir: Path) -> tuple[str, list[str]]:
    """(label, argv) of the command that builds an sdist and a wheel of ``project_dir``."""
    uv = find_uv()
    if uv:
        # --no-sources: build exactly as pip or a user would, ignoring [tool.uv.sources]
        return "uv build", [uv, "build", "--no-sources", "--out-dir", str(out_dir), str(project_dir)]
    try:
        import build  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        raise BuildError(
            project_dir.name,
            "neither uv nor the 'build' package is installed; install one of them: pip install uv",
        ) from None
    return "python -m build", [sys.executable, "-m", "build", "--outdir", str(out_dir), str(project_dir)]


def _expected(pkg: Package, files: list[Path]) -> list[Path]:
    """Check the builder made one wheel and one sdist of the right name and version."""
    wheels = [f for f in files if f.name.endswith(".whl")]
    sdists = [f for f in files if f.name.endswith(".tar.gz")]
    problems = []
    if len(wheels) != 1 or len(sdists) != 1:
        problems.append(f"expected one wheel and one sdist, got {sorted(f.name for f in files) or 'nothing'}")
    for f in wheels:
        name, version = f.name.split("-")[:2]
        if (normalize(name), version) != (normalize(pkg.name), pkg.version):
            problems.append(f"wheel {f.name} is not {pkg.name} {pkg.version}")
    for f in sdists:
        stem = f.name[: -len(".tar.gz")]
        name, _, version = stem.rpartition("-")
        if (normalize(name), version) != (normalize(pkg.name), pkg.version):
            problems.append(f"sdist {f.name} is not {pkg.name} {pkg.version}")
    if problems:
        raise BuildError(pkg.name, "; ".join(problems))
    return [wheels[0], sdists[0]]


def build_package(pkg: Package, out_dir: Path, *, log: Log = print, verbose: bool = False) -> list[Path]:
    """Build ``pkg``'s wheel and sdist into ``out_dir``; returns [wheel, sdist]."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".build-{pkg.dist_name}-", dir=out_dir) as scratch:
        label, cmd = builder_command(pkg.path, Path(scratch))
        log(f"  building with {label} ...")
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=pkg.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
        if verbose and proc.stdout:
            log(_indent(proc.stdout))
        if proc.returncode != 0:
            raise BuildError(
                pkg.name, f"build failed: {label} exited with code {proc.returncode}", proc.stdout or ""
            )
        built = _expected(pkg, [f for f in Path(scratch).iterdir() if f.name.endswith((".whl", ".tar.gz"))])
        final = []
        for f in built:
            target = out_dir / f.name
            if target.exists():
                target.unlink()
            shutil.move(str(f), target)
            final.append(target)
    log(f"  built in {time.perf_counter() - started:.1f}s:")
    width = max(len(f.name) for f in final)
    for f in final:
        log(f"    {f.name:<{width}}  {human_size(f.stat().st_size):>10}")
    return final


def build_all(
    out_dir: Path | str = REPO_ROOT / "dist",
    packages: Iterable[str] | None = None,
    *,
    log: Log = print,
    verbose: bool = False,
    keep_going: bool = False,
    packages_dir: Path = PACKAGES_DIR,
) -> dict[str, list[Path]]:
    """Build a wheel and an sdist of each package (default: all) into ``out_dir``.

    Returns ``{distribution name: [wheel path, sdist path]}``. Raises
    :class:`BuildError` naming the package that failed: the first one, or with
    ``keep_going`` every one, after building all the others (then the error's
    ``built`` holds what did build).
    """
    out = Path(out_dir).resolve()
    chosen = select(discover(packages_dir), list(packages) if packages is not None else None)
    if not chosen:
        raise BuildError("(none)", f"no packages found under {packages_dir}")
    log(f"Building {len(chosen)} package(s) into {out}")
    results: dict[str, list[Path]] = {}
    failures: list[BuildError] = []
    for i, pkg in enumerate(chosen, 1):
        log(f"[{i}/{len(chosen)}] {pkg.name} {pkg.version} ({_rel(pkg.path)})")
        try:
            results[pkg.name] = build_package(pkg, out, log=log, verbose=verbose)
        except BuildError as exc:
            if not keep_going:
                raise
            log(f"  FAILED: {exc}")
            failures.append(exc)
    if failures:
        error = failures[0]
        if len(failures) > 1:
            error = BuildError(
                ", ".join(f.package for f in failures),
                f"{len(failures)} builds failed: " + "; ".join(f"{f.package}: {f}" for f in failures),
                "\n".join(f"== {f.package} ==\n{f.output}" for f in failures),
            )
        error.built = results
        raise error
    return results


# -- helpers and command line ------------------------------------------------------


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _indent(text: str, prefix: str = "    | ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--packages", metavar="A,B", help="Comma-separated package names to build (default: every package)."
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=str(REPO_ROOT / "dist"),
        help="Output folder (default: dist/ at the repository root).",
    )
    parser.add_argument(
        "--keep-going",
        "-k",
        action="store_true",
        help="Build the other packages after one fails (still exits non-zero).",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="Show the builder's output.")
    args = parser.parse_args(argv)
    names = [n for n in args.packages.split(",") if n.strip()] if args.packages else None
    started = time.perf_counter()

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        results = build_all(args.out, names, log=log, verbose=args.verbose, keep_going=args.keep_going)
    except BuildError as exc:
        if exc.output:
            print(_indent(exc.output), file=sys.stderr)
        print(f"error: {exc.package}: {exc}", file=sys.stderr)
        return 1
    count = sum(len(files) for files in results.values())
    log(f"Done: {count} file(s) for {len(results)} package(s) in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
