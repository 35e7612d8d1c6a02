"""API keys, scopes, restricted visibility, rate limits, CORS and security headers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect, text

from api import create_app
from api.config import TestConfig as AppTestConfig
from api.storage import db

RESTRICTED_HOTLINE = "hstu-operational-line"
RESTRICTED_RESOURCE = "continued-presence-request-steps"


def test_keys_are_shown_once_and_stored_only_as_a_hash(fresh_app):
    runner = fresh_app.test_cli_runner()
    created = runner.invoke(args=["keys", "create", "--name", "county-cad", "--scope", "write",
                                  "--scope", "read:restricted"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("htc_") and len(key) > 40
    secret = key[len("htc_") + 13:]  # after "htc_<12-hex prefix>_"
    assert len(secret) == 43
    with fresh_app.app_context():
        connection = db.session().connection()
        for table in inspect(connection).get_table_names():
            if table.startswith("search_fts"):
                continue
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                assert secret not in " ".join(map(str, row)), table
    listed = runner.invoke(args=["keys", "list"])
    assert "county-cad" in listed.output and "read:restricted,write" in listed.output
    assert secret not in listed.output
    client = fresh_app.test_client()
    assert client.get("/api/v1/hotlines", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/v1/hotlines",
                      headers={"Authorization": f"Bearer {key}"}).status_code == 200
    revoked = runner.invoke(args=["keys", "revoke", "county-cad"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    response = client.get("/api/v1/hotlines", headers={"X-API-Key": key})
    assert response.status_code == 401 and "revoked" in response.get_json()["detail"]
    duplicate = runner.invoke(args=["keys", "create", "--name", "county-cad"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer htc_000000000000_" + "A" * 43},  # well-formed, unknown
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer"},
    {"X-API-Key": "htc_zz"},
])
def test_wrong_or_malformed_keys_are_401_problems_everywhere(editor_app, headers):
    client = editor_app.test_client()
    for url in ["/api/v1/hotlines", "/healthz", "/api/v1/hotlines/hsi-tip-line"]:
        response = client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scopes(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    assert client.post("/api/v1/hotlines", json={}).status_code == 401
    assert client.post("/api/v1/hotlines", json={}, headers=keys.reader).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=keys.editor).status_code == 403
    assert client.get("/api/v1/audit", headers=keys.admin).status_code == 200


def test_restricted_records_exist_only_for_read_restricted(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    for headers in ({}, keys.plain, keys.editor):
        assert client.get(f"/api/v1/hotlines/{RESTRICTED_HOTLINE}",
                          headers=headers).status_code == 404
        listed = client.get("/api/v1/hotlines?limit=200", headers=headers).get_json()
        assert RESTRICTED_HOTLINE not in {r["id"] for r in listed["data"]}
        hits = client.get("/api/v1/search?q=operational", headers=headers).get_json()["data"]
        assert RESTRICTED_HOTLINE not in {h["id"] for h in hits}
        resources = client.get("/api/v1/resources?limit=200", headers=headers).get_json()
        assert RESTRICTED_RESOURCE not in {r["id"] for r in resources["data"]}
    anonymous_total = client.get("/api/v1/hotlines").get_json()["meta"]["total"]
    agency = client.get("/api/v1/hotlines?limit=200", headers=keys.reader)
    assert agency.headers["Cache-Control"] == "private, no-store"
    assert agency.get_json()["meta"]["total"] == anonymous_total + 1
    assert RESTRICTED_HOTLINE in {r["id"] for r in agency.get_json()["data"]}
    one = client.get(f"/api/v1/hotlines/{RESTRICTED_HOTLINE}", headers=keys.reader)
    assert one.status_code == 200 and one.get_json()["data"]["visibility"] == "law_enforcement"
    hits = client.get("/api/v1/search?q=operational", headers=keys.reader).get_json()["data"]
    assert RESTRICTED_HOTLINE in {h["id"] for h in hits}

    def program_contacts(headers):
        vocabularies = client.get("/api/v1/vocabularies", headers=headers).get_json()["data"]
        purpose = next(v for v in vocabularies if v["name"] == "hotline_purpose")
        return next(t for t in purpose["terms"] if t["code"] == "program_contact")["counts"]

    assert program_contacts(keys.reader)["hotline"] == program_contacts({})["hotline"] + 1
    # Anonymous and keyed representations never share an ETag.
    assert agency.headers["ETag"] != client.get("/api/v1/hotlines?limit=200").headers["ETag"]


def limited_app(url: str, **limits: str):
    config = AppTestConfig(url)
    for name, value in limits.items():
        setattr(config, name, value)
    config.RATELIMIT_KEY_PREFIX = uuid.uuid4().hex
    return create_app(config)


def test_anonymous_and_keyed_limits_answer_429_problems(editor_app):
    url = editor_app.config["DATABASE_URL"]
    app = limited_app(url, RATE_LIMIT_ANON="3/minute", RATE_LIMIT_KEY="5/minute")
    client = app.test_client()
    statuses = [client.get("/api/v1/hotlines") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[0].headers["RateLimit-Limit"] == statuses[0].headers["X-RateLimit-Limit"] \
        == "3"
    assert statuses[1].headers["RateLimit-Remaining"] == "1"
    assert "Retry-After" not in statuses[0].headers
    limited = statuses[3]
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["status"] == 429
    keyed = [client.get("/api/v1/hotlines", headers=editor_app.keys.reader).status_code
             for _ in range(6)]
    assert keyed == [200] * 5 + [429]  # a key has its own, larger budget


def test_repeated_authentication_failures_are_limited(editor_app):
    app = limited_app(editor_app.config["DATABASE_URL"], RATE_LIMIT_AUTH_FAILURES="3/minute")
    client = app.test_client()
    bad = {"X-API-Key": "htc_000000000000_" + "B" * 43}
    statuses = [client.get("/api/v1/hotlines", headers=bad).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert client.get("/api/v1/hotlines").status_code == 200  # good requests still served


def test_a_malformed_authorization_header_is_refused_without_counting_as_a_guess(editor_app):
    """Only a key that was sent and is wrong counts against the client: a header in another
    scheme (a browser's Basic, a proxy's token) is a 401 every time, never a 429."""
    app = limited_app(editor_app.config["DATABASE_URL"], RATE_LIMIT_AUTH_FAILURES="2/minute")
    client = app.test_client()
    statuses = [client.get("/api/v1/hotlines", headers={"Authorization": "Basic eDp5"})
                .status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 401]


def test_limits_are_shared_through_redis(editor_app):
    """Two apps (as two processes would) on one Redis share one budget."""
    prefix = uuid.uuid4().hex
    apps = []
    for _ in range(2):
        config = AppTestConfig(editor_app.config["DATABASE_URL"])
        config.REDIS_URL = "redis://127.0.0.1:6379/0"
        config.RATE_LIMIT_ANON = "4/minute"
        config.RATELIMIT_KEY_PREFIX = prefix
        apps.append(create_app(config))
    first, second = (app.test_client() for app in apps)
    statuses = [client.get("/api/v1/hotlines").status_code
                for client in (first, second, first, second, first)]
    assert statuses == [200, 200, 200, 200, 429]


def test_cors_allows_any_origin_to_read_but_not_write(client):
    response = client.get("/api/v1/hotlines", headers={"Origin": "https://partner.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options("/api/v1/hotlines", headers={
        "Origin": "https://partner.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET", "HEAD", "OPTIONS"}
    write = client.options("/api/v1/hotlines", headers={
        "Origin": "https://partner.example", "Access-Control-Request-Method": "POST"})
    assert "POST" not in write.headers.get("Access-Control-Allow-Methods", "")


@pytest.mark.parametrize("url", ["/api/v1/hotlines", "/api/v1/docs", "/nope"])
def test_security_headers(client, url):
    headers = client.get(url).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"


def test_trusted_hosts_and_proxy_headers(seeded_url):
    config = AppTestConfig(seeded_url)
    config.ALLOWED_HOSTS = ["api.example.org"]
    config.PROXY_COUNT = 1
    client = create_app(config).test_client()
    forged = client.get("/api/v1/hotlines", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and forged.mimetype == "application/problem+json"
    behind_proxy = client.get("/api/v1/hotlines?limit=1", headers={
        "Host": "api.example.org", "X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert behind_proxy.get_json()["links"]["next"].startswith("https://api.example.org/")
