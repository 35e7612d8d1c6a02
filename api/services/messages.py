"""What a webhook delivery sends: the event as JSON and its Standard Webhooks (1.0) headers.

An event is ``{"type": ..., "timestamp": ..., "data": ...}``: for a change, ``data`` is the record
as the API renders it in every language (``lang=*``) with its version, or a tombstone with the
``reason`` it left the subscriber's sight. ``webhook-id`` is ``msg_<subscription>_<change>``,
the same on every attempt; ``webhook-signature`` is ``v1,`` and the base64 HMAC-SHA256 of
``id.timestamp.body`` under each signing key, separated by spaces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

import orjson

from api.storage import clock, feeds

USER_AGENT = "htcontent-webhooks/1"


def event_id(hook_id: str, seq: int) -> str:
    return f"msg_{hook_id}_{seq}"


def body_of(kind: str, at: datetime, data: dict[str, Any]) -> bytes:
    """The JSON an event is sent as: its type, when it happened, and its data."""
    return orjson.dumps({"type": kind, "timestamp": clock.rfc3339(at), "data": data})


def event_data(event: feeds.Event) -> dict[str, Any]:
    """A change as an event's data: the record in every language (``lang=*``) and its version,
    or, when it left the subscription's sight, a tombstone saying how."""
    data: dict[str, Any] = {"seq": event.seq, "type": event.type, "id": event.id,
                            "version": event.version,
                            "record": None if event.record is None else orjson.Fragment(
                                event.record)}
    if event.reason:
        data["reason"] = event.reason
    return data


def sign(message_id: str, timestamp: int, body: bytes, keys: list[bytes]) -> str:
    """``webhook-signature``: ``v1,`` and base64 of HMAC-SHA256 over ``id.timestamp.body``,
    one per key, separated by spaces."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
                    .decode() for key in keys)


def headers(message_id: str, timestamp: int, body: bytes, keys: list[bytes]) -> dict[str, str]:
    """The headers a delivery is sent with."""
    return {"content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(message_id, timestamp, body, keys)}
