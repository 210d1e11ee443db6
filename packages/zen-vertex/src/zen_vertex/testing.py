"""Test helpers for code that uses zen-vertex offline.

:func:`loopback_only` makes every attempt to reach an address that is not on this
machine fail at once, instead of hanging on a network that is not there (the Google
SDKs try metadata servers, token endpoints and Cloud APIs on their own)::

    @pytest.fixture(autouse=True)
    def _offline():
        with loopback_only():
            yield

It guards Python's sockets (``connect``, ``connect_ex``, name resolution, which is
what requests, aiohttp and http.client use) and gRPC channel creation (gRPC's C core
has its own sockets). Unix sockets (a Docker API) and 127.0.0.0/8, ::1 and
``localhost`` are allowed. Child processes are not guarded.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any


class NetworkBlockedError(OSError):
    """A test tried to reach a non-loopback address."""


_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})


def is_loopback(host: Any) -> bool:
    """Whether ``host`` (a name or an address) is on this machine."""
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    text = str(host).strip("[]").lower()
    if text in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _blocked(what: str, target: Any) -> NetworkBlockedError:
    return NetworkBlockedError(f"blocked by loopback_only(): {what} {target!r} is not a loopback address")


def _grpc_host(target: str) -> str:
    target = target.split("://", 1)[-1] if "://" in target else target
    target = target.split(":", 1)[1] if target.startswith(("dns:", "ipv4:", "ipv6:")) else target
    target = target.lstrip("/")
    if target.startswith("["):
        return target[1 : target.index("]")]
    return target.rsplit(":", 1)[0] if target.count(":") == 1 else target


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Within the block, reaching a non-loopback address raises :class:`NetworkBlockedError`."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            raise _blocked("connect to", address)

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, str(_blocked("name lookup of", host)))
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(address[0]):
            raise _blocked("connection to", address)
        return real_create_connection(address, *args, **kwargs)

    patches: list[tuple[Any, str, Any]] = [
        (socket.socket, "connect", connect),
        (socket.socket, "connect_ex", connect_ex),
        (socket, "getaddrinfo", getaddrinfo),
        (socket, "create_connection", create_connection),
    ]
    try:
        import grpc  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - grpc comes with google-cloud-aiplatform
        grpc = None
    if grpc is not None:
        for fname in ("secure_channel", "insecure_channel"):
            real = getattr(grpc, fname)

            def channel(target: str, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
                if not is_loopback(_grpc_host(target)):
                    raise _blocked("gRPC channel to", target)
                return _real(target, *args, **kwargs)

            patches.append((grpc, fname, channel))
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        for obj, attr, new in patches:
            setattr(obj, attr, new)
        yield
    finally:
        for obj, attr, old in reversed(saved):
            setattr(obj, attr, old)
