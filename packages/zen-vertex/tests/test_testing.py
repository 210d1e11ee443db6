"""The loopback-only guard every zen-vertex test runs under."""

from __future__ import annotations

import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from zen_vertex.testing import NetworkBlockedError, _grpc_host, is_loopback, loopback_only


def test_non_loopback_connections_fail_at_once() -> None:
    for address in [("10.1.2.3", 80), ("169.254.169.254", 80), ("8.8.8.8", 53)]:
        with socket.socket() as s, pytest.raises(NetworkBlockedError):
            s.connect(address)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("aiplatform.googleapis.com", 443)
    with pytest.raises(OSError):
        urllib.request.urlopen("http://metadata.google.internal/", timeout=30)


def test_grpc_channels_to_google_are_refused() -> None:
    import grpc

    with pytest.raises(NetworkBlockedError):
        grpc.secure_channel("europe-west4-aiplatform.googleapis.com:443", grpc.ssl_channel_credentials())
    grpc.insecure_channel("127.0.0.1:1").close()


def test_loopback_works() -> None:
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hi")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    t = threading.Thread(target=server.handle_request)
    t.start()
    try:
        port = server.server_address[1]
        assert urllib.request.urlopen(f"http://localhost:{port}/", timeout=10).read() == b"hi"
    finally:
        t.join(timeout=10)
        server.server_close()


def test_the_guard_is_undone() -> None:
    connect = socket.socket.connect
    with loopback_only():
        assert socket.socket.connect is not connect
    assert socket.socket.connect is connect


def test_helpers() -> None:
    assert (
        is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("[::1]")
    )
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
    assert _grpc_host("dns:///vertex.googleapis.com:443") == "vertex.googleapis.com"
    assert _grpc_host("127.0.0.1:8080") == "127.0.0.1"
    assert _grpc_host("[::1]:8080") == "::1"
