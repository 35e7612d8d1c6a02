"""Every error, on every path, is RFC 9457 problem+json: never HTML, never a stack trace."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from api.storage import lists, publish, store

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status
    assert body["request_id"] == response.headers["X-Request-ID"]
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    return body


@pytest.mark.parametrize("url", ["/", "/nope", "/api/v2/indicators", "/api/v1/indicators/a/b",
                                 "/api/v1/", "/static/x.js", "/api/v1/docs/assets/../../etc"])
def test_unknown_routes_are_404_problems(client, url):
    assert_problem(client.get(url), 404)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", ["/healthz", "/api/v1/search", "/api/v1/vocabularies",
                                 "/api/v1", "/api/v1/audit"])
def test_wrong_methods_are_405_with_allow(client, method, url):
    response = getattr(client, method)(url)
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(("method", "url"), [("put", "/api/v1/indicators"),
                                             ("patch", "/api/v1/hotlines"),
                                             ("post", "/api/v1/indicators/isolated-from-family")])
def test_write_methods_on_the_wrong_path_are_405(client, method, url):
    response = getattr(client, method)(url)
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"] or "PUT" in response.headers["Allow"]


def test_unexpected_errors_are_500_problems_without_details(app, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(lists, "list_records", explode)
    cache = app.extensions.get("response_cache")  # none with the accelerator off
    if cache is not None:
        cache.clear()  # an earlier test's answer would be replayed
    response = app.test_client().get("/api/v1/indicators?sort=updated_at")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "request id" in body["detail"]


def test_database_outage_is_503_with_retry_after(app, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(store, "state", unreachable)
    response = app.test_client().get("/api/v1/indicators?sort=updated_at")
    assert_problem(response, 503)
    assert response.headers["Retry-After"] == "5"
    assert "connection refused" not in response.get_data(as_text=True)


def test_oversized_url_is_414_problem(client):
    assert_problem(client.get("/api/v1/search?q=" + "a" * 9000), 414)


def test_retired_records_are_410_with_retired_at(seeded_fresh_app):
    from api.storage import db

    with seeded_fresh_app.app_context():
        record = store.get_record(db.session(), "isolated-from-family", "indicator")
        content = {**record.content, "status": "retired"}
        publish.save(db.session(), "indicator", content, actor="t", action="t")
        db.session().commit()
        record_id = record.id
    client = seeded_fresh_app.test_client()
    body = assert_problem(client.get(f"/api/v1/indicators/{record_id}"), 410)
    assert body["retired_at"].endswith("Z")
    listed = client.get("/api/v1/indicators?limit=200").get_json()["data"]
    assert record_id not in {r["id"] for r in listed}
    hits = client.get("/api/v1/search?q=isolated").get_json()["data"]
    assert record_id not in {h["id"] for h in hits}
