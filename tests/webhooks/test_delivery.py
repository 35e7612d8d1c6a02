"""Delivering webhooks to a real receiver on loopback: every change the feed carries, in feed
order, signed so that the Standard Webhooks reference library verifies it; retries (500s,
timeouts, refused connections) with the same ``webhook-id`` while later events wait; 410 and
long failure stop a subscription, and its owner sees why; restricted records reach only keys
that may read them."""

from __future__ import annotations

import json
import time

import orjson
import pytest
import standardwebhooks
from htcontent.webhooks import verify
from prometheus_client import REGISTRY

from api.services import targets, workers
from api.storage import db
from api.web.auth import revoke_key
from tests.conftest import second_person
from tests.webhooks.conftest import drain, hooks_app, subscribe

INDICATOR = "/api/v1/indicators/isolated-from-family"
RESTRICTED = "/api/v1/resources/continued-presence-request-steps"


def edit(app, path: str, **fields) -> dict:
    client = app.test_client()
    answer = client.patch(path, json=fields, headers={**app.keys.chief, "If-Match": "*"})
    answer = second_person(client, answer, app.keys)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"]


def guidance(app, number: int) -> dict:
    return edit(app, INDICATOR, guidance={"en": f"Ask neutral questions ({number}).",
                                          "es": f"Haga preguntas neutrales ({number})."})


def events(received) -> list[dict]:
    return [json.loads(got.body) for got in received]


def test_every_change_arrives_in_order_signed_as_the_standard_says(hooks, receiver):
    made = subscribe(hooks, hooks.keys.partner, receiver.url)
    versions = [guidance(hooks, n)["version"] for n in range(3)]
    deliverer = workers.deliverer_for(hooks)
    drain(deliverer)
    received = receiver.wait_for(3)
    bodies = events(received)
    assert [b["data"]["version"] for b in bodies] == versions
    assert [b["type"] for b in bodies] == ["record.updated"] * 3
    assert len({got.id for got in received}) == 3
    reference = standardwebhooks.Webhook(made["secret"])
    for got in received:
        assert reference.verify(got.body, got.headers)  # raises if it does not
        assert verify(got.body, got.headers, made["secret"]) == json.loads(got.body)
        assert got.headers["webhook-id"].startswith(f"msg_{made['id']}_")
        assert got.headers["content-type"] == "application/json"
    # the record as the API renders it in every language, at that version
    now = hooks.test_client().get(f"{INDICATOR}?lang=*").get_json()["data"]
    assert bodies[-1]["data"]["record"] == now and bodies[-1]["data"]["type"] == "indicator"
    assert bodies[-1]["timestamp"].endswith("Z")
    seen = hooks.test_client().get(made["link"], headers=hooks.keys.partner).get_json()["data"]
    assert seen["status"] == "active" and int(seen["cursor"][2:]) == bodies[-1]["data"]["seq"]
    log = hooks.test_client().get(made["deliveries"], headers=hooks.keys.partner).get_json()
    assert [d["outcome"] for d in log["data"]] == ["succeeded"] * 3
    assert all(d["status_code"] == 204 and d["latency_ms"] > 0 for d in log["data"])
    drain(deliverer)  # nothing more is due: nothing is sent twice
    assert len(receiver.requests) == 3


def test_failures_retry_with_the_same_id_while_later_events_wait(hooks, receiver):
    answers = iter([500, 503])
    receiver.answer = lambda got: next(answers, 204)
    made = subscribe(hooks, hooks.keys.partner, receiver.url)
    guidance(hooks, 1)
    guidance(hooks, 2)
    deliverer = workers.deliverer_for(hooks)
    assert deliverer.step()  # first attempt: 500
    shown = hooks.test_client().get(made["link"], headers=hooks.keys.partner).get_json()["data"]
    assert shown["status"] == "failing" and shown["last_error"] == "HTTP 500"
    assert shown["next_attempt_at"] and shown["failing_since"]
    assert not deliverer.step()  # waiting its retry: the next event is not sent either
    drain(deliverer, until=lambda: len(receiver.succeeded()) == 2)
    ids = [got.id for got in receiver.requests]
    assert ids[0] == ids[1] == ids[2] != ids[3] and len(ids) == 4
    assert [got.status for got in receiver.requests] == [500, 503, 204, 204]
    starts = [got.started for got in receiver.requests[:3]]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert all(0.7 < gap < 3 for gap in gaps)  # the schedule: 1 s, with jitter
    log = hooks.test_client().get(made["deliveries"], headers=hooks.keys.partner).get_json()
    attempts = [(d["attempt"], d["outcome"], d["status_code"]) for d in reversed(log["data"])]
    assert attempts == [(1, "failed", 500), (2, "failed", 503), (3, "succeeded", 204),
                        (1, "succeeded", 204)]
    assert log["data"][-1]["next_attempt_at"] and len(log["data"][-1]["response"]) <= 1024
    shown = hooks.test_client().get(made["link"], headers=hooks.keys.partner).get_json()["data"]
    assert shown["status"] == "active" and shown["last_error"] is None


