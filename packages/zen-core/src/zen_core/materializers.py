"""Materializers turn step outputs into bytes in the artifact store and back.

One is chosen per output *value* by its type (the most specific registered class
along the MRO wins). Types are registered by name (``"numpy.ndarray"``) so that
registering a materializer never imports the library it serves: numpy is only
imported when a numpy array is actually saved or loaded.

Built-ins: JSON for JSON-compatible builtins, raw bytes, pydantic models,
numpy arrays, pandas DataFrames, and a pickle fallback that warns, because a
pickle can only be read back by compatible code and library versions.

Plugins add materializers through the ``zen_register_materializers`` hook.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import logging
import pickle
from typing import IO, Any, ClassVar

from .sources import type_name

logger = logging.getLogger("zen.materializers")


class Materializer:
    """Base class. Subclasses set ``id``, ``version`` and ``extension``."""

    id: ClassVar[str]
    version: ClassVar[str] = "1"
    extension: ClassVar[str] = ".bin"

    def accepts(self, value: Any) -> bool:
        """A last check on the value itself (e.g. JSON-serialisable)."""
        return True

    def save(self, value: Any, f: IO[bytes]) -> None:
        raise NotImplementedError

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        raise NotImplementedError


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


class JsonMaterializer(Materializer):
    id = "zen.json"
    extension = ".json"

    def accepts(self, value: Any) -> bool:
        return _json_safe(value)

    def save(self, value: Any, f: IO[bytes]) -> None:
        # a top-level tuple is recorded as such so it loads back as a tuple
        payload: Any = {"__zen_type__": "tuple", "items": list(value)} if isinstance(value, tuple) else value
        f.write(json.dumps(payload, sort_keys=True).encode())

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        data = json.loads(f.read())
        if isinstance(data, dict) and set(data) == {"__zen_type__", "items"}:
            return tuple(data["items"])
        return data


class BytesMaterializer(Materializer):
    id = "zen.bytes"
    extension = ".bin"

    def save(self, value: Any, f: IO[bytes]) -> None:
        view = memoryview(value)
        chunk = 8 << 20
        for start in range(0, len(view), chunk):
            f.write(view[start : start + chunk])

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        return f.read()


class PydanticMaterializer(Materializer):
    id = "zen.pydantic"
    extension = ".json"

    def save(self, value: Any, f: IO[bytes]) -> None:
        payload = {
            "type": f"{type(value).__module__}:{type(value).__qualname__}",
            "data": value.model_dump(mode="json"),
        }
        f.write(json.dumps(payload, sort_keys=True).encode())

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        from .sources import load_source

        payload = json.loads(f.read())
        cls = load_source(payload["type"])
        return cls.model_validate(payload["data"])


class NumpyMaterializer(Materializer):
    id = "zen.numpy"
    extension = ".npy"

    def accepts(self, value: Any) -> bool:
        return bool(value.dtype.kind != "O")  # object arrays need pickle

    def save(self, value: Any, f: IO[bytes]) -> None:
        import numpy as np

        np.save(f, value, allow_pickle=False)

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        import numpy as np

        return np.load(io.BytesIO(f.read()), allow_pickle=False)


class PandasMaterializer(Materializer):
    """DataFrames as plain Parquet files (readable by any Parquet tool); needs pyarrow.

    Without pyarrow a DataFrame falls through to the pickle fallback, which says so.
    """

    id = "zen.pandas"
    extension = ".parquet"

    def accepts(self, value: Any) -> bool:
        return importlib.util.find_spec("pyarrow") is not None

    def save(self, value: Any, f: IO[bytes]) -> None:
        buf = io.BytesIO()
        value.to_parquet(buf)
        f.write(buf.getvalue())

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(f.read()))


class PickleMaterializer(Materializer):
    """The fallback for values no other materializer takes; it warns once per type."""

    id = "zen.pickle"
    extension = ".pkl"
    _warned: ClassVar[set[str]] = set()

    def save(self, value: Any, f: IO[bytes]) -> None:
        name = type_name(type(value))
        if name not in self._warned:
            self._warned.add(name)
            logger.warning(
                "no materializer for %s: saved with pickle, which only loads with compatible "
                "code and library versions; register a materializer for it to avoid this",
                name,
            )
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, f: IO[bytes], annotation: Any) -> Any:
        # artifacts come from the user's own store, written by their own steps
        return pickle.load(f)  # noqa: S301


class MaterializerRegistry:
    """Maps type names to materializers, importing each materializer on first use."""

    def __init__(self) -> None:
        self._by_type: dict[str, str] = {}
        self._instances: dict[str, Materializer] = {}
        self._by_id: dict[str, str] = {}
        self.fallback: Materializer = PickleMaterializer()

    def add(
        self,
        materializer: str | type[Materializer],
        types: list[str] | tuple[str, ...],
        *,
        materializer_id: str | None = None,
    ) -> None:
        """Register a materializer (class or ``"module:Class"``) for type names."""
        target = (
            materializer
            if isinstance(materializer, str)
            else (f"{materializer.__module__}:{materializer.__qualname__}")
        )
        if not isinstance(materializer, str):
            self._instances[target] = materializer()
            materializer_id = materializer_id or materializer.id
        for t in types:
            self._by_type[t] = target
        if materializer_id:
            self._by_id[materializer_id] = target

    def _instance(self, target: str) -> Materializer:
        inst = self._instances.get(target)
        if inst is None:
            from .sources import load_source

            inst = load_source(target)()
            self._instances[target] = inst
            self._by_id.setdefault(inst.id, target)
        return inst

    def for_value(self, value: Any) -> Materializer:
        """The materializer for this value: most specific type first, else pickle."""
        for cls in type(value).__mro__:
            target = self._by_type.get(f"{cls.__module__}.{cls.__qualname__}")
            if target is not None:
                inst = self._instance(target)
                if inst.accepts(value):
                    return inst
        return self.fallback

    def by_id(self, materializer_id: str) -> Materializer:
        if materializer_id == self.fallback.id:
            return self.fallback
        target = self._by_id.get(materializer_id)
        if target is None:
            for t in set(self._by_type.values()):
                if self._instance(t).id == materializer_id:
                    return self._instance(t)
            raise LookupError(
                f"materializer '{materializer_id}' is not installed; install the plugin that "
                "wrote this artifact to read it"
            )
        return self._instance(target)
