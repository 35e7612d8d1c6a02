"""Webhook subscriptions and their deliveries: making, changing and reading them, their signing
secrets (kept encrypted), and which subscription a worker delivers for next.

A subscription's secret is shown once, when it is made or rotated; the database holds it
encrypted with the server's key (:class:`SecretBox`, Fernet: AES-128-CBC with HMAC-SHA256), so a
copy of the database alone cannot sign events. Rotating keeps the old secret signing beside the
new one for :data:`ROTATION_GRACE`.

Claiming (:func:`claim`): on PostgreSQL a worker takes a due subscription with ``SELECT ... FOR
UPDATE SKIP LOCKED`` and holds that row lock until its delivery is recorded, so workers on any
number of machines never deliver for one subscription at once; a worker that dies releases its
lock with its connection, and as its cursor had not moved, the event is sent again (same
``webhook-id``). SQLite has no row locks: there, one process delivers (its threads share a set of
claimed subscriptions, and a lock file keeps other processes out: :func:`local_claims`).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from api.storage.models import ApiKey, Change, Webhook, WebhookDelivery, WriteLock
from api.storage.store import state as feed_state

ROTATION_GRACE = timedelta(hours=24)
SECRET_PREFIX = "whsec_"
#: A subscription's statuses (derived): delivering, paused by its owner, stopped for good,
#: or retrying a failed event.
ACTIVE, PAUSED, DISABLED, FAILING = "active", "paused", "disabled", "failing"
QUEUED, SUCCEEDED, FAILED, GONE = "queued", "succeeded", "failed", "gone"


def new_secret() -> str:
    """A signing secret as the Standard Webhooks spec writes it: ``whsec_`` and base64 of
    32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


class SecretBox:
    """Encrypts signing secrets for storage with a key derived from the server's secret
    (``HTCONTENT_SECRET_KEY``, or a key file made once beside a SQLite database)."""

    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(b"htcontent webhook secrets\0" + key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise RuntimeError("a webhook secret cannot be decrypted: HTCONTENT_SECRET_KEY is "
                               "not the key it was stored with") from None


def server_key(configured: str | None, database_url: str) -> str:
    """The server's secret: configured, or (a database on this machine only) kept in a file
    made once, readable by its owner alone (made whole, then linked into place, so processes
    starting together all read the same key)."""
    if configured:
        return configured
    if not database_url.startswith("sqlite"):
        raise RuntimeError("Set HTCONTENT_SECRET_KEY (the same on every instance): webhook "
                           "secrets are stored encrypted with it.")
    path = Path(os.environ.get("HTCONTENT_SECRET_FILE")
                or Path(__file__).resolve().parents[2] / "instance" / "secret.key")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)  # fails if another process made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: remove it (a new key is made) or fill it")
    return key


def status(hook: Webhook) -> str:
    if hook.disabled_at is not None:
        return DISABLED
    if hook.paused:
        return PAUSED
    return FAILING if hook.failing_since is not None else ACTIVE


def head(session: Session) -> tuple[int, str]:
    """The latest change number and the data epoch (new after a restore: see
    :class:`~api.storage.models.WriteLock`), in one query."""
    row = session.execute(select(
        select(func.coalesce(func.max(Change.seq), 0)).scalar_subquery(),
        select(WriteLock.epoch).limit(1).scalar_subquery())).one()
    return int(row[0] or 0), str(row[1] or "")


def create(session: Session, box: SecretBox, *, owner: str, url: str, types: list[str],
           events: list[str], description: str | None, now: datetime) -> tuple[Webhook, str]:
    """A new subscription (told of changes made from now on) and its secret; the caller
    commits."""
    secret = new_secret()
    hook = Webhook(id="wh_" + secrets.token_hex(8), owner=owner, url=url, types=types,
                   events=events, description=description, paused=False,
                   secret=box.seal(secret), cursor=feed_state(session)[0], attempts=0,
                   created_at=now, updated_at=now)
    session.add(hook)
    return hook, secret


def rotate(hook: Webhook, box: SecretBox, now: datetime) -> str:
    """A new secret; the current one keeps signing for :data:`ROTATION_GRACE`."""
    secret = new_secret()
    hook.previous_secret, hook.previous_until = hook.secret, now + ROTATION_GRACE
    hook.secret, hook.updated_at = box.seal(secret), now
    return secret


def signing_keys(hook: Webhook, box: SecretBox, now: datetime) -> list[bytes]:
    """The keys that sign an event now: the current secret's, and the previous one's during
    its grace period."""
    keys = [secret_bytes(box.open(hook.secret))]
    if hook.previous_secret and hook.previous_until and now < hook.previous_until:
        keys.append(secret_bytes(box.open(hook.previous_secret)))
    return keys


def enable(hook: Webhook, now: datetime) -> None:
    """Deliver again (after a pause or a stop): the failing event is tried at once."""
    hook.paused = False
    hook.disabled_at = hook.disabled_reason = None
    hook.attempts, hook.next_attempt_at, hook.failing_since = 0, None, None
    hook.updated_at = now


def visible_to(owner: str | None, admin: bool) -> Any:
    """The condition for subscriptions a key may see: its own (every one with ``admin``)."""
    return Webhook.owner == owner if not admin else Webhook.id.is_not(None)


def page(session: Session, condition: Any, after: str, limit: int) -> tuple[list[Webhook], int]:
    """Subscriptions meeting ``condition`` after id ``after``, by id, and how many there are."""
    found = list(session.scalars(select(Webhook).where(condition, Webhook.id > after)
                                 .order_by(Webhook.id).limit(limit)))
    return found, int(session.scalar(select(func.count()).select_from(Webhook)
                                     .where(condition)) or 0)


