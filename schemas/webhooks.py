"""Webhook subscriptions: what a partner asks to be sent, and what the API shows of a
subscription and of its deliveries (``/api/v1/webhooks``)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from .base import StrictSchema
from .fields import FullMatch, Line, unique
from .records import SCHEMAS

#: What a change can be to a subscriber (:mod:`api.storage.feeds`).
EVENT_TYPES = ("record.created", "record.updated", "record.retired", "record.withdrawn")
#: A test event (``POST /api/v1/webhooks/{id}/test``), sent whatever a subscription asks for.
TEST_EVENT = "webhook.test"
WEBHOOK_ID_PATTERN = r"^wh_[0-9a-f]{16}$"
#: Any absolute http(s) URL; where it may point is checked when it is saved (public
#: addresses only, https: :mod:`api.services.targets`).
TARGET_PATTERN = r"^https?://[!-~]+$"
STATUSES = ("active", "failing", "paused", "disabled")
OUTCOMES = ("queued", "succeeded", "failed", "gone")


class JsonBoolean(fields.Boolean):
    """``true`` or ``false`` only (marshmallow's Boolean also takes ``"yes"``, ``1``...)."""

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


def _url(**kwargs: object) -> fields.String:
    return fields.String(validate=[validate.Length(max=2000),
                                   FullMatch(TARGET_PATTERN, error="Not an http(s) URL.")],
                         metadata={"description": "Where events are POSTed: `https`, on a host "
                                                  "that resolves to public addresses only."},
                         **kwargs)


def _types(**kwargs: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(list(SCHEMAS))),
                       validate=[validate.Length(min=1), unique],
                       metadata={"description": "Record types to be told about (default: "
                                                "all)."}, **kwargs)


def _events(**kwargs: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                       validate=[validate.Length(min=1), unique],
                       metadata={"description": "Event types to be sent (default: all): "
                                                "`record.created` (a record became visible to "
                                                "the key), `record.updated`, `record.retired`, "
                                                "`record.withdrawn` (back to draft, or out of "
                                                "the key's sight)."}, **kwargs)


def _description(**kwargs: object) -> fields.String:
    return Line(max_length=500, allow_none=True,
                metadata={"description": "A note for the owner."}, **kwargs)


class WebhookInputSchema(StrictSchema):
    """``POST /api/v1/webhooks``."""

    url = _url(required=True)
    types = _types(load_default=lambda: list(SCHEMAS))
    events = _events(load_default=lambda: list(EVENT_TYPES))
    description = _description(load_default=None)


class WebhookPatchSchema(StrictSchema):
    """``PATCH /api/v1/webhooks/{id}``: the fields to change."""

    url = _url()
    types = _types()
    events = _events()
    description = _description()
    paused = JsonBoolean(metadata={"description": "Stop sending (events wait, none is "
                                                     "lost); `false` resumes, also a "
                                                     "subscription that was disabled."})


class WebhookSchema(StrictSchema):
    """A subscription as the API shows it."""

    id = fields.String(required=True, validate=FullMatch(WEBHOOK_ID_PATTERN))
    url = fields.String(required=True)
    types = fields.List(fields.String(validate=validate.OneOf(list(SCHEMAS))), required=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True)
    description = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES), metadata={
        "description": "`failing`: an event is being retried (`next_attempt_at`); "
                       "`disabled`: stopped for good (`disabled_reason`)."})
    paused = fields.Boolean(required=True)
    disabled_at = fields.DateTime(required=True, allow_none=True)
    disabled_reason = fields.String(required=True, allow_none=True)
    failing_since = fields.DateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    cursor = fields.String(required=True, metadata={
        "description": "The change feed token (`/api/v1/changes?since=`) up to which every "
                       "change was delivered or was not for this subscription."})
    previous_secret_until = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "After a rotation: until when the previous secret signs too."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    secret = fields.String(metadata={
        "description": "The signing secret (`whsec_...`): only in the answer that made or "
                       "rotated it. Keep it: it is never shown again."})
    link = fields.Url(required=True)
    deliveries = fields.Url(required=True)


class WebhookDeliverySchema(StrictSchema):
    """One attempt to deliver an event (or a send that waits its turn: ``queued``)."""

    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={
        "description": "`webhook-id`: the same for every attempt at one event."})
    event_type = fields.String(required=True,
                               validate=validate.OneOf((*EVENT_TYPES, TEST_EVENT)))
    seq = fields.Integer(required=True, metadata={"description": "The change it tells of "
                                                                 "(0: a test event)."})
    record_id = fields.String(required=True, allow_none=True)
    attempt = fields.Integer(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    status_code = fields.Integer(required=True, allow_none=True)
    latency_ms = fields.Float(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    response = fields.String(required=True, allow_none=True, metadata={
        "description": "The start of the receiver's answer (at most 1 KB)."})
    at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "When this event is tried again, after a failure."})
