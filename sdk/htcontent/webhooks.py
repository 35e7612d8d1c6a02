"""Webhooks: verify what the API sends (:func:`verify`, for receivers) and manage
subscriptions (:class:`Webhooks`, as ``client.webhooks``).

The API signs every event as the Standard Webhooks specification (1.0) says: headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (``v1,`` and the
base64 HMAC-SHA256 of ``id.timestamp.body`` under the subscription's secret; several,
space-separated, while a rotated secret is still valid). :func:`verify` checks all of that with
the standard library alone::

    from htcontent.webhooks import verify, WebhookVerificationError

    try:
        event = verify(request.body, request.headers, secret)  # secret: "whsec_..."
    except WebhookVerificationError:
        return 400
    if seen(request.headers["webhook-id"]):  # retries carry the same id
        return 204
    handle(event["type"], event["data"])
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ._errors import HTContentError


class _Calls(Protocol):
    """What :class:`Webhooks` needs of the client (``htcontent.Client``)."""

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, headers: dict[str, str] | None = None,
                retry: bool | None = None) -> Any: ...

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]: ...

#: How far a ``webhook-timestamp`` may be from now, in seconds (the specification's 5 minutes).
TOLERANCE = 5 * 60
SECRET_PREFIX = "whsec_"


class WebhookVerificationError(HTContentError):
    """A request that is not a genuine, fresh webhook from the API."""


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing header {name}")


def verify(body: bytes | str, headers: Mapping[str, str], secret: str, *,
           tolerance: int = TOLERANCE, now: float | None = None) -> Any:
    """The event (decoded JSON) if ``body`` with ``headers`` was signed with ``secret``
    (``whsec_...``) within ``tolerance`` seconds of ``now``; else
    :class:`WebhookVerificationError`. Pass the body exactly as received (bytes)."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    message_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    moment = time.time() if now is None else now
    if timestamp < moment - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > moment + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not a whsec_ secret") from None
    expected = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + raw,
                                         hashlib.sha256).digest())
    matched = False
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            matched = True  # every one is compared: the time taken tells nothing
    if not matched:
        raise WebhookVerificationError("no matching signature")
    try:
        return json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None


@dataclass(frozen=True)
class Webhook:
    """A subscription. ``secret`` is set only on what :meth:`Webhooks.create` and
    :meth:`Webhooks.rotate_secret` return: keep it, it is never shown again."""

    id: str
    url: str
    types: tuple[str, ...]
    events: tuple[str, ...]
    description: str | None
    status: str
    paused: bool
    disabled_at: str | None
    disabled_reason: str | None
    failing_since: str | None
    last_error: str | None
    next_attempt_at: str | None
    cursor: str
    previous_secret_until: str | None
    created_at: str
    updated_at: str
    link: str
    deliveries: str
    secret: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Webhook:
        known: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        known["types"], known["events"] = tuple(data["types"]), tuple(data["events"])
        return cls(**known)


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver an event (``outcome`` ``queued``: waiting its turn)."""

    id: int
    event_id: str
    event_type: str
    seq: int
    record_id: str | None
    attempt: int
    outcome: str
    status_code: int | None
    latency_ms: float | None
    error: str | None
    response: str | None
    at: str
    next_attempt_at: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        known: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**known)


class Webhooks:
    """``client.webhooks``: the subscriptions of the client's key (scope ``webhooks``)."""

    def __init__(self, client: _Calls) -> None:
        self._client = client

    def _one(self, method: str, path: str, body: Any = None) -> Webhook:
        return Webhook.from_dict(self._client.request(method, path, json_body=body).body["data"])

    def create(self, url: str, *, types: builtins.list[str] | None = None,
               events: builtins.list[str] | None = None,
               description: str | None = None) -> Webhook:
        """Subscribe ``url`` (https, public) to changes: every record type and event type
        unless narrowed. The result carries the signing ``secret``, this once.

        :calls: ``POST /api/v1/webhooks``
        """
        body: dict[str, Any] = {"url": url}
        for name, value in (("types", types), ("events", events),
                            ("description", description)):
            if value is not None:
                body[name] = value
        return self._one("POST", "/api/v1/webhooks", body)

    def list(self, *, limit: int = 100) -> Iterator[Webhook]:
        """This key's subscriptions, page after page.

        :calls: ``GET /api/v1/webhooks``
        """
        for item in self._client._pages("/api/v1/webhooks", {"limit": limit}):
            yield Webhook.from_dict(item)

    def get(self, webhook_id: str) -> Webhook:
        """One subscription, with its status and why it failed or stopped.

        :calls: ``GET /api/v1/webhooks/{id}``
        """
        return self._one("GET", f"/api/v1/webhooks/{webhook_id}")

    def update(self, webhook_id: str, **changes: Any) -> Webhook:
        """Change ``url``, ``types``, ``events``, ``description`` or ``paused``.

        :calls: ``PATCH /api/v1/webhooks/{id}``
        """
        return self._one("PATCH", f"/api/v1/webhooks/{webhook_id}", changes)

    def pause(self, webhook_id: str) -> Webhook:
        """Stop sending; events wait (none is lost)."""
        return self.update(webhook_id, paused=True)

    def resume(self, webhook_id: str) -> Webhook:
        """Send again from where it stopped (also after it was disabled)."""
        return self.update(webhook_id, paused=False)

    def delete(self, webhook_id: str) -> None:
        """Unsubscribe.

        :calls: ``DELETE /api/v1/webhooks/{id}``
        """
        self._client.request("DELETE", f"/api/v1/webhooks/{webhook_id}")

    def rotate_secret(self, webhook_id: str) -> Webhook:
        """A new secret (in the result); the old one keeps signing for 24 hours.

        :calls: ``POST /api/v1/webhooks/{id}/rotate-secret``
        """
        return self._one("POST", f"/api/v1/webhooks/{webhook_id}/rotate-secret")

    def test(self, webhook_id: str) -> Delivery:
        """Queue a ``webhook.test`` event.

        :calls: ``POST /api/v1/webhooks/{id}/test``
        """
        return Delivery.from_dict(self._client.request(
            "POST", f"/api/v1/webhooks/{webhook_id}/test").body["data"])

    def deliveries(self, webhook_id: str, *, limit: int = 100) -> Iterator[Delivery]:
        """Delivery attempts, newest first, page after page.

        :calls: ``GET /api/v1/webhooks/{id}/deliveries``
        """
        for item in self._client._pages(f"/api/v1/webhooks/{webhook_id}/deliveries",
                                        {"limit": limit}):
            yield Delivery.from_dict(item)

    def retry(self, webhook_id: str, delivery_id: int) -> Delivery:
        """Send a delivery's event again (the waiting one at once; an earlier one out of turn,
        with the same ``webhook-id``).

        :calls: ``POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/retry``
        """
        return Delivery.from_dict(self._client.request(
            "POST", f"/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry").body["data"])
