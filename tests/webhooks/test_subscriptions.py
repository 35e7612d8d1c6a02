"""Managing webhook subscriptions: the secret shown once and stored encrypted, who sees which,
changes, rotation, and URLs that may not receive webhooks (refused without a packet sent: the
resolver is replaced, or the address is numeric)."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from api.services import targets
from api.storage import db
from api.storage.models import Webhook
from tests.webhooks.conftest import hooks_app, offline_resolver, subscribe


def test_a_subscription_shows_its_secret_once_and_stores_it_encrypted(hooks):
    client, keys = hooks.test_client(), hooks.keys
    made = client.post("/api/v1/webhooks", headers=keys.partner, json={
        "url": "https://127.0.0.1:9/hook", "types": ["hotline"],
        "events": ["record.updated", "record.retired"], "description": "Partner mirror"})
    assert made.status_code == 201, made.get_json()
    data = made.get_json()["data"]
    secret = data["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert made.headers["Location"] == data["link"] and made.headers["Cache-Control"] == "no-store"
    assert data["status"] == "active" and data["types"] == ["hotline"]
    assert data["cursor"].startswith("c.")  # told of changes from now on
    shown = client.get(f"/api/v1/webhooks/{data['id']}", headers=keys.partner).get_json()["data"]
    assert "secret" not in shown and shown["url"] == "https://127.0.0.1:9/hook"
    with hooks.app_context():
        stored = db.session().scalars(select(Webhook.secret)).one()
        dumped = " ".join(str(row) for row in db.session().execute(
            text("SELECT * FROM webhooks")).all())
    assert secret not in dumped and secret[6:] not in dumped and stored != secret
    # defaults: every type and event
    other = subscribe(hooks, keys.partner, "https://127.0.0.1:9/other")
    from schemas.records import SCHEMAS
    assert other["types"] == list(SCHEMAS)
    assert other["events"] == ["record.created", "record.updated", "record.retired",
                               "record.withdrawn"]


def test_a_key_sees_and_changes_only_its_own_subscriptions(hooks):
    client, keys = hooks.test_client(), hooks.keys
    mine = subscribe(hooks, keys.partner, "https://127.0.0.1:9/a")
    theirs = subscribe(hooks, keys.agency, "https://127.0.0.1:9/b")
    listed = client.get("/api/v1/webhooks", headers=keys.partner)
    assert listed.status_code == 200 and [h["id"] for h in listed.get_json()["data"]] == [
        mine["id"]]
    assert listed.get_json()["meta"]["total"] == 1
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate-secret"),
                         ("post", "/test"), ("get", "/deliveries")):
        answer = getattr(client, method)(f"/api/v1/webhooks/{theirs['id']}{path}",
                                         headers=keys.partner, json={})
        assert answer.status_code == 404, (method, path)
    everyone = client.get("/api/v1/webhooks", headers=keys.admin).get_json()["data"]
    assert {h["id"] for h in everyone} == {mine["id"], theirs["id"]}
    assert client.get("/api/v1/webhooks").status_code == 401
    assert client.get("/api/v1/webhooks", headers=keys.editor).status_code == 403
    refused = client.post("/api/v1/webhooks", headers=keys.editor,
                          json={"url": "https://127.0.0.1:9/c"})
    assert refused.status_code == 403 and "webhooks" in refused.get_json()["detail"]


def test_changing_pausing_rotating_and_deleting(hooks):
    client, keys = hooks.test_client(), hooks.keys
    made = subscribe(hooks, keys.partner, "https://127.0.0.1:9/a")
    url = f"/api/v1/webhooks/{made['id']}"
    changed = client.patch(url, headers=keys.partner, json={
        "url": "https://127.0.0.1:9/b", "events": ["record.created"], "paused": True,
        "description": None})
    assert changed.status_code == 200, changed.get_json()
    data = changed.get_json()["data"]
    assert data["url"].endswith("/b") and data["events"] == ["record.created"]
    assert data["status"] == "paused" and data["paused"] is True and "secret" not in data
    for bad in ({"events": ["record.deleted"]}, {"types": []}, {"paused": "yes"},
                {"secret": "whsec_x"}, {"url": "ftp://x"}, {"events": ["record.created"] * 2}):
        answer = client.patch(url, headers=keys.partner, json=bad)
        assert answer.status_code == 422, bad
        assert answer.mimetype == "application/problem+json" and answer.get_json()["errors"]
    assert client.patch(url, headers=keys.partner, data="[", content_type="application/json"
                        ).status_code == 400
    assert client.patch(url, headers=keys.partner, data="x", content_type="text/plain"
                        ).status_code == 415
    resumed = client.patch(url, headers=keys.partner, json={"paused": False}).get_json()["data"]
    assert resumed["status"] == "active"

    rotated = client.post(f"{url}/rotate-secret", headers=keys.partner)
    assert rotated.status_code == 200
    new = rotated.get_json()["data"]
    assert new["secret"] != made["secret"] and new["secret"].startswith("whsec_")
    until = datetime.strptime(new["previous_secret_until"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(until.replace(tzinfo=UTC) - datetime.now(UTC) - timedelta(hours=24)) < \
        timedelta(minutes=1)

    assert client.delete(url, headers=keys.partner).status_code == 204
    assert client.get(url, headers=keys.partner).status_code == 404
    assert client.get("/api/v1/webhooks/wh_0000000000000000", headers=keys.partner
                      ).status_code == 404


def _resolving_to(monkeypatch, *addresses: str) -> None:
    """Every name resolves to ``addresses``, an address to itself (no lookup leaves the
    machine)."""
    def resolve(host, port, **kwargs):
        try:
            return offline_resolver(host, port)
        except socket.gaierror:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port)) for a in addresses]

    monkeypatch.setattr(targets, "getaddrinfo", resolve)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00:ec2::254", "fc00::1",
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2002:a00:1::", "64:ff9b::a9fe:a9fe", "ff02::1",
])
def test_urls_that_resolve_to_other_than_public_addresses_are_refused(databases, monkeypatch,
                                                                      address):
    app = hooks_app(databases.new(), WEBHOOKS_ALLOW_PRIVATE=False)
    _resolving_to(monkeypatch, "93.184.216.34", address)  # one bad address is enough
    answer = app.test_client().post("/api/v1/webhooks", headers=app.keys.partner,
                                    json={"url": "https://hooks.partner.example/in"})
    assert answer.status_code == 422, answer.get_json()
    problem = answer.get_json()
    assert problem["type"].endswith("/invalid-subscription") and "url" in problem["errors"]
    with app.app_context():
        assert db.session().scalars(select(Webhook)).all() == []
    app.extensions["db_engine"].dispose()


def test_numeric_spellings_plain_http_and_credentials_are_refused_and_public_ones_taken(
        databases, monkeypatch):
    app = hooks_app(databases.new(), WEBHOOKS_ALLOW_PRIVATE=False)
    client, key = app.test_client(), app.keys.partner
    for url in ("https://2130706433/", "https://0x7f.1/", "https://017700000001/",
                "https://[::ffff:7f00:1]/", "https://[::ffff:169.254.169.254]/",
                "https://localhost/hook", "http://93.184.216.34/hook",
                "https://user:pw@93.184.216.34/", "https://names-resolve-nowhere.example/"):
        answer = client.post("/api/v1/webhooks", json={"url": url}, headers=key)
        assert answer.status_code == 422, url
        assert answer.mimetype == "application/problem+json"
    _resolving_to(monkeypatch, "93.184.216.34", "2606:2800:220:1::")
    assert client.post("/api/v1/webhooks", json={"url": "https://hooks.partner.example/in"},
                       headers=key).status_code == 201
    app.extensions["db_engine"].dispose()


def test_private_targets_and_plain_http_only_when_allowed(hooks):
    """``HTCONTENT_WEBHOOKS_ALLOW_PRIVATE=1`` (tests, closed networks) lets loopback and http
    through, never the metadata address."""
    client, key = hooks.test_client(), hooks.keys.partner
    assert client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/"},
                       headers=key).status_code == 201
    metadata = client.post("/api/v1/webhooks", json={"url": "http://169.254.169.254/latest"},
                           headers=key)
    assert metadata.status_code == 422 and "metadata" in metadata.get_json()["detail"]


def test_a_change_of_url_is_checked_as_a_new_one_and_odd_ids_are_404(databases, monkeypatch):
    app = hooks_app(databases.new(), WEBHOOKS_ALLOW_PRIVATE=False)
    _resolving_to(monkeypatch, "93.184.216.34")
    client, key = app.test_client(), app.keys.partner
    made = subscribe(app, key, "https://hooks.partner.example/in")
    for url in ("https://10.0.0.1/in", "http://93.184.216.34/in", "https://169.254.169.254/"):
        answer = client.patch(made["link"], json={"url": url}, headers=key)
        assert answer.status_code == 422, url
    assert client.get(made["link"], headers=key).get_json()["data"]["url"] == \
        "https://hooks.partner.example/in"  # nothing changed
    for odd in ("wh_000000000000000%00", "wh_%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80",
                "WH_0000000000000000", "wh_000000000000000g"):
        answer = client.get(f"/api/v1/webhooks/{odd}", headers=key)
        assert answer.status_code == 404 and answer.mimetype == "application/problem+json", odd
    app.extensions["db_engine"].dispose()


def test_secrets_stay_out_of_logs_the_audit_trail_and_every_other_answer(databases, capfd):
    hooks = hooks_app(databases.new())  # made while stderr is captured: its log goes there
    client, key = hooks.test_client(), hooks.keys.partner
    made = subscribe(hooks, key, "https://127.0.0.1:9/a")
    rotated = client.post(f"{made['link']}/rotate-secret", headers=key).get_json()["data"]
    secrets_ = [made["secret"], rotated["secret"]]
    answers = [client.get(made["link"], headers=key), client.get("/api/v1/webhooks", headers=key),
               client.patch(made["link"], json={"url": "ftp://x"}, headers=key),
               client.get(made["deliveries"], headers=key),
               client.post(f"{made['link']}/test", headers=key)]
    with hooks.app_context():
        stored = " ".join(str(row) for table in ("audit_log", "webhooks", "webhook_deliveries")
                          for row in db.session().execute(text(f"SELECT * FROM {table}")).all())
    logged = "".join(capfd.readouterr())
    assert logged  # the access log was written (and captured)
    for secret in secrets_:
        for where in (logged, stored, *(answer.get_data(as_text=True) for answer in answers)):
            assert secret not in where and secret[6:] not in where
    hooks.extensions["db_engine"].dispose()
