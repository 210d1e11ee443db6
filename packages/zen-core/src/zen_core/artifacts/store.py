"""An artifact store addressed by an fsspec URL (a local path by default).

Writes are atomic: on a local filesystem a file is written under a temporary name
and renamed into place, so a reader (or a crash) never sees half a file. Object
stores (``gs://``, ``s3://``) only make an object visible once its upload
completes, so there a direct write is already atomic and a rename would cost a
full copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from typing import IO, Any

from ..errors import ArtifactError
from ..names import validate_name


class HashingWriter:
    """Wraps a binary file: counts and hashes what passes through."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        self._hash.update(view)
        self.size += len(view)
        return self._raw.write(data)

    def flush(self) -> None:
        self._raw.flush()

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def __getattr__(self, name: str) -> Any:  # numpy/pandas probe file methods
        return getattr(self._raw, name)


class ArtifactStore:
    """Paths inside the store are relative, ``/``-separated and validated."""

    def __init__(self, url: str, *, shared: bool = False, **storage_options: Any) -> None:
        self.url = url.rstrip("/") or url
        #: a local folder declared reachable at the same path from every step's machine
        self.shared = shared
        self._storage_options = storage_options
        # Local folders are handled with os calls, without importing fsspec at all:
        # it is the common case, and fsspec's import is a fifth of a short run's time.
        self.is_local = "://" not in self.url or self.url.startswith("file://")
        self.root = self.url[len("file://") :] if self.url.startswith("file://") else self.url
        self._fs: Any = None
        self._made_dirs: set[str] = set()
        if not self.is_local:
            self.fs  # noqa: B018 - resolves self.root for remote URLs

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (imported on first use)."""
        if self._fs is None:
            import fsspec

            try:
                self._fs, root = fsspec.core.url_to_fs(self.url, **self._storage_options)
            except (ImportError, ValueError) as exc:
                raise ArtifactError(f"artifact store {self.url} cannot be opened: {exc}") from None
            if not self.is_local:
                self.root = root
        return self._fs

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    @staticmethod
    def key(*parts: str) -> str:
        """Join validated name components into a store-relative key."""
        return "/".join(validate_name(p, "artifact path component") for p in parts)

    def path(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def uri(self, key: str) -> str:
        """The full URL of a key, usable by any fsspec client."""
        return f"{self.url}/{key}"

    def _ensure_parent(self, path: str) -> None:
        parent = path.rsplit("/", 1)[0]
        if parent not in self._made_dirs:
            if self.is_local:
                os.makedirs(parent, exist_ok=True)
            else:
                self.fs.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """Open ``key`` for writing; it appears only if the block finishes."""
        path = self.path(key)
        self._ensure_parent(path)
        if not self.is_local:
            with self.fs.open(path, "wb") as f:
                yield f
            return
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            with open(tmp, "wb") as f:
                yield f
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as f:
            f.write(data)

    def write_json(self, key: str, data: Any) -> None:
        self.write_bytes(key, json.dumps(data, sort_keys=True).encode())

    def write_text(self, key: str, text: str) -> None:
        self.write_bytes(key, text.encode())

    def read_bytes(self, key: str) -> bytes:
        path = self.path(key)
        try:
            if self.is_local:
                with open(path, "rb") as f:
                    return f.read()
            data: bytes = self.fs.cat_file(path)
            return data
        except FileNotFoundError:
            raise ArtifactError(f"not found in artifact store {self.url}: {key}") from None

    def open_read(self, key: str) -> IO[bytes]:
        path = self.path(key)
        try:
            return open(path, "rb") if self.is_local else self.fs.open(path, "rb")
        except FileNotFoundError:
            raise ArtifactError(f"not found in artifact store {self.url}: {key}") from None

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def exists(self, key: str) -> bool:
        path = self.path(key)
        return os.path.exists(path) if self.is_local else bool(self.fs.exists(path))

    def list(self, key: str) -> list[str]:
        """Names directly under ``key`` (empty if it does not exist)."""
        path = self.path(key)
        if self.is_local:
            try:
                return sorted(os.listdir(path))
            except FileNotFoundError:
                return []
        try:
            entries = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries)

    def delete(self, key: str) -> None:
        path = self.path(key)
        if self.is_local:
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.unlink(path)
        elif self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def key_of_uri(self, uri: str) -> str:
        """The store key of a full URI this store handed out."""
        prefix = self.url + "/"
        if not uri.startswith(prefix):
            raise ArtifactError(f"{uri} is not inside artifact store {self.url}")
        return uri[len(prefix) :]
