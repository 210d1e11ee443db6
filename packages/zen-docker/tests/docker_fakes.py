"""A fake Docker engine for unit tests: no socket, no daemon.

It answers the handful of ``docker`` SDK calls zen-docker makes (``images.get``,
``api.build``, ``api.push``, ``containers.run``/``list``) and records them. A
"container" runs the universal entrypoint in-process, in the calling thread, so the
``local_docker`` orchestrator can be driven end to end without an engine.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docker.errors


@dataclass
class BuildCall:
    tag: str
    dockerfile: str
    files: dict[str, bytes]
    buildargs: dict[str, str] | None
    platform: str | None


class FakeImages:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> Any:
        self.engine.calls.append(("images.get", name))
        if name not in self.engine.images:
            raise docker.errors.ImageNotFound(f"no such image: {name}")
        return object()

    def remove(self, name: str, force: bool = False) -> None:
        self.engine.images.discard(name)


class FakeAPI:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def build(self, *, fileobj: Any, tag: str, dockerfile: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        with tarfile.open(fileobj=fileobj, mode="r") as tar:
            files = {
                m.name: (tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
                for m in tar.getmembers()
            }
        call = BuildCall(tag, dockerfile, files, kwargs.get("buildargs"), kwargs.get("platform"))
        self.engine.builds.append(call)
        self.engine.calls.append(("build", tag))
        text = files[dockerfile].decode()
        instructions = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        fail_at = self.engine.fail_build_at
        key = ""
        for number, instr in enumerate(instructions, start=1):
            # as engines do: a layer is reused when its parent, its instruction and (for
            # COPY) the copied files are the same
            key = hashlib.sha256(f"{key}\0{instr}".encode()).hexdigest()
            if instr.startswith("COPY "):
                source = instr.split()[1].rstrip("/")
                for name in sorted(files):
                    if name == source or name.startswith(source + "/"):
                        key = hashlib.sha256(key.encode() + name.encode() + files[name]).hexdigest()
            yield {"stream": f"STEP {number}/{len(instructions)}: {instr}\n"}
            if fail_at and instr.startswith(fail_at):
                yield {"stream": "ERROR: No matching distribution found for nothing-here==1\n"}
                yield {
                    "error": f'building at STEP "{instr}": exit status 1',
                    "errorDetail": {"message": f'building at STEP "{instr}": exit status 1'},
                }
                return
            if number > 1 and key in self.engine.layer_cache:
                yield {"stream": f"--> Using cache {key}\n"}
            yield {"stream": f"--> {key[:11]}\n"}
            self.engine.layer_cache.add(key)
        yield {"stream": f"Successfully tagged {tag}\n"}
        self.engine.images.add(tag)

    def push(self, repository: str, *, tag: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        image = f"{repository}:{tag}"
        self.engine.calls.append(("push", image))
        if self.engine.fail_push:
            yield {"error": "denied: requested access to the resource is denied"}
            return
        yield {"status": f"The push refers to repository [{repository}]"}
        self.engine.registry.add(image)
        yield {"status": f"{tag}: digest: sha256:0 size: 1"}


@dataclass
class FakeContainer:
    engine: FakeEngine
    image: str
    command: list[str]
    options: dict[str, Any]
    exit_code: int = 0
    output: bytes = b""
    removed: bool = False
    attrs: dict[str, Any] = field(default_factory=lambda: {"State": {"OOMKilled": False}})

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        return {"StatusCode": self.exit_code, "Error": None}

    def logs(self, stdout: bool = True, stderr: bool = True) -> bytes:
        return self.output

    def reload(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def remove(self, force: bool = False) -> None:
        self.removed = True


class FakeContainers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def run(self, image: str, command: list[str], **options: Any) -> FakeContainer:
        if image not in self.engine.images and image not in self.engine.registry:
            raise docker.errors.ImageNotFound(f"no such image: {image}")
        container = FakeContainer(self.engine, image, list(command), options)
        with self.engine.lock:
            self.engine.containers.append(container)
        if self.engine.container_exit is not None:  # the process dies before recording anything
            container.exit_code, container.output = self.engine.container_exit
            return container
        assert command[:3] == ["python", "-m", "zen_core.entrypoint"]
        from zen_core import entrypoint

        container.exit_code = entrypoint.main(command[3:])
        return container

    def list(self, all: bool = False, filters: dict[str, str] | None = None) -> list[FakeContainer]:
        return [c for c in self.engine.containers if not c.removed]


class FakeEngine:
    """The client object (``docker.DockerClient`` look-alike) plus the engine's state."""

    def __init__(self) -> None:
        self.images: set[str] = set()
        self.registry: set[str] = set()  # what a push puts in the (fake) registry
        self.layer_cache: set[str] = set()
        self.builds: list[BuildCall] = []
        self.calls: list[tuple[str, str]] = []
        self.containers: list[FakeContainer] = []
        self.fail_build_at: str | None = None
        self.fail_push = False
        self.container_exit: tuple[int, bytes] | None = None
        self.lock = threading.Lock()
        self.api = FakeAPI(self)
        self.images_api = FakeImages(self)
        self.containers_api = FakeContainers(self)


class FakeClient:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.api = engine.api
        self.images = engine.images_api
        self.containers = engine.containers_api

    def ping(self) -> bool:
        return True


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        return tar.getnames()
