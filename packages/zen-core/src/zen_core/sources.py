"""Where code lives: ``module:qualname`` strings, code hashes and type names.

A remote worker only gets a spec, so every step must be importable by a source
string. Code defined in a script run as ``__main__`` is resolved to the module
name its file has relative to the working directory, which is the directory the
entrypoint puts first on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

from .errors import ZenError


def _main_module_name(obj: Any) -> str:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if not file:
        return "__main__"
    path = Path(file).resolve()
    for root in (Path.cwd().resolve(), *(Path(p).resolve() for p in sys.path if p)):
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts and all(p.isidentifier() for p in parts):
            return ".".join(parts)
    return "__main__"


def source_of(obj: Any) -> str:
    """``module:qualname`` of a function or class, resolving ``__main__``."""
    module = obj.__module__
    if module == "__main__":
        module = _main_module_name(obj)
    return f"{module}:{obj.__qualname__}"


def load_source(source: str) -> Any:
    """Import ``module:qualname`` (or ``path/to/file.py:qualname``) and return the object."""
    if ":" not in source:
        raise ZenError(f"source {source!r} must look like 'module:name'")
    module_name, _, qualname = source.partition(":")
    if module_name.endswith(".py") or os.sep in module_name:
        module_name = _module_name_for_path(module_name)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ZenError(f"cannot import module '{module_name}' of {source!r}: {exc}") from exc
    obj: Any = module
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ZenError(f"module '{module_name}' has no attribute '{qualname}'") from None
    return obj


def _module_name_for_path(path_text: str) -> str:
    path = Path(path_text).resolve()
    if not path.exists():
        raise ZenError(f"no such file: {path_text}")
    try:
        rel = path.relative_to(Path.cwd().resolve())
    except ValueError:
        # Outside the working directory: import it from its own folder.
        sys.path.insert(0, str(path.parent))
        return path.stem
    return ".".join(rel.with_suffix("").parts)


def code_hash(func: Any) -> str:
    """A hash of a function's source text (its bytecode when no source exists)."""
    try:
        text = textwrap.dedent(inspect.getsource(func)).encode()
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        text = code.co_code if code is not None else repr(func).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def type_name(tp: Any) -> str:
    """A stable, readable name for a type annotation (``int``, ``list[str]``, ...)."""
    if tp is inspect.Parameter.empty or tp is typing.Any:
        return "Any"
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        if tp.__module__ == "builtins":
            return tp.__qualname__
        return f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")
