"""The registry lookup against a small Registry-API v2 server on 127.0.0.1 (no engine)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from zen_docker.config import ContainerRegistryConfig
from zen_docker.registry import ContainerRegistry, ContainerRegistryError, split_reference


class FakeRegistry:
    def __init__(self) -> None:
        self.tags = {("zen", "abc")}
        self.auth: str | None = None  # None, "basic" or "bearer"
        self.seen: list[dict[str, Any]] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.startswith("/token"):
                    expected = "Basic " + base64.b64encode(b"user:secret").decode()
                    if self.headers.get("Authorization") != expected:
                        return self._reply(401)
                    return self._reply(200, body=json.dumps({"token": "tok"}).encode())
                return self._reply(404)

            def do_HEAD(self) -> None:
                registry.seen.append({"path": self.path, **dict(self.headers)})
                auth = self.headers.get("Authorization", "")
                if registry.auth == "basic" and auth != "Basic " + base64.b64encode(b"user:secret").decode():
                    return self._reply(401, {"WWW-Authenticate": 'Basic realm="zen"'})
                if registry.auth == "bearer" and auth != "Bearer tok":
                    realm = f"http://{registry.address}/token"
                    challenge = f'Bearer realm="{realm}",service="zen",scope="repository:zen:pull"'
                    return self._reply(401, {"WWW-Authenticate": challenge})
                parts = self.path.split("/")  # /v2/<name>/manifests/<tag>
                name, tag = "/".join(parts[2:-2]), parts[-1]
                self._reply(200 if (name, tag) in registry.tags else 404)

        return Handler


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    reg = FakeRegistry()
    reg.thread.start()
    yield reg
    reg.server.shutdown()
    reg.server.server_close()


def registry(address: str, insecure: bool = True) -> ContainerRegistry:
    return ContainerRegistry("r", ContainerRegistryConfig(uri=address, insecure=insecure))


def test_has_image(fake_registry):
    reg = registry(fake_registry.address)
    assert reg.has_image(f"{fake_registry.address}/zen:abc")
    assert not reg.has_image(f"{fake_registry.address}/zen:other")
    accept = fake_registry.seen[-1]["Accept"]
    assert "application/vnd.oci.image.index.v1+json" in accept
    assert "application/vnd.docker.distribution.manifest.v2+json" in accept


def test_basic_auth_from_the_environment(fake_registry, monkeypatch):
    fake_registry.auth = "basic"
    reg = registry(fake_registry.address)
    with pytest.raises(ContainerRegistryError, match="ZEN_REGISTRY_USERNAME and ZEN_REGISTRY_PASSWORD"):
        reg.has_image(f"{fake_registry.address}/zen:abc")
    monkeypatch.setenv("ZEN_REGISTRY_USERNAME", "user")
    monkeypatch.setenv("ZEN_REGISTRY_PASSWORD", "secret")
    assert reg.has_image(f"{fake_registry.address}/zen:abc")
    assert reg.auth_config() == {
        "username": "user",
        "password": "secret",
        "serveraddress": fake_registry.address,
    }


def test_bearer_token_flow(fake_registry, monkeypatch):
    fake_registry.auth = "bearer"
    monkeypatch.setenv("ZEN_REGISTRY_USERNAME", "user")
    monkeypatch.setenv("ZEN_REGISTRY_PASSWORD", "secret")
    assert registry(fake_registry.address).has_image(f"{fake_registry.address}/zen:abc")
    assert fake_registry.seen[-1]["Authorization"] == "Bearer tok"


def test_a_plain_http_registry_must_be_marked_insecure(fake_registry):
    with pytest.raises(ContainerRegistryError, match="not reachable"):
        registry(fake_registry.address, insecure=False).has_image(f"{fake_registry.address}/zen:abc")


def test_unreachable_registry():
    with pytest.raises(ContainerRegistryError, match="tried https and http"):
        registry("127.0.0.1:9").has_image("127.0.0.1:9/zen:abc")


def test_image_of_another_registry_is_refused(fake_registry):
    with pytest.raises(ContainerRegistryError, match="not in container registry"):
        registry(fake_registry.address).has_image("ghcr.io/zen:abc")


def test_namespaced_uri():
    reg = registry("ghcr.io/acme/ml", insecure=False)
    assert reg.host == "ghcr.io"
    assert reg.repository("zen") == "ghcr.io/acme/ml/zen"


def test_split_reference():
    assert split_reference("127.0.0.1:5000/zen:abc") == ("127.0.0.1:5000", "zen", "abc")
    assert split_reference("ghcr.io/acme/ml/zen:v1") == ("ghcr.io", "acme/ml/zen", "v1")
    assert split_reference("127.0.0.1:5000/zen") == ("127.0.0.1:5000", "zen", "latest")
