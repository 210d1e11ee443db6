"""The fsspec artifact store: atomic writes, validated names, any protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from zen_core.artifacts.store import ArtifactStore
from zen_core.errors import ArtifactError, InvalidNameError


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    store.write_bytes("a/b.bin", b"old")
    with pytest.raises(RuntimeError), store.open_write("a/b.bin") as f:
        f.write(b"half of the new cont")
        raise RuntimeError("crash mid-write")
    assert store.read_bytes("a/b.bin") == b"old"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.bin"]  # no temp file left


@pytest.mark.parametrize("bad", ["..", "a/..", "x/y", "", "a\\b", "-start"])
def test_unsafe_key_components(bad: str) -> None:
    with pytest.raises(InvalidNameError):
        ArtifactStore.key("runs", bad)


def test_memory_protocol_store() -> None:
    store = ArtifactStore("memory://zen-test-store")
    store.write_json(store.key("runs", "r1", "run.json"), {"a": 1})
    assert store.read_json("runs/r1/run.json") == {"a": 1}
    assert store.list("runs") == ["r1"]
    assert store.uri("runs/r1/run.json") == "memory://zen-test-store/runs/r1/run.json"
    assert store.key_of_uri(store.uri("x/y")) == "x/y"
    assert not store.exists("runs/r2/run.json")
    with pytest.raises(ArtifactError, match="not found"):
        store.read_bytes("runs/r2/run.json")
    with pytest.raises(ArtifactError, match="is not inside"):
        store.key_of_uri("memory://elsewhere/x")