def test_timeouts_and_refused_connections_are_retried_until_the_receiver_answers(
        hooks, receiver):
    slow = [True]

    def answer(got):
        if slow:
            slow.pop()
            return 500, 3.0  # answered after the sender gave up
        return 204

    receiver.answer = answer
    made = subscribe(hooks, hooks.keys.partner, receiver.url)
    guidance(hooks, 1)
    deliverer = workers.deliverer_for(hooks)  # 2 s timeout in these tests
    assert deliverer.step()
    log = hooks.test_client().get(made["deliveries"], headers=hooks.keys.partner).get_json()
    assert log["data"][0]["error"] == "timed out" and log["data"][0]["status_code"] is None
    receiver.stop()
    time.sleep(1.3)
    assert deliverer.step()
    log = hooks.test_client().get(made["deliveries"], headers=hooks.keys.partner).get_json()
    assert log["data"][0]["error"] == "connection refused"
    receiver.start()  # the same port
    drain(deliverer, until=lambda: len(receiver.succeeded()) == 1)
    first = json.loads(receiver.succeeded()[0].body)
    assert first["type"] == "record.updated"


def test_gone_and_long_failure_stop_a_subscription_and_say_why(databases, receiver):
    app = hooks_app(databases.new(), WEBHOOKS_DISABLE_AFTER=2)
    try:
        receiver.answer = lambda got: 410 if got.path.endswith("/gone") else 500
        gone = subscribe(app, app.keys.partner, receiver.url.replace("/hook", "/gone"))
        failing = subscribe(app, app.keys.agency, receiver.url)
        guidance(app, 1)
        deliverer = workers.deliverer_for(app)
        deadline = time.monotonic() + 15
        client = app.test_client()
        while time.monotonic() < deadline:
            deliverer.step()
            states = [client.get(h["link"], headers=k).get_json()["data"] for h, k in
                      ((gone, app.keys.partner), (failing, app.keys.agency))]
            if all(state["status"] == "disabled" for state in states):
                break
            time.sleep(0.1)
        assert states[0]["disabled_reason"] == "The receiver answered 410 Gone."
        assert states[1]["disabled_reason"].startswith("Deliveries failed since ")
        assert "HTTP 500" in states[1]["disabled_reason"]
        sent = len(receiver.requests)
        assert not deliverer.step() and len(receiver.requests) == sent  # stopped
        receiver.answer = lambda got: 204
        resumed = client.patch(failing["link"], json={"paused": False},
                               headers=app.keys.agency).get_json()["data"]
        assert resumed["status"] == "active" and resumed["disabled_reason"] is None
        drain(deliverer, until=lambda: len(receiver.succeeded()) == 1)
        assert json.loads(receiver.succeeded()[0].body)["type"] == "record.updated"
    finally:
        app.extensions["db_engine"].dispose()


def test_restricted_records_reach_only_keys_that_may_read_them(hooks, receiver):
    partner = subscribe(hooks, hooks.keys.partner, receiver.url + "?who=partner")
    agency = subscribe(hooks, hooks.keys.agency, receiver.url + "?who=agency")
    edit(hooks, RESTRICTED, summary={"en": "Steps to request Continued Presence (updated)."})
    # a public record restricted: a removal for the partner, an update for the agency
    edit(hooks, INDICATOR, visibility="law_enforcement")
    drain(workers.deliverer_for(hooks))
    got = {who: [json.loads(r.body) for r in receiver.succeeded() if r.path.endswith(who)]
           for who in ("partner", "agency")}
    assert [(e["type"], e["data"]["id"]) for e in got["agency"]] == [
        ("record.updated", "continued-presence-request-steps"),
        ("record.updated", "isolated-from-family")]
    assert [(e["type"], e["data"]["id"], e["data"]["record"], e["data"]["reason"])
            for e in got["partner"]] == [
        ("record.withdrawn", "isolated-from-family", None, "restricted")]
    assert partner["id"] != agency["id"]


