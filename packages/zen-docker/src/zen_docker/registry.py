"""The ``default`` container registry: where images are pushed, and whether a tag is there.

Whether an image is already in the registry is asked with one ``HEAD`` request of
the Docker Registry HTTP API v2 (``/v2/<name>/manifests/<tag>``), with no engine
and no ``docker`` import, so a build that has nothing to do costs milliseconds.
Basic and bearer-token authentication are supported; credentials come from the
environment variables the component names, never from the stack file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from zen_core.errors import ZenError

from .config import ContainerRegistryConfig

_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_LOOPBACK = ("127.", "localhost", "[::1]")


class ContainerRegistryError(ZenError):
    """The container registry cannot be reached or refuses us."""


def split_reference(image: str) -> tuple[str, str, str]:
    """``host[:port]/path/name:tag`` -> ``(host, path/name, tag)``."""
    name, _, tag = image.rpartition(":")
    if "/" in tag or not name:
        name, tag = image, "latest"
    host, _, path = name.partition("/")
    return host, path, tag


class ContainerRegistry:
    """A registry that speaks the Docker Registry HTTP API v2."""

    def __init__(self, name: str, config: ContainerRegistryConfig, stack: Any = None) -> None:
        self.name = name
        self.config = config
        self.stack = stack

    @property
    def uri(self) -> str:
        return self.config.uri

    @property
    def host(self) -> str:
        return self.config.uri.split("/", 1)[0]

    def repository(self, image_name: str) -> str:
        return f"{self.config.uri}/{image_name}"

    def credentials(self) -> tuple[str, str] | None:
        user = os.environ.get(self.config.username_env)
        password = os.environ.get(self.config.password_env)
        return (user, password) if user and password else None

    def auth_config(self) -> dict[str, str] | None:
        """For ``docker`` SDK pushes and pulls."""
        creds = self.credentials()
        if creds is None:
            return None
        return {"username": creds[0], "password": creds[1], "serveraddress": self.host}

    # -- HTTP ------------------------------------------------------------------------------
    def _opener(self, scheme: str) -> urllib.request.OpenerDirector:
        handlers: list[Any] = []
        if self.host.startswith(_LOOPBACK):
            handlers.append(urllib.request.ProxyHandler({}))  # never send loopback traffic to a proxy
        if scheme == "https" and self.config.insecure:
            # no certificate checks, so no CA bundle to load (that alone costs ~0.1 s)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        return urllib.request.build_opener(*handlers)

    def _schemes(self) -> list[str]:
        # as Docker does: HTTPS first; an insecure registry may fall back to plain HTTP
        return ["https", "http"] if self.config.insecure else ["https"]

    def _request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        last_error: Exception | None = None
        for scheme in self._schemes():
            url = f"{scheme}://{self.host}{path}"
            try:
                return self._send(scheme, method, url, headers)
            except (urllib.error.URLError, ssl.SSLError, ConnectionError, TimeoutError) as exc:
                last_error = exc
        raise ContainerRegistryError(
            f"container registry {self.uri} is not reachable"
            f"{' (it is marked insecure: tried https and http)' if self.config.insecure else ''}: "
            f"{getattr(last_error, 'reason', last_error)}"
        )

    def _send(
        self, scheme: str, method: str, url: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        opener = self._opener(scheme)
        creds = self.credentials()
        hdrs = dict(headers)
        if creds:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            hdrs["Authorization"] = f"Basic {token}"
        status, reply = self._call(opener, method, url, hdrs)
        challenge = reply.get("www-authenticate", "")
        if status == 401 and challenge.lower().startswith("bearer"):
            bearer = self._token(opener, challenge, creds)
            hdrs["Authorization"] = f"Bearer {bearer}"
            status, reply = self._call(opener, method, url, hdrs)
        return status, reply

    @staticmethod
    def _call(
        opener: urllib.request.OpenerDirector, method: str, url: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        req = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310 - http(s) only
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            return err.code, {k.lower(): v for k, v in (err.headers or {}).items()}

    def _token(
        self, opener: urllib.request.OpenerDirector, challenge: str, creds: tuple[str, str] | None
    ) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise ContainerRegistryError(f"container registry {self.uri} sent an unusable auth challenge")
        query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
        req = urllib.request.Request(f"{realm}?{query}" if query else realm)  # noqa: S310
        if creds:
            basic = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {basic}")
        try:
            with opener.open(req, timeout=30) as resp:
                data = json.loads(resp.read().decode())
        except (urllib.error.URLError, ValueError) as exc:
            raise ContainerRegistryError(
                f"container registry {self.uri}: getting a token failed: {exc}"
            ) from None
        token = data.get("token") or data.get("access_token")
        if not token:
            raise ContainerRegistryError(f"container registry {self.uri}: the token service sent no token")
        return str(token)

    def has_image(self, image: str) -> bool:
        """Whether the registry holds ``image`` (``<uri>/<name>:<tag>``)."""
        host, path, tag = split_reference(image)
        if host != self.host:
            raise ContainerRegistryError(f"image {image} is not in container registry {self.uri}")
        status, _ = self._request("HEAD", f"/v2/{path}/manifests/{tag}", {"Accept": _MANIFEST_TYPES})
        if status == 200:
            return True
        if status == 404:
            return False
        if status in (401, 403):
            raise ContainerRegistryError(
                f"container registry {self.uri} refused access to {path} (HTTP {status}); set "
                f"{self.config.username_env} and {self.config.password_env}"
            )
        raise ContainerRegistryError(f"container registry {self.uri} answered HTTP {status} for {image}")
