"""Type helpers used when compiling: output parsing, compatibility, JSON literals."""

from __future__ import annotations

import inspect
import json
import types
import typing
from typing import Any

_ANY = (typing.Any, inspect.Parameter.empty, object)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def compatible(produced: Any, expected: Any) -> bool:
    """Whether a value annotated ``produced`` may feed an input annotated ``expected``.

    Strict where both sides are plain classes, lenient for generics and anything
    it cannot judge: a false alarm at compile time is worse than a late error.
    """
    if produced in _ANY or expected in _ANY:
        return True
    if typing.get_origin(expected) is typing.Annotated:
        expected = typing.get_args(expected)[0]
    if _is_union(expected):
        return any(compatible(produced, member) for member in typing.get_args(expected))
    if _is_union(produced):
        return all(compatible(member, expected) for member in typing.get_args(produced))
    out_cls = typing.get_origin(produced) or produced
    in_cls = typing.get_origin(expected) or expected
    if not (isinstance(out_cls, type) and isinstance(in_cls, type)):
        return True
    if issubclass(out_cls, in_cls):
        return True
    # The numeric tower, as Python's own typing treats it.
    return (in_cls is float and out_cls is int) or (in_cls is complex and out_cls in (int, float))


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data, or raise ``TypeError`` saying why it cannot be."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    try:
        return json.loads(json.dumps(value, allow_nan=False, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{type(value).__name__} value is not JSON-serialisable ({exc})") from None


def error_message(exc: Exception) -> str:
    """The useful part of a validation error (pydantic's first error message)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            return str(first.get("msg", exc))
        except (IndexError, TypeError, ValueError):
            pass
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def validate_value(value: Any, annotation: Any) -> Any:
    """Validate (and coerce) ``value`` against ``annotation`` with pydantic."""
    if annotation in _ANY:
        return value
    from pydantic import TypeAdapter

    return TypeAdapter(annotation).validate_python(value)
