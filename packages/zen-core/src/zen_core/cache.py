"""Content-addressed step caching.

A step's cache key hashes everything that determines its outputs: the step's
code, its literal and parameter inputs, the content hashes of its input
artifacts and the materializers that wrote them, its declared outputs, and the
cache format version. A hit is used only while every output it points at still
exists in the artifact store.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .records import ArtifactRecord, CacheEntry, RunStore
from .spec import StepSpec

#: Bump to invalidate every existing cache entry (e.g. when key contents change).
CACHE_FORMAT = "1"


def cache_key(step: StepSpec, resolved_inputs: dict[str, Any]) -> str:
    """``resolved_inputs`` maps each input to its JSON value or artifact record(s)."""

    def describe(value: Any) -> Any:
        if isinstance(value, ArtifactRecord):
            return {"artifact": value.hash, "materializer": [value.materializer, value.materializer_version]}
        if isinstance(value, list) and value and all(isinstance(v, ArtifactRecord) for v in value):
            return [describe(v) for v in value]
        return {"value": value}

    payload = {
        "format": CACHE_FORMAT,
        "source": step.source,
        "code": step.code_hash,
        "inputs": {name: describe(v) for name, v in sorted(resolved_inputs.items())},
        "outputs": {name: o.type for name, o in sorted(step.outputs.items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def lookup(runs: RunStore, key: str) -> CacheEntry | None:
    """The cache entry for ``key`` if all of its outputs still exist."""
    entry = runs.read_cache(key)
    if entry is None:
        return None
    if all(runs.artifact_exists(a) for a in entry.outputs.values()):
        return entry
    return None
