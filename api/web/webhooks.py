"""``/api/v1/webhooks``: subscriptions to the change feed, delivered signed
(:mod:`api.services.delivery`), and their deliveries. Needs the ``webhooks`` scope; a key sees
and manages the subscriptions it made (``admin``: every one)."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, request
from flask_restx import Namespace, Resource
from marshmallow import ValidationError

from api.services import delivery, targets
from api.storage import clock, db, feeds
from api.storage import webhooks as store
from api.storage.models import Webhook, WebhookDelivery
from api.web.auth import current_viewer, require
from api.web.contract import (
    CONDITIONAL,
    KEY,
    Contract,
    body_of,
    get_op,
    headers_of,
    not_modified_response,
    ok,
    operation,
    page_of,
    problems,
)
from api.web.errors import Problem
from api.web.http import json_object, no_store_json, not_found, paged_json, parse_args
from schemas.params import DeliveryArgs, NoArgs, WebhookArgs
from schemas.webhooks import (
    WEBHOOK_ID_PATTERN,
    WebhookDeliverySchema,
    WebhookInputSchema,
    WebhookPatchSchema,
    WebhookSchema,
)

ns = Namespace("webhooks", path="/webhooks", description="Signed webhooks for every change")
ID = "<string(length=19):webhook_id>"
DELIVERY = "<int(min=1, max=2147483647):delivery_id>"
MERGE_TYPES = ("application/json", "application/merge-patch+json")
WEBHOOK_ID = re.compile(WEBHOOK_ID_PATTERN)


def webhook_url(hook_id: str) -> str:
    return f"{request.host_url.rstrip('/')}/api/v1/webhooks/{hook_id}"


def document(hook: Webhook, secret: str | None = None) -> dict[str, Any]:
    """A subscription as the API shows it (``secret`` only when just made or rotated)."""
    out = {
        "id": hook.id, "url": hook.url, "types": hook.types, "events": hook.events,
        "description": hook.description, "status": store.status(hook), "paused": hook.paused,
        "disabled_at": clock.rfc3339(hook.disabled_at),
        "disabled_reason": hook.disabled_reason,
        "failing_since": clock.rfc3339(hook.failing_since), "last_error": hook.last_error,
        "next_attempt_at": _moment(hook.next_attempt_at),
        "cursor": feeds.token(hook.cursor),
        "previous_secret_until": clock.rfc3339(hook.previous_until),
        "created_at": clock.rfc3339(hook.created_at),
        "updated_at": clock.rfc3339(hook.updated_at),
    }
    if secret is not None:
        out["secret"] = secret
    out["link"] = webhook_url(hook.id)
    out["deliveries"] = webhook_url(hook.id) + "/deliveries"
    return out


def delivery_document(found: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": found.id, "event_id": found.event_id, "event_type": found.event_type,
        "seq": found.seq, "record_id": found.record_id, "attempt": found.attempt,
        "outcome": found.outcome, "status_code": found.status_code,
        "latency_ms": found.latency_ms, "error": found.error, "response": found.response,
        "at": _moment(found.at), "next_attempt_at": _moment(found.next_attempt_at),
    }


def _moment(moment: Any) -> str | None:
    """A time to the millisecond (retries may be a second apart)."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _manager() -> Any:
    """Who may manage subscriptions: a key with the ``webhooks`` scope (its own) or with
    ``admin`` (every one)."""
    viewer = current_viewer()
    return viewer if viewer.keyed and "admin" in viewer.scopes else require("webhooks")


def _owner() -> Any:
    viewer = _manager()
    return viewer, store.visible_to(viewer.name, "admin" in viewer.scopes)


def _own(hook_id: str) -> Webhook:
    """The caller's subscription ``hook_id`` (404 for another key's, as if there were none)."""
    viewer = _manager()
    if not WEBHOOK_ID.fullmatch(hook_id):
        raise not_found("webhook")
    hook = db.session().get(Webhook, hook_id)
    if hook is None or (hook.owner != viewer.name and "admin" not in viewer.scopes):
        raise not_found("webhook")
    return hook


