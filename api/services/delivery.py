"""Delivering webhooks: the change feed, as each subscription's key sees it, sent in order,
signed as the Standard Webhooks specification (1.0) says.

Events are not stored. A subscription keeps a cursor into the change feed; its next event is
the first change after the cursor that it wants (its record types and event types, what its
key may read: :func:`api.storage.feeds.events`). A worker (:class:`Deliverer`) claims a due
subscription (:mod:`api.storage.webhooks`), sends that one event and records the attempt; only
a success moves the cursor, so an event is sent until it is delivered (or the subscription
stops), one at a time and in feed order: a later event waits while an earlier one retries.
Every attempt at one event carries the same ``webhook-id`` (``msg_<subscription>_<change>``) and
the same body, so receivers can drop a duplicate (a worker killed after sending but before
recording sends it again).

Failures (no answer, a timeout, anything but a 2xx; redirects are not followed) are retried
after the delays of ``HTCONTENT_WEBHOOKS_RETRY_SCHEDULE`` (seconds; by default about 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, then daily), each with up to 20% jitter. A subscription that has failed
for ``HTCONTENT_WEBHOOKS_DISABLE_AFTER`` seconds (3 days), that answers ``410 Gone``, or whose key
is revoked stops; its ``disabled_reason`` says why, and ``PATCH {"paused": false}`` resumes it
from the event it stopped at.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import Session, sessionmaker

from api import accel
from api.services import messages, targets
from api.storage import clock, feeds
from api.storage import webhooks as store
from api.storage.models import Webhook, WebhookDelivery
from api.storage.store import Viewer
from schemas.webhooks import TEST_EVENT

LOG = logging.getLogger("htcontent.webhooks")
DEFAULT_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 86400)
#: Changes read per look at the feed for one subscription.
FEED_STEP = 200

DELIVERIES = Counter("htcontent_webhook_deliveries_total",
                     "Webhook delivery attempts, by outcome.", ["outcome"])
RETRIES = Counter("htcontent_webhook_retries_total",
                  "Webhook delivery attempts that were retries of a failed one.")
LATENCY = Histogram("htcontent_webhook_delivery_seconds",
                    "Time from sending a webhook to the receiver's answer.",
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LAG = Gauge("htcontent_webhook_lag_seconds",
            "Age of the oldest change an active subscription has not been sent yet.",
            multiprocess_mode="max")


@dataclass(frozen=True)
class Settings:
    """How deliveries are made (``HTCONTENT_WEBHOOKS_*``)."""

    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    timeout: float = 10.0
    allow_private: bool = False
    disable_after: timedelta = timedelta(days=3)
    poll: float = 0.2
    threads: int = 8
    batch: int = 16
    keep: timedelta = timedelta(days=30)

    @classmethod
    def of(cls, config: Any) -> Settings:
        return cls(schedule=tuple(config["WEBHOOKS_RETRY_SCHEDULE"]),
                   timeout=config["WEBHOOKS_TIMEOUT"],
                   allow_private=config["WEBHOOKS_ALLOW_PRIVATE"],
                   disable_after=timedelta(seconds=config["WEBHOOKS_DISABLE_AFTER"]),
                   poll=config["WEBHOOKS_POLL_MS"] / 1000, threads=config["WEBHOOKS_THREADS"],
                   batch=config["WEBHOOKS_BATCH"],
                   keep=timedelta(days=config["WEBHOOKS_KEEP_DAYS"]))


def secret_box(app: Any) -> store.SecretBox:
    """The app's :class:`~api.storage.webhooks.SecretBox` (made on first use); RuntimeError
    when the server has no key to make it with."""
    box = app.extensions.get("webhook_secret_box")
    if box is None:
        key = store.server_key(app.config.get("SECRETS_KEY"), app.config["DATABASE_URL"])
        box = app.extensions["webhook_secret_box"] = store.SecretBox(key)
    return box  # type: ignore[no-any-return]


def now() -> datetime:
    """Now in UTC, as stored (no zone), to the microsecond (retries may be a second apart)."""
    return datetime.now(UTC).replace(tzinfo=None)


def retry_delay(attempts: int, schedule: tuple[float, ...], rng: random.Random) -> float:
    """Seconds before the next try after ``attempts`` failed ones (the last delay repeats),
    with up to 20% jitter either way."""
    base = schedule[min(attempts, len(schedule)) - 1] if schedule else 60.0
    return base * rng.uniform(0.8, 1.2)


#: Events after a cursor, per database, cursor, feed end, types and visibilities: the same
#: for every subscription that far along (history does not change), read once.
_EVENTS: accel.SizedCache[tuple[Any, ...], tuple[list[feeds.Event], int]] = accel.SizedCache(
    32 * 1024 * 1024, lambda key, value: 200 + sum(event.size for event in value[0]))


@dataclass
class _Send:
    """One event to send for a claimed subscription: its next one in feed order (``event``),
    or a test event or resend (``queued``); ``answer`` once sent."""

    hook: Webhook
    message: str = ""
    body: bytes = b""
    attempt: int = 0
    event: feeds.Event | None = None
    queued: WebhookDelivery | None = None
    answer: targets.Answer | None = None
    #: Nothing to send: the cursor moves here (changes it does not want), or the queued
    #: send is dropped with this error, or the subscription stops for this reason.
    skip_to: int | None = None
    dropped: str | None = None
    stop: str | None = None

    @property
    def sends(self) -> bool:
        return self.skip_to is None and self.dropped is None and self.stop is None


class Deliverer:
    """Delivers for the subscriptions of one database. :meth:`step` claims a batch of due
    subscriptions (up to ``settings.batch`` that are not failing, or one that is: a receiver
    that starts timing out delays its batch-mates' next events once, by at most the timeout,
    and is retried alone from then on), sends each its next event at the same time, and
    records every attempt in the claim's transaction; :meth:`run` steps on
    ``settings.threads`` threads until stopped."""

    def __init__(self, sessions: sessionmaker[Session], box: store.SecretBox,
                 settings: Settings) -> None:
        self.sessions, self.box, self.settings = sessions, box, settings
        bind = sessions.kw["bind"]
        self.database = str(bind.url)
        self.postgres = bind.dialect.name == "postgresql"
        self.local = None if self.postgres else store.LocalClaims()
        self.rng = random.Random()
        self._senders: ThreadPoolExecutor | None = None
        self._senders_lock = threading.Lock()

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Deliver on ``settings.threads`` threads until ``stop`` is set."""
        workers = [threading.Thread(target=self._loop, args=(stop,), daemon=True,
                                    name=f"webhooks-{n}")
                   for n in range(self.settings.threads)]
        for worker in workers:
            worker.start()
        pruned = 0.0
        while not stop.wait(5.0):
            self.measure_lag()
            if time.monotonic() - pruned > 600:
                self.prune()
                pruned = time.monotonic()
        for worker in workers:
            worker.join()
        if self._senders is not None:
            self._senders.shutdown()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception:  # a database that went away, a bug: logged, tried again
                LOG.exception("webhook delivery step failed")
                busy = False
            if not busy:
                stop.wait(self.settings.poll)

    def measure_lag(self) -> None:
        with self.sessions() as session:
            LAG.set(store.oldest_waiting(session, now()))

    def prune(self) -> None:
        """Forget delivery attempts older than ``settings.keep``."""
        with self.sessions() as session:
            store.prune(session, now() - self.settings.keep)
            session.commit()

    def step(self) -> bool:
        """Claim due subscriptions and deliver (or skip) each one's next event; False when
        none is due (or every due one is being delivered by someone else)."""
        with self.sessions() as session:
            moment = now()
            head = store.head(session)
            # Now and then failing subscriptions first, so a busy feed does not starve them.
            kinds = [False, True] if self.rng.random() >= 0.125 else [True, False]
            for failing in kinds:
                with self._claim(session, head[0], moment, failing) as claimed:
                    if not claimed:
                        continue
                    with session.no_autoflush:  # planning writes nothing
                        plans = [self._plan_one(session, one, head) for one in claimed]
                    if self.local is not None:
                        session.commit()  # SQLite: no transaction stays open while sending
                    self._post_all([plan for plan in plans if plan.sends])
                    self._settle_all(session, plans)
                    return True
            return False

    @contextmanager
    def _claim(self, session: Session, head: int, moment: datetime,
               failing: bool) -> Iterator[list[store.Claimed]]:
        limit = 1 if failing else self.settings.batch
        if self.local is None:
            claimed = store.claim(session, head, moment, limit, failing)
            if not claimed:
                session.rollback()
            yield claimed
            return
        with self.local.claim(session, head, moment, limit, failing) as claimed:
            yield claimed

    def _settle_all(self, session: Session, plans: list[_Send]) -> None:
        """Record every attempt. PostgreSQL: in the claim's transaction (its commit releases
        the row locks). SQLite: one short transaction each, so a subscription deleted during
        the send fails alone."""
        for plan in plans:
            hook_id = plan.hook.id
            try:
                self._settle(session, plan)
                if self.local is not None:
                    session.commit()
            except Exception:
                session.rollback()
                LOG.exception("webhook %s: recording a delivery failed", hook_id)
                if self.local is None:
                    raise  # the claim's transaction is gone: nothing of the batch is kept
        if self.local is None:
            session.commit()

    # ------------------------------------------------------------- one delivery

    def _plan_one(self, session: Session, claimed: store.Claimed,
                  head: tuple[int, str]) -> _Send:
        try:
            return self._plan(session, claimed, head)
        except Exception:  # one subscription's trouble is not its batch-mates'
            LOG.exception("webhook %s: preparing a delivery failed", claimed.hook.id)
            return _Send(claimed.hook, dropped="")

    def _plan(self, session: Session, claimed: store.Claimed, head: tuple[int, str]) -> _Send:
        """What to send a claimed subscription (or why nothing); changes nothing."""
        hook, scopes = claimed.hook, claimed.scopes
        if scopes is None:
            return _Send(hook, stop="The API key that made this subscription was revoked.")
        viewer = Viewer.of_key(hook.owner, scopes)
        queued = store.next_queued(session, hook) if claimed.queued else None
        if queued is not None:  # a test event, or a resend asked for: once, out of turn
            if queued.seq == 0:
                body = messages.body_of(TEST_EVENT, queued.at, {"webhook": hook.id})
            else:
                found, _ = feeds.events(session, queued.seq - 1, None, viewer, 1, queued.seq)
                if not found:
                    return _Send(hook, queued=queued, dropped="not visible to this key")
                body = messages.body_of(found[0].kind, found[0].at, messages.event_data(found[0]))
            attempt = store.attempts_of(session, hook.id, queued.event_id) + 1
            return _Send(hook, queued.event_id, body, attempt, queued=queued)
        events, reached = self._events(session, hook, viewer, head)
        wanted = next((event for event in events if event.kind in hook.events), None)
        if wanted is None:  # nothing here for it: move on
            return _Send(hook, skip_to=reached)
        body = messages.body_of(wanted.kind, wanted.at, messages.event_data(wanted))
        return _Send(hook, messages.event_id(hook.id, wanted.seq), body, hook.attempts + 1,
                     event=wanted)

    def _events(self, session: Session, hook: Webhook, viewer: Viewer,
                head: tuple[int, str]) -> tuple[list[feeds.Event], int]:
        # the data epoch too: a restored backup may reuse change numbers
        key = (self.database, *head, hook.cursor, tuple(hook.types), viewer.visibilities)
        found = _EVENTS.get(key)
        if found is None:
            found = feeds.events(session, hook.cursor, hook.types or None, viewer, FEED_STEP,
                                 head[0])
            _EVENTS.put(key, found)
        return found

    def _post_all(self, sends: list[_Send]) -> None:
        """Send every one at the same time (each within the timeout)."""
        if len(sends) == 1:
            sends[0].answer = self._post(sends[0])
            return
        with self._senders_lock:
            if self._senders is None:
                self._senders = ThreadPoolExecutor(
                    self.settings.threads * self.settings.batch, "webhooks-send")
        for send, answer in zip(sends, self._senders.map(self._post, sends), strict=True):
            send.answer = answer

    def _post(self, send: _Send) -> targets.Answer:
        try:
            return self._sign_and_post(send)
        except Exception as exc:  # a secret that cannot be opened, a bug: this one fails
            LOG.exception("webhook %s: sending failed", send.hook.id)
            return targets.Answer(None, 0.0, error=f"could not be sent ({type(exc).__name__})")

    def _sign_and_post(self, send: _Send) -> targets.Answer:
        hook = send.hook
        sent_with = messages.headers(send.message, int(time.time()), send.body,
                                     store.signing_keys(hook, self.box, now()))
        answer = targets.post(hook.url, send.body, sent_with, self.settings.timeout,
                              self.settings.allow_private)
        DELIVERIES.labels("succeeded" if answer.succeeded else
                          "gone" if answer.status == 410 else "failed").inc()
        if send.attempt > 1:
            RETRIES.inc()
        LATENCY.observe(answer.latency_ms / 1000)
        return answer

    def _settle(self, session: Session, send: _Send) -> None:
        """Record what became of ``send``; only a success moves the cursor."""
        hook, answer = send.hook, send.answer
        if send.stop is not None:
            self._stop(hook, send.stop)
            return
        if send.skip_to is not None:
            hook.cursor = send.skip_to
            return
        if send.dropped is not None:
            if send.queued is not None:
                send.queued.outcome, send.queued.error = store.FAILED, send.dropped
            return
        assert answer is not None
        if send.queued is not None:
            _record(send.queued, answer, send.attempt)
            if answer.status == 410:
                self._stop(hook, "The receiver answered 410 Gone.")
            return
        event = send.event
        assert event is not None
        delivery = WebhookDelivery(webhook_id=hook.id, seq=event.seq, event_id=send.message,
                                   event_type=event.kind, record_id=event.id,
                                   outcome=store.QUEUED, attempt=send.attempt, at=now())
        _record(delivery, answer, send.attempt)
        session.add(delivery)
        if answer.succeeded:
            hook.cursor = event.seq
            hook.attempts, hook.next_attempt_at, hook.failing_since = 0, None, None
            hook.last_error = None
        else:
            self._failed(hook, delivery)

    def _failed(self, hook: Webhook, delivery: WebhookDelivery) -> None:
        moment = now()
        if delivery.status_code == 410:
            self._stop(hook, "The receiver answered 410 Gone.")
            return
        hook.attempts += 1
        hook.failing_since = hook.failing_since or moment
        hook.last_error = delivery.error or f"HTTP {delivery.status_code}"
        if moment - hook.failing_since >= self.settings.disable_after:
            self._stop(hook, f"Deliveries failed since {clock.rfc3339(hook.failing_since)} "
                             f"(last: {hook.last_error}).")
            return
        # never later than when it would be given up: that try decides
        hook.next_attempt_at = min(moment + timedelta(
            seconds=retry_delay(hook.attempts, self.settings.schedule, self.rng)),
            hook.failing_since + self.settings.disable_after)
        delivery.next_attempt_at = hook.next_attempt_at

    def _stop(self, hook: Webhook, reason: str) -> None:
        moment = now()
        hook.disabled_at, hook.disabled_reason = moment, reason
        hook.next_attempt_at = None
        hook.updated_at = moment
        LOG.warning("webhook %s disabled: %s", hook.id, reason)


def _record(delivery: WebhookDelivery, answer: targets.Answer, attempt: int) -> None:
    delivery.attempt = attempt
    delivery.outcome = (store.SUCCEEDED if answer.succeeded else
                        store.GONE if answer.status == 410 else store.FAILED)
    delivery.status_code = answer.status
    delivery.latency_ms = answer.latency_ms
    delivery.error = answer.error if not answer.succeeded and answer.error else (
        None if answer.succeeded else f"HTTP {answer.status}")
    delivery.response = answer.body
    delivery.at = now()
