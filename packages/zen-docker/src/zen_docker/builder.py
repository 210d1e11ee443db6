"""The ``docker`` image builder: one image per distinct set of docker settings.

For each group of steps with equal effective settings the builder makes a
:class:`~zen_docker.context.BuildPlan` (no engine needed), whose tag is the content
hash of everything the build takes. Then:

* with a container registry in the stack: if the registry has the tag, nothing
  happens; if only the local engine has it, it is pushed; otherwise it is built
  and pushed;
* without one: if the local engine has the tag nothing happens, else it is built.

It says which of these happened and why. Builds and pushes go through the
``docker`` SDK to whatever Docker API ``DOCKER_HOST`` names (Docker, or podman's
API service), with their output streamed; a failed build raises
:class:`DockerBuildError` naming the Dockerfile line that failed and the end of
its output.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zen_core.errors import ZenError

from . import dockerfile as df
from .config import DockerImageBuilderConfig
from .context import BuildPlan, ContextEntry, DigestCache, digest_of, file_entry
from .ignore import DEFAULT_PATTERNS, IgnoreRules
from .packages import (
    WheelCache,
    ZenInstall,
    client_pin,
    default_cache_dir,
    dev_mode_from_env,
    resolve_zen_packages,
    walk_files,
)
from .settings import DockerSettings, settings_for_step, validate_spec_settings

if TYPE_CHECKING:
    from zen_core.spec import PipelineSpec

    from .registry import ContainerRegistry

DEFAULT_IMAGE_NAME = "zen"
USER_DOCKERFILE = ".zen-user.Dockerfile"
#: fsspec protocols -> the library that implements them, installed when the artifact store uses one
FSSPEC_BACKENDS = {
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "s3": "s3fs",
    "s3a": "s3fs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
}
_STEP_LINE = re.compile(r"^(?:STEP|Step) (\d+)/(\d+) ?: ?(.*)$")
_TAIL_LINES = 25
#: Docker API version used for the first request, before the engine's own is known.
API_VERSION = "1.41"


class DockerBuildError(ZenError):
    """An image build failed; the message names the Dockerfile line and shows the output's end."""

    def __init__(
        self, message: str, *, image: str, line: int | None = None, instruction: str = "", output: str = ""
    ) -> None:
        super().__init__(message)
        self.image = image
        self.line = line
        self.instruction = instruction
        self.output = output


class DockerPushError(ZenError):
    """Pushing an image to the container registry failed."""


class EngineError(ZenError):
    """No Docker API to talk to."""


@dataclass
class BuildReport:
    """What the builder did for one image."""

    image: str
    step_ids: list[str]
    action: str  # "prebuilt", "skipped", "pushed" (was local already) or "built"
    reason: str
    seconds: float = 0.0
    #: each build instruction after FROM, and whether the engine took it from its cache
    layers: list[tuple[str, bool]] = field(default_factory=list)
    pushed: bool = False

    @property
    def rebuilt_layers(self) -> list[str]:
        return [instr for instr, cached in self.layers if not cached]


def docker_client(timeout: int = 3600, max_pool_size: int = 16) -> Any:
    """A ``docker.DockerClient`` for ``DOCKER_HOST`` (or the default socket), checked with a ping.

    The API version is the engine's own (from the ``Api-Version`` header of an unversioned
    ``/_ping``), capped at what the SDK speaks: asking ``/version`` instead, as the SDK's
    "auto" does, costs ~0.7 s on podman. ``DOCKER_API_VERSION`` overrides it.
    """
    import docker  # type: ignore[import-untyped]
    import docker.constants  # type: ignore[import-untyped]
    import docker.errors  # type: ignore[import-untyped]

    forced = os.environ.get("DOCKER_API_VERSION")
    try:
        client = docker.from_env(version=forced or API_VERSION, timeout=timeout, max_pool_size=max_pool_size)
        if not forced:
            reply = client.api._get(client.api.base_url + "/_ping")
            reply.raise_for_status()
            server = reply.headers.get("Api-Version")
            if server:
                client.api._version = min(
                    server, docker.constants.DEFAULT_DOCKER_API_VERSION, key=_version_key
                )
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST is unset)"
        raise EngineError(
            f"no Docker API answers at {where}: {exc}. Start Docker, or serve podman's Docker API "
            "(podman system service) and point DOCKER_HOST at its socket."
        ) from None
    return client


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def _names(step_ids: list[str], limit: int = 4) -> str:
    shown = ", ".join(step_ids[:limit])
    return shown + (f" and {len(step_ids) - limit} more" if len(step_ids) > limit else "")