def test_a_proposal_reaches_subscribers_when_it_is_approved_not_before(hooks, receiver):
    client, keys = hooks.test_client(), hooks.keys
    subscribe(hooks, keys.partner, receiver.url, types=["hotline"])
    path = "/api/v1/hotlines/national-human-trafficking-hotline"
    channels = client.get(f"{path}?lang=*").get_json()["data"]["channels"]
    changed = [{**channels[0], "display": "1-888-373-7888 (24/7)"}, *channels[1:]]
    proposed = client.patch(path, json={"channels": changed},
                            headers={**keys.chief, "If-Match": "*"})
    assert proposed.status_code == 202  # a number's display: a second person approves
    deliverer = workers.deliverer_for(hooks)
    drain(deliverer)
    assert receiver.requests == []  # nothing published yet, nothing sent
    assert second_person(client, proposed, keys).status_code == 200
    drain(deliverer)
    (got,) = receiver.wait_for(1)
    event = json.loads(got.body)
    assert event["type"] == "record.updated"
    assert event["data"]["record"]["channels"][0]["display"] == "1-888-373-7888 (24/7)"


def test_types_events_rotation_test_events_resends_and_revoked_keys(hooks, receiver):
    client, keys = hooks.test_client(), hooks.keys
    made = subscribe(hooks, keys.partner, receiver.url, types=["indicator"],
                     events=["record.retired", "record.updated"])
    edit(hooks, "/api/v1/hotlines/national-human-trafficking-hotline",
         notes={"en": "Not for this subscription (a hotline)."})
    guidance(hooks, 1)
    rotated = client.post(f"{made['link']}/rotate-secret", headers=keys.partner)
    new_secret = rotated.get_json()["data"]["secret"]
    queued = client.post(f"{made['link']}/test", headers=keys.partner)
    assert queued.status_code == 202 and queued.get_json()["data"]["outcome"] == "queued"
    deliverer = workers.deliverer_for(hooks)
    drain(deliverer)
    received = receiver.wait_for(2)
    kinds = [json.loads(got.body)["type"] for got in received]
    assert sorted(kinds) == ["record.updated", "webhook.test"]
    for got in received:  # both secrets sign during the grace period
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        for secret in (made["secret"], new_secret):
            assert standardwebhooks.Webhook(secret).verify(got.body, got.headers) is not None
    update = next(got for got in received if b"record.updated" in got.body)
    log = client.get(made["deliveries"], headers=keys.partner).get_json()["data"]
    first = next(d for d in log if d["event_id"] == update.id)
    resend = client.post(f"{made['deliveries']}/{first['id']}/retry", headers=keys.partner)
    assert resend.status_code == 202
    drain(deliverer, until=lambda: len(receiver.succeeded()) == 3)
    again = receiver.succeeded()[2]
    assert again.id == update.id and again.body == update.body  # the same event, same id
    assert client.post(f"{made['deliveries']}/999999/retry", headers=keys.partner
                       ).status_code == 404
    with hooks.app_context():
        revoke_key(db.session(), "partner-site")
    guidance(hooks, 2)
    drain(deliverer)
    shown = client.get(made["link"], headers=keys.admin).get_json()["data"]
    assert shown["status"] == "disabled" and "revoked" in shown["disabled_reason"]
    assert len(receiver.succeeded()) == 3


def test_redirects_are_not_followed_answers_are_kept_to_1kb_and_secrets_stay_out(
        hooks, receiver, caplog):
    receiver.answer = lambda got: 302 if len(receiver.requests) == 0 else 204
    made = subscribe(hooks, hooks.keys.partner, receiver.url)
    guidance(hooks, 1)
    deliverer = workers.deliverer_for(hooks)
    assert deliverer.step()
    log = hooks.test_client().get(made["deliveries"], headers=hooks.keys.partner).get_json()
    first = log["data"][0]
    assert first["status_code"] == 302 and first["outcome"] == "failed"
    assert len(first["response"]) == 1024  # the receiver sent 5,000 bytes
    drain(deliverer, until=lambda: len(receiver.succeeded()) == 1)
    assert len(receiver.requests) == 2 and receiver.requests[1].path == "/hook"
    everything = caplog.text + orjson.dumps(log).decode()
    assert made["secret"] not in everything and made["secret"][6:] not in everything


