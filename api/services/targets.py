"""Where webhooks may be sent, and sending there.

A subscription's URL must name a host that resolves only to public addresses: loopback,
private, shared (CGNAT), link-local, multicast, reserved and unspecified addresses, the cloud
metadata addresses, and IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64)
of any of them are refused, however they are spelled (``2130706433``, ``0x7f.1``, ``[::ffff:
127.0.0.1]``: the resolver reads them all as the address they are). The check runs when a
subscription is made or changed and again before every delivery (a name may resolve elsewhere
since), and a connection is opened only to an address the check let through (no second lookup
an attacker's DNS could answer differently). ``allow_private`` (``HTCONTENT_WEBHOOKS_ALLOW_
PRIVATE=1``, for tests and closed networks) lets private and loopback addresses and plain
``http`` through; never the metadata addresses, multicast or unspecified ones.

Sending (:func:`post`) follows the Standard Webhooks rules: no redirects followed, a total
timeout, and only the first 1 KB of the receiver's answer is read.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: The resolver (tests replace it: no test resolves a name outside loopback).
getaddrinfo = socket.getaddrinfo
#: Instance metadata services (AWS, GCP, Azure, OpenStack, Oracle; AWS's IPv6; Alibaba).
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192"))
#: How much of a receiver's answer is kept.
RESPONSE_BYTES = 1024


class Refused(OSError):
    """The URL, or an address its host resolves to, is not a place webhooks may go."""


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
            allow_private: bool = False) -> str | None:
    """Why webhooks may not go to ``address`` (None: they may)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            why = refusal(inner, allow_private)
            return f"{why} inside {address}" if why else None
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
    if address in METADATA:
        return f"a cloud metadata address ({address})"
    if address.is_multicast:
        return f"a multicast address ({address})"
    if address.is_unspecified:
        return f"the unspecified address ({address})"
    if allow_private:
        return None
    for kind in ("loopback", "link_local", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address ({address})"
    if not address.is_global:
        return f"a non-public address ({address})"
    return None


def addresses(host: str, port: int, allow_private: bool = False) -> list[str]:
    """The addresses ``host`` resolves to, all of them allowed, or :class:`Refused`."""
    try:
        found = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve ({exc})") from None
    checked = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        why = refusal(address, allow_private)
        if why:
            raise Refused(f"{host} resolves to {why}")
        checked.append(str(address))
    if not checked:
        raise Refused(f"{host} resolves to no address")
    return checked


def check(url: str, allow_private: bool = False) -> None:
    """:class:`Refused` (saying why) unless ``url`` may receive webhooks now."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a URL: {exc}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise Refused("the URL must use https" if not allow_private else
                      "the URL must use https or http")
    if not parts.hostname:
        raise Refused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL must not carry credentials")
    addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80), allow_private)


class _Pinned:
    """A connection that connects only to an address :func:`addresses` allows, resolved when
    it connects (the host name still goes in ``Host`` and the TLS handshake)."""

    allow_private = False

    def _new_conn(self: Any) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        error: OSError | None = None
        for address in addresses(self._dns_host, self.port, self.allow_private):
            try:
                sock = socket.create_connection((address, self.port), timeout)
            except OSError as exc:
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        assert error is not None
        raise error


class _PinnedHTTP(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, HTTPSConnection):
    pass


class _PrivateHTTP(_PinnedHTTP):
    allow_private = True


class _PrivateHTTPS(_PinnedHTTPS):
    allow_private = True


def pool_manager(allow_private: bool = False) -> urllib3.PoolManager:
    """Connections (kept alive, per host) that only reach allowed addresses."""
    plain, tls = (_PrivateHTTP, _PrivateHTTPS) if allow_private else (_PinnedHTTP, _PinnedHTTPS)
    manager = urllib3.PoolManager(num_pools=256, maxsize=4, retries=False)
    manager.pool_classes_by_scheme = {
        "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }
    return manager


@dataclass(frozen=True)
class Answer:
    """What became of one POST: the status (None: no answer), how long it took, the start of
    the answer, or what went wrong."""

    status: int | None
    latency_ms: float
    body: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(manager: urllib3.PoolManager, url: str, body: bytes, headers: dict[str, str],
         timeout: float, allow_private: bool = False) -> Answer:
    """POST ``body`` to ``url`` (checked again first), without following redirects, within
    ``timeout`` seconds in all."""
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        check(url, allow_private)
        response = manager.request(
            "POST", url, body=body, headers=headers, redirect=False, retries=False,
            preload_content=False, timeout=urllib3.Timeout(total=timeout))
    except Refused as exc:
        return Answer(None, elapsed(), error=f"refused: {exc}")
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, elapsed(), error=_describe(exc))
    except OSError as exc:
        return Answer(None, elapsed(), error=f"{type(exc).__name__}: {exc}")
    try:
        start = response.read(RESPONSE_BYTES + 1, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()
        return Answer(response.status, elapsed(), error=_describe(exc))
    if len(start) > RESPONSE_BYTES or not response.isclosed():
        response.close()  # the rest is not read: the connection cannot be reused
    response.release_conn()
    return Answer(response.status, elapsed(),
                  body=start[:RESPONSE_BYTES].decode("utf-8", "replace") or None)


def _describe(exc: BaseException) -> str:
    """A short, secret-free account of a transport error."""
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        reason = exc.__context__ or exc
        return f"connection failed: {reason}" if isinstance(reason, Refused) else \
            "connection refused or unreachable"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS failed"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        if isinstance(exc.__context__, ConnectionRefusedError) or any(
                isinstance(arg, ConnectionRefusedError) for arg in exc.args):
            return "connection refused"
        return "the connection broke"
    return type(exc).__name__
