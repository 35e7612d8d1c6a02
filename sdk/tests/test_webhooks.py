"""The SDK's webhooks: managing subscriptions against the real API (served by gunicorn, which
delivers in its own processes as `make run` does), and ``htcontent.webhooks.verify`` for
receivers, which accepts what the reference ``standardwebhooks`` package signs and refuses
what it must."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import standardwebhooks
from htcontent import Client, NotFoundError, UnprocessableEntityError
from htcontent.webhooks import WebhookVerificationError, verify

from sdk.tests.conftest import seeded_api
from tests.conftest import Databases, Keys
from tests.webhooks.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture(scope="module")
def delivering(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A seeded API whose gunicorn processes deliver webhooks (to loopback, retries 1 s
    apart), with its keys."""
    with seeded_api(databases, tmp_path_factory.mktemp("sdk-webhooks") / "gunicorn.log",
                    HTCONTENT_WEBHOOKS_INLINE="1", HTCONTENT_WEBHOOKS_ALLOW_PRIVATE="1",
                    HTCONTENT_WEBHOOKS_RETRY_SCHEDULE="1,1,1",
                    HTCONTENT_WEBHOOKS_POLL_MS="50") as found:
        yield found


def _key(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_subscribe_receive_verify_and_manage(delivering):
    keys: Keys = delivering["keys"]
    partner = Client(delivering["url"], _key(keys.partner))
    editor = Client(delivering["url"], _key(keys.chief))
    receiver = Receiver().start()
    try:
        hook = partner.webhooks.create(receiver.url, types=["indicator"],
                                       description="Partner mirror")
        assert hook.secret and hook.secret.startswith("whsec_") and hook.status == "active"
        indicator = editor.indicators.get("isolated-from-family")
        editor.indicators.update(indicator.id, {"guidance": {"en": "Talk away from others."}},
                                 if_match="*")
        got = receiver.wait_for(1)[0]
        event = verify(got.body, got.headers, hook.secret)
        assert event["type"] == "record.updated" and event["data"]["id"] == indicator.id
        assert event["data"]["record"]["guidance"]["en"] == "Talk away from others."
        assert standardwebhooks.Webhook(hook.secret).verify(got.body, got.headers)

        assert [h.id for h in partner.webhooks.list()] == [hook.id]
        assert partner.webhooks.get(hook.id).secret is None
        assert partner.webhooks.pause(hook.id).status == "paused"
        assert partner.webhooks.resume(hook.id).status == "active"
        changed = partner.webhooks.update(hook.id, events=["record.retired"])
        assert changed.events == ("record.retired",)
        rotated = partner.webhooks.rotate_secret(hook.id)
        assert rotated.secret and rotated.secret != hook.secret
        assert partner.webhooks.test(hook.id).outcome == "queued"
        ping = receiver.wait_for(2)[1]
        assert verify(ping.body, ping.headers, rotated.secret)["type"] == "webhook.test"
        assert verify(ping.body, ping.headers, hook.secret)  # the old one signs for 24 h
        attempts = list(partner.webhooks.deliveries(hook.id, limit=1))
        assert [a.event_type for a in attempts] == ["webhook.test", "record.updated"]
        assert all(a.outcome == "succeeded" and a.status_code == 204 for a in attempts)
        again = partner.webhooks.retry(hook.id, attempts[1].id)
        assert again.outcome == "queued" and again.event_id == attempts[1].event_id
        resent = receiver.wait_for(3)[2]
        assert resent.id == got.id and resent.body == got.body
        with pytest.raises(UnprocessableEntityError):
            partner.webhooks.create("http://169.254.169.254/latest/meta-data")
        partner.webhooks.delete(hook.id)
        with pytest.raises(NotFoundError):
            partner.webhooks.get(hook.id)
    finally:
        receiver.stop()
        partner.close()
        editor.close()


def _signed(body: bytes, msg_id: str = "msg_1", at: datetime | None = None,
            secret: str = SECRET) -> dict[str, str]:
    moment = at or datetime.now(UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": standardwebhooks.Webhook(secret).sign(
                msg_id, moment, body.decode())}


def test_verify_accepts_what_the_reference_library_signs():
    body = json.dumps({"type": "record.updated", "data": {"id": "x"}}).encode()
    headers = _signed(body)
    assert verify(body, headers, SECRET) == {"type": "record.updated", "data": {"id": "x"}}
    assert verify(body.decode(), {k.upper(): v for k, v in headers.items()}, SECRET)
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    two = {**headers, "webhook-signature": _signed(body, secret=other)["webhook-signature"]
           + " " + headers["webhook-signature"]}
    assert verify(body, two, SECRET) and verify(body, two, other)  # either secret


@pytest.mark.parametrize("spoil", ["body", "id", "timestamp", "secret", "old", "future",
                                   "missing", "version", "garbage"])
def test_verify_refuses_what_it_must(spoil):
    body = b'{"type": "record.updated"}'
    headers = _signed(body)
    secret = SECRET
    if spoil == "body":
        body = b'{"type": "record.retired"}'
    elif spoil == "id":
        headers["webhook-id"] = "msg_2"
    elif spoil == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    elif spoil == "secret":
        secret = "whsec_" + base64.b64encode(b"x" * 32).decode()
    elif spoil == "old":
        headers = _signed(body, at=datetime.fromtimestamp(time.time() - 301, UTC))
    elif spoil == "future":
        headers = _signed(body, at=datetime.fromtimestamp(time.time() + 301, UTC))
    elif spoil == "missing":
        del headers["webhook-signature"]
    elif spoil == "version":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    elif spoil == "garbage":
        headers["webhook-timestamp"] = "soon"
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, secret)