def _box() -> store.SecretBox:
    try:
        return delivery.secret_box(current_app)
    except RuntimeError as exc:
        raise Problem(503, f"Webhooks are not set up on this server: {exc}",
                      slug="webhooks-unavailable", title="Webhooks unavailable") from None


def _sending(hook: Webhook) -> None:
    """409 unless ``hook`` delivers: nothing is sent while paused or disabled."""
    state = store.status(hook)
    if state in (store.PAUSED, store.DISABLED):
        raise Problem(409, f"The subscription is {state}: resume it first "
                           "(PATCH {\"paused\": false}).", slug="conflict", title="Conflict")


def _load(schema: Any, body: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        errors = messages if isinstance(messages, dict) else {"_schema": messages}
        raise Problem(422, f"The subscription is not valid: {', '.join(sorted(errors))}.",
                      slug="invalid-subscription", title="Invalid subscription",
                      errors=errors) from exc
    if "url" in loaded:
        try:
            targets.check(loaded["url"], current_app.config["WEBHOOKS_ALLOW_PRIVATE"])
        except targets.Refused as exc:
            raise Problem(422, f"Webhooks cannot be sent there: {exc}.",
                          slug="invalid-subscription", title="Invalid subscription",
                          errors={"url": [f"Refused: {exc}."]}) from None
    return loaded


@ns.route("", endpoint="webhooks")
class Webhooks(Resource):
    def get(self) -> Response:
        viewer, condition = _owner()
        args = parse_args(WebhookArgs)
        session = db.session()
        after = args["cursor"][2:] if args.get("cursor") else ""

        def page() -> tuple[list[Any], int, int, str | None]:
            found, total = store.page(session, condition, after, args["limit"] + 1)
            more = len(found) > args["limit"]
            found = found[:args["limit"]]
            return ([document(hook) for hook in found], total, args["limit"],
                    f"w.{found[-1].id}" if more else None)

        return paged_json(store.state(session, condition), None, page, viewer)

    def post(self) -> Response:
        viewer = require("webhooks")
        loaded = _load(WebhookInputSchema(), json_object(("application/json",),
                                                         "subscription"))
        session = db.session()
        hook, secret = store.create(session, _box(), owner=viewer.name or "",
                                    now=clock.utcnow(), **loaded)
        session.commit()
        return no_store_json(document(hook, secret), 201, {"Location": webhook_url(hook.id)})


@ns.route(f"/{ID}", endpoint="webhook")
class OneWebhook(Resource):
    def get(self, webhook_id: str) -> Response:
        parse_args(NoArgs)
        return no_store_json(document(_own(webhook_id)))

    def patch(self, webhook_id: str) -> Response:
        hook = _own(webhook_id)
        loaded = _load(WebhookPatchSchema(), json_object(MERGE_TYPES, "subscription"))
        now = clock.utcnow()
        paused = loaded.pop("paused", None)
        for name, value in loaded.items():
            setattr(hook, name, value)
        if paused is True:
            hook.paused = True
        elif paused is False:
            store.enable(hook, now)
        hook.updated_at = now
        db.session().commit()
        return no_store_json(document(hook))

    def delete(self, webhook_id: str) -> Response:
        hook = _own(webhook_id)
        session = db.session()
        session.delete(hook)
        session.commit()
        return Response(status=204)


@ns.route(f"/{ID}/rotate-secret", endpoint="webhook_rotate")
class Rotate(Resource):
    def post(self, webhook_id: str) -> Response:
        hook = _own(webhook_id)
        secret = store.rotate(hook, _box(), clock.utcnow())
        db.session().commit()
        return no_store_json(document(hook, secret))


@ns.route(f"/{ID}/test", endpoint="webhook_test")
class Test(Resource):
    def post(self, webhook_id: str) -> Response:
        hook = _own(webhook_id)
        _sending(hook)
        now = delivery.now()
        session = db.session()
        queued = store.queue(session, hook, seq=0, event_id=f"msg_{hook.id}_test_"
                             f"{int(now.timestamp() * 1000)}", event_type="webhook.test",
                             record_id=None, now=now)
        session.commit()
        return no_store_json(delivery_document(queued), 202)


@ns.route(f"/{ID}/deliveries", endpoint="webhook_deliveries")
class Deliveries(Resource):
    def get(self, webhook_id: str) -> Response:
        hook = _own(webhook_id)
        args = parse_args(DeliveryArgs)
        session = db.session()
        before = int(args["cursor"][2:]) if args.get("cursor") else None

        def page() -> tuple[list[Any], int, int, str | None]:
            found, total = store.deliveries(session, hook.id, before, args["limit"] + 1)
            more = len(found) > args["limit"]
            found = found[:args["limit"]]
            return ([delivery_document(item) for item in found], total, args["limit"],
                    f"d.{found[-1].id}" if more else None)

        return paged_json(store.state(session, Webhook.id == hook.id), None, page)


@ns.route(f"/{ID}/deliveries/{DELIVERY}/retry", endpoint="webhook_delivery_retry")
class Retry(Resource):
    def post(self, webhook_id: str, delivery_id: int) -> Response:
        hook = _own(webhook_id)
        session = db.session()
        found = session.get(WebhookDelivery, delivery_id)
        if found is None or found.webhook_id != hook.id:
            raise not_found("delivery")
        _sending(hook)
        now = delivery.now()
        if found.seq > hook.cursor:  # the event it waits on (nothing after it was tried)
            hook.next_attempt_at = None
            hook.updated_at = now
            session.commit()
            return no_store_json(delivery_document(found), 202)
        queued = store.queue(session, hook, seq=found.seq, event_id=found.event_id,
                             event_type=found.event_type, record_id=found.record_id, now=now)
        session.commit()
        return no_store_json(delivery_document(queued), 202)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The webhooks' operations and shapes, for ``openapi.yaml``."""
    conv, paths = doc.conv, doc.paths
    doc.tags.append({"name": "webhooks", "description": "Signed webhooks (Standard Webhooks "
                                                        "1.0) for every change of the feed."})
    shape = conv.component(WebhookSchema)
    delivery_shape = conv.component(WebhookDeliverySchema)
    doc.schemas["WebhookItem"] = _item(shape)
    doc.schemas["WebhookDeliveryItem"] = _item(delivery_shape)
    doc.schemas["WebhookList"] = page_of({"$ref": "#/components/schemas/" + shape})
    doc.schemas["WebhookDeliveryList"] = page_of({"$ref": "#/components/schemas/"
                                                          + delivery_shape})
    new_input = conv.component(WebhookInputSchema, "input")
    patch_input = conv.component(WebhookPatchSchema, "input")
    id_param = {"name": "webhook_id", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": WEBHOOK_ID_PATTERN}}
    delivery_param = {"name": "delivery_id", "in": "path", "required": True,
                      "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
    one = _response("WebhookItem")
    queued = _response("WebhookDeliveryItem",
                       "Queued: a worker sends it within moments (see its deliveries).")
    scope = " Needs the `webhooks` scope."
    paths["/api/v1/webhooks"] = {
        **get_op("listWebhooks", "Webhook subscriptions", "webhooks",
                 conv.parameters(WebhookArgs) + CONDITIONAL[:1],
                 {"200": ok("WebhookList", "This key's subscriptions, by id.", language=False,
                            paged=True),
                  "304": not_modified_response(), **problems("BadRequest", "Forbidden")},
                 description="The subscriptions this key made (every one with `admin`)." + scope,
                 security=KEY),
        "post": operation(
            "createWebhook", "Subscribe to changes", "webhooks", [],
            {"201": {**_response("WebhookItem", "Subscribed; `secret` is shown this once."),
                     "headers": headers_of("Location")},
             **problems("Forbidden", "UnprocessableEntity", "UnsupportedMediaType",
                        "PayloadTooLarge", "BadRequest")},
            description="Every change of the feed that this key may read, of the record "
                        "and event types asked for, is POSTed to `url` in order, signed as "
                        "Standard Webhooks 1.0 says (`webhook-id`, `webhook-timestamp`, "
                        "`webhook-signature`). A URL that resolves to a loopback, private, "
                        "link-local, multicast or metadata address is refused (422)." + scope,
            body=body_of(new_input), security=KEY)}
    paths["/api/v1/webhooks/{webhook_id}"] = {
        **get_op("getWebhook", "One webhook subscription", "webhooks", [id_param],
                 {"200": one, **problems("BadRequest", "Forbidden", "NotFound")},
                 description="Its status, and why it failed or stopped." + scope,
                 security=KEY),
        "patch": operation(
            "updateWebhook", "Change a webhook subscription", "webhooks", [id_param],
            {"200": one, **problems("Forbidden", "NotFound", "UnprocessableEntity",
                                    "UnsupportedMediaType", "PayloadTooLarge", "BadRequest")},
            description="The fields given change; `paused: false` also resumes a disabled "
                        "subscription from the event it stopped at." + scope,
            body=body_of(patch_input, ("application/merge-patch+json", "application/json")),
            security=KEY),
        "delete": operation(
            "deleteWebhook", "Unsubscribe", "webhooks", [id_param],
            {"204": {"description": "Deleted, with its deliveries.",
                     "headers": headers_of()},
             **problems("Forbidden", "NotFound")},
            description="Nothing more is sent." + scope, security=KEY)}
    _actions(paths, id_param, delivery_param, conv.parameters(DeliveryArgs), queued)


def _actions(paths: dict[str, Any], id_param: dict[str, Any], delivery_param: dict[str, Any],
             delivery_args: list[dict[str, Any]], queued: dict[str, Any]) -> None:
    """The operations on one subscription beyond reading and changing it."""
    scope = " Needs the `webhooks` scope."
    paths["/api/v1/webhooks/{webhook_id}/rotate-secret"] = {"post": operation(
        "rotateWebhookSecret", "Rotate a webhook's secret", "webhooks", [id_param],
        {"200": _response("WebhookItem", "The new `secret`, shown this once."),
         **problems("Forbidden", "NotFound")},
        description="For 24 hours both secrets sign every event (two `v1,` signatures), so "
                    "a receiver can switch without losing one." + scope, security=KEY)}
    paths["/api/v1/webhooks/{webhook_id}/test"] = {"post": operation(
        "testWebhook", "Send a test event", "webhooks", [id_param],
        {"202": queued, **problems("Forbidden", "NotFound", "Conflict")},
        description="A `webhook.test` event, signed like every other; 409 while the "
                    "subscription is paused or disabled." + scope, security=KEY)}
    paths["/api/v1/webhooks/{webhook_id}/deliveries"] = get_op(
        "listWebhookDeliveries", "A webhook's deliveries", "webhooks",
        [id_param, *delivery_args, *CONDITIONAL[:1]],
        {"200": ok("WebhookDeliveryList", "Attempts, newest first.", language=False,
                   paged=True),
         "304": not_modified_response(), **problems("BadRequest", "Forbidden", "NotFound")},
        description="Every attempt: the event, its status code, latency, error and the next "
                    "try." + scope, security=KEY)
    paths["/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"] = {
        "post": operation(
            "retryWebhookDelivery", "Send an event again", "webhooks",
            [id_param, delivery_param],
            {"202": queued, **problems("Forbidden", "NotFound", "Conflict")},
            description="The event a subscription waits on is tried at once; an earlier one "
                        "is sent again out of turn (same `webhook-id`); 409 while the "
                        "subscription is paused or disabled." + scope,
            security=KEY)}


def _item(shape: str) -> dict[str, Any]:
    return {"type": "object", "required": ["data"],
            "properties": {"data": {"$ref": "#/components/schemas/" + shape}},
            "additionalProperties": False}


def _response(item: str, description: str = "The subscription.") -> dict[str, Any]:
    return {"description": description, "headers": headers_of(),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/"
                                                                + item}}}}
