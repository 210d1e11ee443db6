"""Build plans: the exact build context of an image, and the content hash that tags it.

A :class:`BuildPlan` lists every file of the build context with the hash of its
contents. The image tag is a hash of the Dockerfile, those files (name, mode and
content hash, never a time stamp), the build arguments, the platform and the plan
of the parent image built from your Dockerfile. The same inputs give the same tag
on any machine, and whether that tag exists decides if anything is built.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: Format version of what the tag hashes; bump it when the meaning of a build changes.
TAG_SCHEME = "zen-docker-image-v1"
TAG_LENGTH = 24
#: Every entry of the build context gets this modification time (2020-02-02, as hatchling uses).
FIXED_MTIME = 1580601600


@dataclass(frozen=True)
class ContextEntry:
    """One file (or symlink, or folder) of the build context."""

    arcname: str
    digest: str = ""
    mode: int = 0o644
    path: Path | None = None  # read from disk when the context is packed
    data: bytes | None = None  # generated content
    link: str | None = None  # symlink target
    is_dir: bool = False

    @classmethod
    def from_bytes(cls, arcname: str, data: bytes) -> ContextEntry:
        return cls(arcname, hashlib.sha256(data).hexdigest(), 0o644, data=data)

    @classmethod
    def directory(cls, arcname: str) -> ContextEntry:
        return cls(arcname, "dir", 0o755, is_dir=True)


class DigestCache:
    """Content hashes of files, reused while (size, mtime, inode) stay the same."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[tuple[int, int, int], str]] = {}

    def digest(self, path: Path) -> tuple[str, int]:
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        mode = 0o755 if st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644
        known = self._known.get(str(path))
        if known is not None and known[0] == key:
            return known[1], mode
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        value = h.hexdigest()
        self._known[str(path)] = (key, value)
        return value, mode


def file_entry(arcname: str, path: Path, digests: DigestCache) -> ContextEntry:
    if path.is_symlink():
        target = os.readlink(path)
        return ContextEntry(arcname, "link:" + target, 0o777, link=target)
    digest, mode = digests.digest(path)
    return ContextEntry(arcname, digest, mode, path=path)


@dataclass
class BuildPlan:
    """Everything one ``docker build`` takes, and the tag that names its result."""

    repository: str
    dockerfile: str  # the Dockerfile text
    dockerfile_name: str  # its path inside the context
    entries: list[ContextEntry]
    build_args: dict[str, str] = field(default_factory=dict)
    platform: str | None = None
    parent: BuildPlan | None = None  # your Dockerfile, built first
    tag_prefix: str = ""
    #: line number -> what the instruction there is for (for build errors)
    purpose: dict[int, str] = field(default_factory=dict)
    #: named parts of the inputs ("code", "requirements", ...) -> digest, to say what changed
    parts: dict[str, str] = field(default_factory=dict)
    #: digest of each code file, to name the files that changed
    code_files: dict[str, str] = field(default_factory=dict)
    source_label: str = "the generated Dockerfile"

    def __post_init__(self) -> None:
        self.entries = sorted(self.entries, key=lambda e: e.arcname)
        names = [e.arcname for e in self.entries]
        if len(names) != len(set(names)):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"build context has duplicate entries: {', '.join(dupes)}")
        self.tag = self.tag_prefix + self._hash()[:TAG_LENGTH]

    def _hash(self) -> str:
        h = hashlib.sha256(TAG_SCHEME.encode() + b"\n")
        h.update(json.dumps([self.dockerfile_name, self.dockerfile]).encode() + b"\n")
        for e in self.entries:
            h.update(f"{e.arcname}\0{e.mode:o}\0{e.digest}\n".encode())
        h.update(json.dumps(sorted(self.build_args.items())).encode() + b"\n")
        h.update(f"platform={self.platform or ''}\n".encode())
        h.update(f"parent={self.parent.image if self.parent else ''}\n".encode())
        return h.hexdigest()

    @property
    def image(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def size(self) -> int:
        total = 0
        for e in self.entries:
            if e.data is not None:
                total += len(e.data)
            elif e.path is not None and e.link is None:
                total += e.path.stat().st_size
        return total

    @contextlib.contextmanager
    def open_context(self) -> Iterator[IO[bytes]]:
        """The build context as an uncompressed tar stream (spooled to disk when large)."""
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as buf:
            self.write_tar(buf)
            buf.seek(0)
            yield buf  # type: ignore[misc]

    def write_tar(self, fileobj: IO[bytes]) -> None:
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for e in self.entries:
                info = tarfile.TarInfo(e.arcname)
                info.mtime = FIXED_MTIME
                info.mode = e.mode
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if e.is_dir:
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif e.link is not None:
                    info.type = tarfile.SYMTYPE
                    info.linkname = e.link
                    tar.addfile(info)
                elif e.data is not None:
                    info.size = len(e.data)
                    tar.addfile(info, io.BytesIO(e.data))
                else:
                    assert e.path is not None
                    with open(e.path, "rb") as f:
                        info.size = os.fstat(f.fileno()).st_size
                        tar.addfile(info, f)


def digest_of(items: Any) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:16]