def test_a_name_that_now_resolves_to_a_private_address_is_not_sent_to(
        databases, receiver, monkeypatch):
    """DNS can change after a subscription is made: each delivery checks again, and connects
    only to an address the check allowed."""
    app = hooks_app(databases.new(), WEBHOOKS_ALLOW_PRIVATE=False)
    answers = {"address": "93.184.216.34"}
    monkeypatch.setattr(targets, "getaddrinfo", lambda host, port, **kw: [
        (2, 1, 6, "", (answers["address"], port))])
    try:
        made = subscribe(app, app.keys.partner, "https://hooks.partner.example/in")
        guidance(app, 1)
        answers["address"] = "127.0.0.1"  # the name moved
        assert workers.deliverer_for(app).step()
        assert receiver.requests == []
        log = app.test_client().get(made["deliveries"], headers=app.keys.partner).get_json()
        error = log["data"][0]["error"]
        assert error.startswith("refused: ") and "loopback address (127.0.0.1)" in error
        # a connection is opened only to an address the check allows
        answers["address"] = "10.9.9.9"
        with pytest.raises(targets.Refused):
            targets.connection("https://hooks.partner.example/").connect()
    finally:
        app.extensions["db_engine"].dispose()


def test_prometheus_counts_deliveries_failures_and_retries(hooks, receiver):
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (value("htcontent_webhook_deliveries_total", outcome="succeeded"),
              value("htcontent_webhook_deliveries_total", outcome="failed"),
              value("htcontent_webhook_retries_total"),
              value("htcontent_webhook_delivery_seconds_count"))
    answers = iter([500])
    receiver.answer = lambda got: next(answers, 204)
    subscribe(hooks, hooks.keys.partner, receiver.url)
    guidance(hooks, 1)
    drain(workers.deliverer_for(hooks), until=lambda: len(receiver.succeeded()) == 1)
    after = (value("htcontent_webhook_deliveries_total", outcome="succeeded"),
             value("htcontent_webhook_deliveries_total", outcome="failed"),
             value("htcontent_webhook_retries_total"),
             value("htcontent_webhook_delivery_seconds_count"))
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 2]
    metrics = hooks.test_client().get("/metrics").get_data(as_text=True)
    assert "htcontent_webhook_deliveries_total" in metrics
    assert "htcontent_webhook_lag_seconds" in metrics


def test_a_receiver_that_drips_its_answer_is_cut_at_the_deadline():
    """A byte every half second never trips a per-read timeout; the deadline holds anyway."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
                conn.send(bytes([byte]))
                time.sleep(0.5)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    answer = targets.post(f"http://127.0.0.1:{server.getsockname()[1]}/", b"{}", {}, 1.5,
                          allow_private=True)
    assert answer.error == "timed out" and not answer.succeeded
    assert time.monotonic() - started < 2.5
    server.close()


def test_sqlite_writes_go_on_while_events_are_sent_and_a_deleted_subscription_fails_alone(
        hooks, receiver):
    """A worker on SQLite holds no write transaction while it sends (an editor's write does not
    wait for a receiver); a subscription deleted meanwhile is dropped, its batch-mate kept."""
    if hooks.extensions["db_engine"].dialect.name != "sqlite":
        pytest.skip("SQLite's single writer: PostgreSQL holds only row locks while sending")
    client, keys = hooks.test_client(), hooks.keys
    doomed = subscribe(hooks, keys.partner, receiver.url + "/doomed")
    kept = subscribe(hooks, keys.agency, receiver.url + "/kept")
    during: list[int] = []

    def answer(got):
        if got.path.endswith("/doomed") and not during:
            during.append(client.delete(doomed["link"], headers=keys.partner).status_code)
            started = time.monotonic()
            guidance(hooks, 99)  # a write while the worker waits for this answer
            during.append(round(time.monotonic() - started, 3))
        return 204

    receiver.answer = answer
    guidance(hooks, 1)
    deliverer = workers.deliverer_for(hooks)
    drain(deliverer)
    assert during[0] == 204 and during[1] < 2  # the delete and the write were not blocked
    shown = client.get(kept["link"], headers=keys.agency).get_json()["data"]
    kept_ids = [got.id for got in receiver.succeeded() if got.path.endswith("/kept")]
    assert int(shown["cursor"][2:]) >= int(kept_ids[0].rsplit("_", 1)[1])  # recorded
    assert len(kept_ids) == 2  # and the write made during the send arrived too
    assert not deliverer.step()  # nothing stuck, nothing left
