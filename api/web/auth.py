"""API keys: creation, hashing, and who is asking.

A key looks like ``htc_<prefix>_<secret>``. Only the SHA-256 hash of the whole key is stored,
beside the public prefix used to find it; keys are compared in constant time. A wrong, revoked or
malformed key is 401 (even on public endpoints): the edge (:mod:`api.edge.pipeline`) checks the key
of every request with :func:`identifier` and leaves its holder for :func:`current_viewer`. A
missing scope is 403. Records visible only to
law enforcement are invisible (404, absent from lists) without ``read:restricted``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.storage.clock import utcnow
from api.storage.models import ApiKey
from api.storage.store import Viewer
from api.web.errors import Problem

#: WSGI ``environ`` key where the edge leaves who asks (a :class:`Viewer`, None: no key).
VIEWER_KEY = "htcontent.viewer"
ANONYMOUS = Viewer()
SCOPES = ("read:restricted", "write", "approve", "webhooks", "admin")
KEY_RE = re.compile(r"^htc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DUMMY_HASH = hashlib.sha256(b"htc_000000000000_" + b"0" * 43).hexdigest()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    name: str
    key: str
    scopes: tuple[str, ...]


def create_key(session: Session, name: str, scopes: list[str]) -> NewKey:
    """Store a new key (its hash) and return the key itself, which is never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; allowed: {', '.join(SCOPES)}")
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise ValueError(f"a key named {name!r} already exists")
    prefix = secrets.token_hex(6)
    key = f"htc_{prefix}_{secrets.token_urlsafe(32)}"
    ordered = tuple(scope for scope in SCOPES if scope in scopes)
    session.add(ApiKey(name=name, prefix=prefix, secret_hash=hash_key(key), scopes=list(ordered),
                       created_at=utcnow()))
    session.commit()
    return NewKey(name, key, ordered)


def revoke_key(session: Session, name_or_prefix: str) -> ApiKey | None:
    found = session.scalar(select(ApiKey).where(
        (ApiKey.name == name_or_prefix) | (ApiKey.prefix == name_or_prefix)))
    if found is not None and found.revoked_at is None:
        found.revoked_at = utcnow()
        session.commit()
    return found


class KeyRefused(Problem):
    """401: a key was sent and is wrong or revoked (what the edge counts against the client's
    limit of failed authentications; a malformed header is refused without counting)."""


def _unauthorized(detail: str, kind: type[Problem] = Problem) -> Problem:
    return kind(401, detail, slug="unauthorized", title="Unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="htcontent"'})


def presented_key(environ: dict[str, Any]) -> str | None:
    """The key sent with a request, if any (``Authorization: Bearer`` or ``X-API-Key``)."""
    header = environ.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorized("Send the key as `Authorization: Bearer <key>` or `X-API-Key`.")
        return value.strip()
    return environ.get("HTTP_X_API_KEY")  # type: ignore[no-any-return]


def viewer_for_key(session: Session, key: str) -> Viewer:
    """Who holds ``key``: 401 when it is wrong, malformed or revoked."""
    match = KEY_RE.fullmatch(key)
    found = None
    if match is not None:
        found = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    # Compare even when nothing was found, so timing does not tell prefixes apart.
    expected = found.secret_hash if found is not None else _DUMMY_HASH
    if not hmac.compare_digest(expected, hash_key(key)) or found is None:
        raise _unauthorized("The API key is not valid.", KeyRefused)
    if found.revoked_at is not None:
        raise _unauthorized("The API key has been revoked.", KeyRefused)
    return Viewer.of_key(found.name, frozenset(found.scopes))


def identifier(sessions: sessionmaker[Session]) -> Callable[[dict[str, Any]], Viewer | None]:
    """How the edge finds who sends a request: the key's holder, or None without a key."""

    def identify(environ: dict[str, Any]) -> Viewer | None:
        key = presented_key(environ)
        if key is None:
            return None
        with sessions() as session:
            return viewer_for_key(session, key)

    return identify


def current_viewer() -> Viewer:
    """Who is asking (authenticated by the edge, once per request)."""
    viewer = request.environ.get(VIEWER_KEY)
    return viewer if viewer is not None else ANONYMOUS  # type: ignore[no-any-return]


def require(scope: str) -> Viewer:
    """The viewer, if their key has ``scope``: 401 without a key, 403 without the scope."""
    viewer = current_viewer()
    if not viewer.keyed:
        raise _unauthorized(f"This needs an API key with the {scope!r} scope.")
    if scope not in viewer.scopes:
        raise Problem(403, f"This key lacks the {scope!r} scope.", slug="forbidden",
                      title="Forbidden")
    return viewer
