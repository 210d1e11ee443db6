"""Validation of names that end up in artifact paths, run ids and resource names.

A name is safe when it cannot climb out of its folder (``..``), cannot add a folder
level (``/`` or ``\\``) and stays readable in URLs and Kubernetes labels.
"""

from __future__ import annotations

import re

from .errors import InvalidNameError

_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def validate_name(value: str, what: str) -> str:
    """Return ``value`` if it is a safe path component, else raise naming ``what``."""
    if not isinstance(value, str) or not value:
        raise InvalidNameError(f"{what} must be a non-empty string, got {value!r}")
    if value in {".", ".."} or ".." in value:
        raise InvalidNameError(f"{what} {value!r} must not contain '..'")
    if "/" in value or "\\" in value:
        raise InvalidNameError(f"{what} {value!r} must not contain path separators")
    if not _SAFE.match(value):
        raise InvalidNameError(
            f"{what} {value!r} may only use letters, digits, '_', '-' and '.', "
            "start with a letter, digit or '_', and be at most 128 characters"
        )
    return value