class DockerImageBuilder:
    """The ``docker`` image builder flavor (also the default when a stack has no image builder)."""

    def __init__(
        self,
        name: str = "docker",
        config: DockerImageBuilderConfig | None = None,
        stack: Any = None,
        *,
        client: Any = None,
        wheel_cache: WheelCache | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.config = config or DockerImageBuilderConfig()
        self.stack = stack
        self._client = client
        cache_root = (
            Path(self.config.cache_dir).expanduser() if self.config.cache_dir else default_cache_dir()
        )
        self.cache_root = cache_root
        self.wheels = wheel_cache or WheelCache(cache_root)
        self._echo = echo
        self._digests = DigestCache()
        self.reports: list[BuildReport] = []

    # -- output ----------------------------------------------------------------------------
    def say(self, message: str) -> None:
        if self.config.output == "off":
            return
        if self._echo is not None:
            self._echo(message)
        else:
            print(f"zen-docker: {message}", file=sys.stdout, flush=True)

    def _stream(self, line: str) -> None:
        if self.config.output == "stream":
            if self._echo is not None:
                self._echo(f"  | {line}")
            else:
                print(f"  | {line}", file=sys.stdout, flush=True)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client(self.config.timeout)
        return self._client

    # -- the stack -------------------------------------------------------------------------
    @property
    def registry(self) -> ContainerRegistry | None:
        if self.stack is not None and self.stack.has("container_registry"):
            registry: ContainerRegistry = self.stack.component("container_registry")
            return registry
        return None

    def stack_packages(self) -> list[str]:
        """zen-core and the packages of the stack's orchestrator and artifact store flavors."""
        names = ["zen-core"]
        if self.stack is not None:
            for ctype in ("orchestrator", "artifact_store"):
                if self.stack.has(ctype):
                    package = self.stack.flavor(ctype).package
                    if package:
                        names.append(package)
        return names

    def _store_location(self) -> str:
        """The artifact store's URL or local path, from its config (no store is instantiated)."""
        if self.stack is None or not self.stack.has("artifact_store"):
            return ""
        config = self.stack.component_model("artifact_store").config
        location = config.get("url") or config.get("path")
        if location:
            return str(location)
        try:  # a third-party flavor: ask the store itself
            return str(getattr(self.stack.artifact_store, "url", "") or "")
        except Exception:  # noqa: BLE001 - only used to add a requirement or an ignore rule
            return ""

    def artifact_store_requirements(self) -> list[str]:
        """The fsspec backend a remote artifact store needs (gcsfs, s3fs, adlfs), if any."""
        location = self._store_location()
        protocol = location.split("://", 1)[0] if "://" in location else ""
        backend = FSSPEC_BACKENDS.get(protocol)
        return [client_pin(backend)] if backend else []

    def _private_paths(self) -> list[Path]:
        """Folders never copied with the code: the local artifact store, zen's config, caches."""
        from zen_core.stacks import config_dir

        paths = [self.cache_root, config_dir()]
        location = self._store_location()
        if location and ("://" not in location or location.startswith("file://")):
            paths.append(Path(location.removeprefix("file://")).expanduser())
        return paths

    # -- planning (no engine) --------------------------------------------------------------
    def dev_mode(self, settings: DockerSettings) -> bool | None:
        env = dev_mode_from_env()
        if env is not None:
            return env
        return settings.dev_mode if settings.dev_mode is not None else self.config.dev_mode

    def plan(self, settings: DockerSettings) -> BuildPlan:
        """The build plan (and so the tag) for these settings, computed without an engine."""
        root = Path(settings.build_context_root or os.getcwd()).expanduser().resolve()
        if not root.is_dir():
            raise ZenError(f"build_context_root {root} is not a folder")
        rules = IgnoreRules(DEFAULT_PATTERNS)
        for private in self._private_paths():
            try:
                inside = private.resolve().relative_to(root)
            except ValueError:
                continue
            if inside.parts:
                rules.add("/" + inside.as_posix())
        ignore_file = root / (settings.dockerignore or ".dockerignore")
        if settings.dockerignore and not ignore_file.is_file():
            raise ZenError(f"dockerignore file {ignore_file} does not exist")
        if ignore_file.is_file():
            IgnoreRules.from_file(ignore_file, rules)
        for pattern in settings.ignore:
            rules.add(pattern)

        repository = self._repository(settings)
        code: list[tuple[str, Path]] = []
        if settings.copy_source or settings.dockerfile:
            code = walk_files(root, rules)
        code_entries = {rel: file_entry(rel, path, self._digests) for rel, path in code}

        parent_plan: BuildPlan | None = None
        parent_image = settings.parent_image or f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim"
        if settings.dockerfile:
            parent_plan = self._parent_plan(settings, root, repository, code_entries)
            parent_image = parent_plan.image

        zen = self._zen_install(settings, root)
        zen_lines = sorted(set(zen.requirement_lines) | set(self.artifact_store_requirements()))
        user_requirements = self._user_requirements(settings, root)

        generated = df.generate(
            df.DockerfileInputs(
                parent_image=parent_image,
                apt_packages=tuple(settings.apt_packages),
                environment=tuple(settings.environment.items()),
                zen_requirements=bool(zen_lines),
                user_requirements=user_requirements is not None,
                wheels=bool(zen.wheels),
                copy_source=settings.copy_source,
            )
        )
        entries = [ContextEntry.from_bytes(df.DOCKERFILE, generated.text.encode())]
        if zen_lines:
            entries.append(
                ContextEntry.from_bytes(df.ZEN_REQUIREMENTS, ("\n".join(zen_lines) + "\n").encode())
            )
        if user_requirements is not None:
            entries.append(ContextEntry.from_bytes(df.USER_REQUIREMENTS, user_requirements))
        for wheel in zen.wheels:
            entries.append(ContextEntry(f"{df.WHEELS_DIR}/{wheel.path.name}", wheel.digest, path=wheel.path))
        if settings.copy_source:
            entries.append(ContextEntry.directory(df.CODE_DIR))
            for rel, entry in code_entries.items():
                entries.append(
                    ContextEntry(
                        f"{df.CODE_DIR}/{rel}", entry.digest, entry.mode, entry.path, link=entry.link
                    )
                )
        code_files = {rel: e.digest for rel, e in code_entries.items()} if settings.copy_source else {}
        parts = {
            "parent image": parent_image,
            "system packages": digest_of(list(settings.apt_packages)),
            "environment": digest_of(dict(settings.environment)),
            "zen packages": digest_of(zen_lines + [f"{w.name}:{w.digest}" for w in zen.wheels]),
            "requirements": digest_of((user_requirements or b"").decode(errors="replace")),
            "code": digest_of(code_files),
            "build options": digest_of({"args": settings.build_args, "platform": settings.platform or ""}),
            "generated Dockerfile": digest_of(generated.text),
        }
        return BuildPlan(
            repository=repository,
            dockerfile=generated.text,
            dockerfile_name=df.DOCKERFILE,
            entries=entries,
            build_args=dict(settings.build_args),
            platform=settings.platform,
            parent=parent_plan,
            purpose=generated.purpose,
            parts=parts,
            code_files=code_files,
        )

    def _repository(self, settings: DockerSettings) -> str:
        name = settings.image_name or DEFAULT_IMAGE_NAME
        registry = self.registry
        return registry.repository(name) if registry is not None else name

    def _parent_plan(
        self, settings: DockerSettings, root: Path, repository: str, code: dict[str, ContextEntry]
    ) -> BuildPlan:
        assert settings.dockerfile is not None
        path = Path(settings.dockerfile).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise ZenError(f"dockerfile {path} does not exist")
        text = path.read_text(encoding="utf-8")
        # A Dockerfile that copies nothing from the context gets none: then a code change
        # does not change the parent image (nor make its layers build again).
        entries = list(code.values()) if uses_context(text) else []
        code = code if entries else {}
        try:
            name = path.resolve().relative_to(root).as_posix()
        except ValueError:
            name = ""
        if name not in code:
            name = USER_DOCKERFILE
            entries.append(ContextEntry.from_bytes(name, text.encode()))
        return BuildPlan(
            repository=repository,
            dockerfile=text,
            dockerfile_name=name,
            entries=entries,
            build_args=dict(settings.build_args),
            platform=settings.platform,
            tag_prefix="parent-",
            source_label=f"your Dockerfile {path}",
        )

    def _zen_install(self, settings: DockerSettings, root: Path) -> ZenInstall:
        names = (self.stack_packages() if settings.install_stack_packages else []) + list(
            settings.zen_packages
        )
        return resolve_zen_packages(
            names, dev_mode=self.dev_mode(settings), cache=self.wheels, search_from=root
        )

    @staticmethod
    def _user_requirements(settings: DockerSettings, root: Path) -> bytes | None:
        req = settings.requirements
        if req is None:
            return None
        if isinstance(req, str):
            path = Path(req).expanduser()
            path = path if path.is_absolute() else root / path
            if not path.is_file():
                raise ZenError(f"requirements file {path} does not exist")
            return path.read_bytes()
        if not req:
            return None
        return ("\n".join(line.strip() for line in req) + "\n").encode()

    # -- deciding and doing ----------------------------------------------------------------
    def build_images(self, spec: PipelineSpec) -> dict[str, str]:
        """``{step_id: image}`` for every step of ``spec``, building what is missing."""
        validate_spec_settings(spec)  # errors that name the pipeline, step and field
        groups: dict[str, tuple[DockerSettings, list[str]]] = {}
        for step in spec.steps:
            settings = settings_for_step(spec, step.id)
            key = settings.model_dump_json()
            groups.setdefault(key, (settings, []))[1].append(step.id)
        images: dict[str, str] = {}
        for settings, step_ids in groups.values():
            if settings.image:
                self.say(
                    f"steps {_names(step_ids)} use the prebuilt image {settings.image}: nothing to build"
                )
                self.reports.append(BuildReport(settings.image, step_ids, "prebuilt", "prebuilt image"))
                images.update(dict.fromkeys(step_ids, settings.image))
                continue
            plan = self.plan(settings)
            report = self.ensure(plan, step_ids, settings)
            images.update(dict.fromkeys(step_ids, report.image))
        return images

    def ensure(
        self, plan: BuildPlan, step_ids: list[str], settings: DockerSettings | None = None
    ) -> BuildReport:
        """Make sure ``plan.image`` exists where the steps will get it from; report what was done."""
        started = time.perf_counter()
        registry = self.registry
        who = f"image {plan.image} (steps {_names(step_ids)})"
        record_key = digest_of(
            [plan.repository, settings.model_dump_json() if settings else "", str(Path.cwd())]
        )
        if registry is not None:
            if registry.has_image(plan.image):
                self.say(f"{who} is in registry {registry.uri} already: build and push skipped")
                report = BuildReport(plan.image, step_ids, "skipped", f"already in registry {registry.uri}")
            elif self._local_has(plan.image):
                self.say(f"{who} is built but not in registry {registry.uri}: pushing it")
                self._push(plan.image, registry)
                report = BuildReport(plan.image, step_ids, "pushed", "built earlier, pushed now", pushed=True)
            else:
                why = self._what_changed(plan, record_key)
                self.say(f"building {who}: {why}; not in registry {registry.uri} nor in the local engine")
                layers = self._build_all(plan)
                self._push(plan.image, registry)
                report = BuildReport(plan.image, step_ids, "built", why, layers=layers, pushed=True)
        elif self._local_has(plan.image):
            self.say(f"{who} is in the local engine already: build skipped")
            report = BuildReport(plan.image, step_ids, "skipped", "already in the local engine")
        else:
            why = self._what_changed(plan, record_key)
            self.say(f"building {who}: {why}")
            layers = self._build_all(plan)
            report = BuildReport(plan.image, step_ids, "built", why, layers=layers)
        report.seconds = time.perf_counter() - started
        if report.action == "built":
            cached = sum(1 for _, c in report.layers if c)
            self.say(
                f"{plan.image} ready in {report.seconds:.1f}s "
                f"({cached} of {len(report.layers)} build steps from cache)"
            )
        self._remember(plan, record_key)
        self.reports.append(report)
        return report

    # -- what changed since the last build of the same settings ---------------------------
    def _record_path(self, key: str) -> Path:
        return self.cache_root / "builds" / f"{key}.json"

    def _what_changed(self, plan: BuildPlan, key: str) -> str:
        try:
            last = json.loads(self._record_path(key).read_text())
        except (OSError, ValueError):
            return "no earlier build of these settings is known"
        changed = [name for name, digest in plan.parts.items() if last.get("parts", {}).get(name) != digest]
        if not changed:
            return f"the inputs equal those of {last.get('image')}, which is gone"
        words = []
        for name in changed:
            if name == "code":
                before: dict[str, str] = last.get("code_files", {})
                files = sorted(
                    {f for f in set(before) | set(plan.code_files) if before.get(f) != plan.code_files.get(f)}
                )
                shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
                words.append(f"code changed ({shown})" if files else "code changed")
            else:
                words.append(f"{name} changed")
        return ", ".join(words) + f" since {last.get('image')}"

    def _remember(self, plan: BuildPlan, key: str) -> None:
        path = self._record_path(key)
        record = {"image": plan.image, "parts": plan.parts, "code_files": plan.code_files}
        try:
            if path.is_file() and json.loads(path.read_text()).get("image") == plan.image:
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(record))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass  # only used to explain the next build

    # -- engine calls ----------------------------------------------------------------------
    def _local_has(self, image: str) -> bool:
        import docker.errors  # type: ignore[import-untyped]

        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            if getattr(exc, "status_code", None) == 404:
                return False
            raise
        return True

    def _build_all(self, plan: BuildPlan) -> list[tuple[str, bool]]:
        if plan.parent is not None:
            if self._local_has(plan.parent.image):
                self.say(f"parent image {plan.parent.image} (from your Dockerfile) is built already")
            else:
                self.say(f"building parent image {plan.parent.image} from {plan.parent.source_label}")
                self._build(plan.parent)
        return self._build(plan)

    def _build(self, plan: BuildPlan) -> list[tuple[str, bool]]:
        import docker.errors  # type: ignore[import-untyped]

        layers: list[tuple[str, bool]] = []
        tail: list[str] = []
        step: tuple[int, str] | None = None
        pending = ""
        error: str | None = None

        def feed(text: str) -> None:
            nonlocal step
            for raw in text.splitlines():
                line = raw.rstrip()
                match = _STEP_LINE.match(line.strip())
                if match:
                    step = (int(match.group(1)), match.group(3))
                    if not match.group(3).upper().startswith("FROM "):
                        layers.append((match.group(3), False))
                    tail.clear()  # keep the output of the current build step only
                elif "Using cache" in line and layers and step is not None and layers[-1][0] == step[1]:
                    layers[-1] = (layers[-1][0], True)
                else:
                    tail.append(line)
                    del tail[: -_TAIL_LINES * 4]
                self._stream(line)

        try:
            with plan.open_context() as context:
                stream = self.client.api.build(
                    fileobj=context,
                    custom_context=True,
                    dockerfile=plan.dockerfile_name,
                    tag=plan.image,
                    buildargs=plan.build_args or None,
                    platform=plan.platform,
                    pull=self.config.pull_parent,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    timeout=self.config.timeout,
                )
                for chunk in stream:
                    if "error" in chunk or "errorDetail" in chunk:
                        detail = chunk.get("errorDetail") or {}
                        error = str(chunk.get("error") or detail.get("message") or chunk).strip()
                        break
                    text = chunk.get("stream")
                    if isinstance(text, str):
                        pending += text
                        if "\n" in pending:
                            complete, _, pending = pending.rpartition("\n")
                            feed(complete)
        except docker.errors.APIError as exc:
            error = str(exc.explanation or exc)
        if pending:
            feed(pending)
        if error is not None:
            raise self._build_error(plan, step, error, tail)
        return layers

    def _build_error(
        self, plan: BuildPlan, step: tuple[int, str] | None, error: str, tail: list[str]
    ) -> DockerBuildError:
        line_no: int | None = None
        instruction = ""
        where = plan.source_label
        if step is not None:
            starts = df.instruction_lines(plan.dockerfile)
            instruction = step[1]
            if 1 <= step[0] <= len(starts):
                line_no = starts[step[0] - 1]
                instruction = plan.dockerfile.splitlines()[line_no - 1].strip() or instruction
        lines = [f"building image {plan.image} failed"]
        if line_no is not None:
            purpose = plan.purpose.get(line_no)
            lines[0] += f" at line {line_no} of {where}" + (f", which installs {purpose}" if purpose else "")
            lines.append(f"    {instruction}")
        elif step is not None:
            lines[0] += f" at build step {step[0]} of {where}"
            lines.append(f"    {instruction}")
        lines.append(f"error: {error}")
        shown = [t for t in tail if t.strip()][-_TAIL_LINES:]
        if shown:
            what = "its output" if step is not None else "build output"
            lines.append(f"{what} (last {len(shown)} lines):" if len(shown) == _TAIL_LINES else f"{what}:")
            lines.extend(f"    {t}" for t in shown)
        return DockerBuildError(
            "\n".join(lines), image=plan.image, line=line_no, instruction=instruction, output="\n".join(shown)
        )

    def _push(self, image: str, registry: ContainerRegistry) -> None:
        import docker.errors  # type: ignore[import-untyped]

        repository, _, tag = image.rpartition(":")
        self.say(f"pushing {image}")
        started = time.perf_counter()
        seen: set[tuple[str, str]] = set()
        try:
            for chunk in self.client.api.push(
                repository, tag=tag, stream=True, decode=True, auth_config=registry.auth_config()
            ):
                if "error" in chunk or "errorDetail" in chunk:
                    detail = chunk.get("errorDetail") or {}
                    message = chunk.get("error") or detail.get("message")
                    raise DockerPushError(f"pushing {image} to {registry.uri} failed: {message}")
                status = str(chunk.get("status") or "")
                key = (str(chunk.get("id") or ""), status)
                if status and key not in seen:
                    seen.add(key)
                    self._stream(f"{key[0]}: {status}" if key[0] else status)
        except docker.errors.APIError as exc:
            raise DockerPushError(
                f"pushing {image} to {registry.uri} failed: {exc.explanation or exc}"
            ) from None
        if not registry.has_image(image):
            raise DockerPushError(
                f"pushing {image} reported success but registry {registry.uri} does not have it"
            )
        self.say(f"pushed {image} in {time.perf_counter() - started:.1f}s")


def uses_context(dockerfile: str) -> bool:
    """Whether a Dockerfile's COPY/ADD instructions read files from the build context."""
    starts = df.instruction_lines(dockerfile)
    lines = dockerfile.splitlines()
    for number in starts:
        words = lines[number - 1].split()
        from_stage = any(w.lower().startswith("--from") for w in words[1:])
        if words and words[0].upper() in ("COPY", "ADD") and not from_stage:
            return True
    return False


def build_images_for_stack(spec: PipelineSpec, stack: Any) -> dict[str, str] | None:
    """The default ``zen_build_images``: the stack's image builder, else Docker with defaults.

    An image builder component of another flavor that has a ``build_images(spec)``
    method is used the same way; one without it is left to the plugin that
    registered it (``None``).
    """
    if stack is not None and stack.has("image_builder"):
        builder = stack.component("image_builder")
        build = getattr(builder, "build_images", None)
        if build is None:
            return None
        images: dict[str, str] = build(spec)
        return images
    return DockerImageBuilder(stack=stack).build_images(spec)
