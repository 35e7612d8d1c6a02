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

Sending (:func:`post`) follows the Standard Webhooks rules: a connection per delivery, no
redirects followed, a hard deadline for the whole exchange (a watchdog cuts the connection, so
a receiver that answers a byte at a time cannot hold a worker), and only the first 1 KB of the
receiver's answer is read.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import ipaddress
import itertools
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

#: The resolver (tests replace it: no test resolves a name outside loopback).
getaddrinfo = socket.getaddrinfo
#: Instance metadata and identity services (AWS incl. ECS and EKS, GCP, Azure, OpenStack,
#: Oracle, Alibaba), refused even where private targets are allowed.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23",
    "100.100.100.200", "192.0.0.192"))
#: Never a webhook target: link-local (where metadata services live), "this network",
#: broadcast, the reserved class E, and ranges Python counts as global that are not.
NEVER = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "240.0.0.0/4", "fec0::/10"))
NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24"))
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
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
        inner = _embedded_v4(address)
        if inner is not None:
            why = refusal(inner, allow_private)
            if why:
                return f"{why} inside {address}"
    if address in METADATA:
        return f"a cloud metadata address ({address})"
    if address.is_multicast:
        return f"a multicast address ({address})"
    if address.is_unspecified:
        return f"the unspecified address ({address})"
    if any(address in network for network in NEVER):
        kind = "link-local" if address.is_link_local else "reserved"
        return f"a {kind} address ({address})"
    if allow_private:
        return None
    for kind in ("loopback", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind} address ({address})"
    if not address.is_global or any(address in network for network in NOT_PUBLIC):
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


def connection(url: str, allow_private: bool = False,
               timeout: float = 10.0) -> HTTPConnection:
    """A new connection (not yet open) to ``url``'s host that opens only to an allowed
    address; certificates are verified for https."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    kind: type[HTTPConnection] = (
        (_PrivateHTTPS if allow_private else _PinnedHTTPS) if https else
        (_PrivateHTTP if allow_private else _PinnedHTTP))
    return kind(parts.hostname or "", parts.port or (443 if https else 80), timeout=timeout)


class _Watchdog:
    """One thread that runs each registered action when its deadline passes, unless it was
    cancelled first: a hard deadline for every delivery, however slowly a receiver answers."""

    def __init__(self) -> None:
        self._due: list[list[Any]] = []  # heap of [deadline, number, action or None]
        self._condition = threading.Condition()
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, action: Any) -> list[Any]:
        entry = [time.monotonic() + seconds, next(self._numbers), action]
        with self._condition:
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="webhooks-deadlines")
                self._thread.start()
            self._condition.notify()
        return entry

    def cancel(self, entry: list[Any]) -> None:
        with self._condition:
            entry[2] = None

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._due or self._due[0][0] > time.monotonic():
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._condition.wait(wait)
                action = heapq.heappop(self._due)[2]
            if action is not None:
                action()


_WATCHDOG = _Watchdog()


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


def post(url: str, body: bytes, headers: dict[str, str], timeout: float,
         allow_private: bool = False) -> Answer:
    """POST ``body`` to ``url`` (checked again first) on a connection of its own, without
    following redirects, reading at most :data:`RESPONSE_BYTES` of the answer, all within
    ``timeout`` seconds (then the connection is cut)."""
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        check(url, allow_private)
    except Refused as exc:
        return Answer(None, elapsed(), error=f"refused: {exc}")
    parts = urlsplit(url)
    conn = connection(url, allow_private, timeout)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    deadline = _WATCHDOG.add(timeout, cut)
    status: int | None = None
    try:
        conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                     body=body, headers=headers, preload_content=False)
        response = conn.getresponse()
        status = response.status
        start = response.read(RESPONSE_BYTES + 1, decode_content=False)
    except Refused as exc:
        return Answer(None, elapsed(), error=f"refused: {exc}")
    except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException) as exc:
        return Answer(status, elapsed(), error="timed out" if expired.is_set() else
                      _describe(exc))
    finally:
        _WATCHDOG.cancel(deadline)
        conn.close()
    return Answer(status, elapsed(), body=start[:RESPONSE_BYTES].decode("utf-8", "replace")
                  or None)


def _describe(exc: BaseException) -> str:
    """A short, secret-free account of a transport error."""
    chain = [exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())]
    if any(isinstance(item, TimeoutError | urllib3.exceptions.TimeoutError) for item in chain):
        return "timed out"
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "connection refused"
    if any(isinstance(item, ssl.SSLError | urllib3.exceptions.SSLError) for item in chain):
        return "TLS failed"
    if isinstance(exc, http.client.HTTPException | urllib3.exceptions.ProtocolError):
        return "not a valid HTTP answer"
    return "the connection broke"