def deliveries(session: Session, hook_id: str, before: int | None,
               limit: int) -> tuple[list[WebhookDelivery], int]:
    """A subscription's delivery attempts, newest first (ids below ``before``)."""
    condition = WebhookDelivery.webhook_id == hook_id
    query = select(WebhookDelivery).where(condition)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    found = list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))
    return found, int(session.scalar(select(func.count()).select_from(WebhookDelivery)
                                     .where(condition)) or 0)


def state(session: Session, condition: Any) -> str:
    """What changes when any subscription a key sees (or its deliveries) changes: for ETags."""
    row = session.execute(select(func.count(), func.max(Webhook.updated_at),
                                 func.sum(Webhook.cursor), func.sum(Webhook.attempts))
                          .where(condition)).one()
    last = session.execute(select(func.max(WebhookDelivery.id), func.max(WebhookDelivery.at),
                                  func.count())
                           .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                           .where(condition)).one()
    return ":".join(str(part) for part in (*row, *last))


def due(head: int, now: datetime) -> Any:
    """Subscriptions with something to send now: an event after their cursor, or a queued
    resend or test event; not paused, stopped, or waiting to retry."""
    queued = exists().where(WebhookDelivery.webhook_id == Webhook.id,
                            WebhookDelivery.outcome == QUEUED)
    return and_(Webhook.paused.is_(False), Webhook.disabled_at.is_(None),
                or_(and_(Webhook.cursor < head,
                         or_(Webhook.next_attempt_at.is_(None), Webhook.next_attempt_at <= now)),
                    queued))


@dataclass(frozen=True)
class Claimed:
    """A subscription claimed for delivery, with its key's scopes (None: revoked or gone)
    and whether a test event or a resend waits (read with it: one query)."""

    hook: Webhook
    scopes: frozenset[str] | None
    queued: bool


def _claimable(head: int, now: datetime, limit: int, failing: bool) -> Any:
    """Due subscriptions, the furthest behind first: those not failing, or (``failing``)
    those retrying an event."""
    queued = exists().where(WebhookDelivery.webhook_id == Webhook.id,
                            WebhookDelivery.outcome == QUEUED)
    return (select(Webhook, ApiKey.scopes, ApiKey.revoked_at, queued.label("queued"))
            .outerjoin(ApiKey, ApiKey.name == Webhook.owner)
            .where(due(head, now), Webhook.attempts > 0 if failing else Webhook.attempts == 0)
            .order_by(Webhook.cursor, Webhook.id).limit(limit))


def _claimed(row: Any) -> Claimed:
    hook, scopes, revoked_at, queued = row
    live = scopes is not None and revoked_at is None
    return Claimed(hook, frozenset(scopes) if live else None, bool(queued))


def claim(session: Session, head: int, now: datetime, limit: int = 1,
          failing: bool = False) -> list[Claimed]:
    """Up to ``limit`` due subscriptions, locked for this transaction (PostgreSQL); those
    another transaction holds are skipped."""
    query = _claimable(head, now, limit, failing).with_for_update(of=Webhook, skip_locked=True)
    return [_claimed(row) for row in session.execute(query)]


class LocalClaims:
    """Claims among one process's threads, for SQLite (no row locks): a subscription one
    thread delivers for is skipped by the others."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def claim(self, session: Session, head: int, now: datetime, limit: int = 1,
              failing: bool = False) -> Iterator[list[Claimed]]:
        with self._lock:
            query = _claimable(head, now, limit, failing)
            if self._taken:
                query = query.where(Webhook.id.not_in(self._taken))
            found = [_claimed(row) for row in session.execute(query)]
            ids = {one.hook.id for one in found}  # plain strings: readable whatever happens
            self._taken.update(ids)
        try:
            yield found
        finally:
            with self._lock:
                self._taken.difference_update(ids)


@contextmanager
def local_claims(database_path: str) -> Iterator[bool]:
    """Whether this process may deliver for a SQLite database (True for as long as the
    context lasts): one process at a time holds the lock file beside the database."""
    path = f"{database_path}.webhooks.lock"
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def queue(session: Session, hook: Webhook, *, seq: int, event_id: str, event_type: str,
          record_id: str | None, now: datetime) -> WebhookDelivery:
    """Ask for an event to be sent (again) out of turn: a test event, or a resend."""
    delivery = WebhookDelivery(webhook_id=hook.id, seq=seq, event_id=event_id,
                               event_type=event_type, record_id=record_id, attempt=0,
                               outcome=QUEUED, at=now)
    session.add(delivery)
    hook.updated_at = now
    return delivery


def next_queued(session: Session, hook: Webhook) -> WebhookDelivery | None:
    return session.scalars(select(WebhookDelivery)
                           .where(WebhookDelivery.webhook_id == hook.id,
                                  WebhookDelivery.outcome == QUEUED)
                           .order_by(WebhookDelivery.id).limit(1)).first()


def attempts_of(session: Session, hook_id: str, event_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.webhook_id == hook_id,
                                     WebhookDelivery.event_id == event_id,
                                     WebhookDelivery.outcome != QUEUED)) or 0)


def oldest_waiting(session: Session, now: datetime) -> float:
    """Seconds since the oldest change an active subscription has not had yet (the lag)."""
    low = session.scalar(select(func.min(Webhook.cursor))
                         .where(Webhook.paused.is_(False), Webhook.disabled_at.is_(None)))
    if low is None:
        return 0.0
    at = session.scalar(select(Change.at).where(Change.seq > low).order_by(Change.seq).limit(1))
    return max(0.0, (now - at).total_seconds()) if at is not None else 0.0


def prune(session: Session, before: datetime) -> int:
    """Forget delivery attempts made before ``before`` (queued sends stay); how many."""
    result = session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.at < before, WebhookDelivery.outcome != QUEUED))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
