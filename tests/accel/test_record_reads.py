"""Single-record reads answered from stored renditions (api/accel/record_reads.py) are the
Flask view's answers, byte for byte and header for header, and everything else is left to it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from orjson import loads as orjson_loads
from werkzeug.test import EnvironBuilder

from api.accel.record_reads import RecordReads
from tests.accel.test_fastpath import cache_of
from tests.conftest import second_person

pytestmark = pytest.mark.usefixtures("app")


def reads_of(app: Flask) -> RecordReads:
    reads = cache_of(app).reads
    assert isinstance(reads, RecordReads)
    return reads


def environ(url: str, **headers: str) -> dict[str, Any]:
    return EnvironBuilder(path=url.split("?")[0], query_string=url.partition("?")[2],
                          headers=headers).get_environ()


def view_answer(app: Flask, env: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """What the Flask view answers (the app without the edge and the cache in front)."""
    started: list[Any] = []
    body = b"".join(Flask.wsgi_app(app, env, lambda s, h, e=None: started.extend((s, h))))
    return started[0], list(started[1]), body


QUERIES = ["", "?lang=es", "?lang=en", "?lang=*", "?fields=statement",
           "?lang=es&fields=statement,category,settings", "?fields=statement,guidance,verified_on",
           "?fields=statement,statement"]


@pytest.mark.parametrize("query", QUERIES)
def test_answers_are_the_views_answers(app, query):
    client = app.test_client()
    ids = [item["id"] for item in client.get("/api/v1/indicators?limit=8").get_json()["data"]]
    ids += [item["id"] for item in client.get("/api/v1/hotlines?limit=3").get_json()["data"]]
    for record_id in ids:
        collection = "hotlines" if record_id in ids[8:] else "indicators"
        if collection == "hotlines" and "fields" in query:  # indicators' field names
            continue
        for headers in ({}, {"Accept-Language": "es-MX,es;q=0.9"}, {"Accept-Language": "fr"}):
            env = environ(f"/api/v1/{collection}/{record_id}{query}", **headers)
            entry = reads_of(app).answer(dict(env))
            status, view_headers, view_body = view_answer(app, dict(env))
            assert status == "200 OK" and entry is not None
            assert entry.body == view_body
            assert list(entry.headers) == view_headers


@pytest.mark.parametrize("url", [
    "/api/v1/indicators/no-such-record",
    "/api/v1/indicators/BAD_ID",
    "/api/v1/hotlines/national-human-trafficking-hotline/revisions",
    "/api/v1/indicators/{id}?lang=fr",
    "/api/v1/indicators/{id}?fields=nope",
    "/api/v1/indicators/{id}?lang=es&lang=en",
    "/api/v1/indicators/{id}?cursor=x",
    "/api/v1/hotlines/{id}",  # another type's id
])
def test_what_the_view_must_explain_is_left_to_it(app, url):
    some = app.test_client().get("/api/v1/indicators?limit=1").get_json()["data"][0]["id"]
    assert reads_of(app).answer(environ(url.format(id=some))) is None


def test_records_not_public_and_published_are_left_to_the_view(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    restricted = [item["id"] for item in client.get(
        "/api/v1/hotlines?limit=200", headers=keys.reader).get_json()["data"]
        if item.get("visibility") == "law_enforcement"]
    assert restricted, "the seed has a restricted hotline"
    assert reads_of(editor_app).answer(environ(f"/api/v1/hotlines/{restricted[0]}")) is None
    retired = "/api/v1/hotlines/hsi-tip-line"
    etag = client.get(retired).headers["ETag"]
    answer = client.delete(retired, headers={**keys.editor, "If-Match": etag})
    assert second_person(client, answer, keys).status_code in (200, 204)
    assert reads_of(editor_app).answer(environ(retired)) is None
    assert client.get(retired).status_code == 410


LIST_QUERIES = ["", "?limit=5", "?limit=5&lang=es", "?lang=*&limit=3", "?limit=4&fields=statement",
                "?sort=id&limit=2&lang=en", "?limit=200"]


@pytest.mark.parametrize("query", LIST_QUERIES)
def test_pages_are_the_views_pages(app, query):
    """Every page of a walk through a collection, next links followed, is the view's page."""
    for collection in ("indicators", "hotlines"):
        if collection == "hotlines" and "fields" in query:
            continue
        url: str | None = f"/api/v1/{collection}{query}"
        pages = 0
        while url:
            for headers in ({}, {"Accept-Language": "es-MX,es;q=0.9"}):
                env = environ(url, **headers)
                entry = reads_of(app).answer(dict(env))
                status, view_headers, view_body = view_answer(app, dict(env))
                assert status == "200 OK" and entry is not None
                assert entry.body == view_body
                assert list(entry.headers) == view_headers
            page = orjson_loads(entry.body)
            url = page["links"]["next"] and page["links"]["next"].removeprefix("http://localhost")
            pages += 1
        assert pages == max(1, -(-page["meta"]["total"] // page["meta"]["limit"]))


@pytest.mark.parametrize("query", [
    "?category=financial", "?q=passport", "?sort=updated_at", "?sort=-updated_at&limit=3",
    "?updated_since=2020-01-01T00:00:00Z", "?cursor=u.1700000000.some-id", "?cursor=nonsense",
    "?limit=0", "?limit=201", "?limit=5&limit=6",
])
def test_lists_the_view_must_answer_are_left_to_it(app, query):
    assert reads_of(app).answer(environ(f"/api/v1/indicators{query}")) is None


def test_csv_is_left_to_the_view(app):
    assert reads_of(app).answer(environ("/api/v1/resources?format=csv")) is None


def test_a_page_counts_only_what_anyone_may_read(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    everything = client.get("/api/v1/hotlines?limit=200", headers=keys.reader).get_json()
    entry = reads_of(editor_app).answer(environ("/api/v1/hotlines?limit=200"))
    assert entry is not None
    shown = orjson_loads(entry.body)
    assert shown["meta"]["total"] < everything["meta"]["total"]
    assert all(item["visibility"] == "public" for item in shown["data"])


def test_a_page_read_after_a_write_shows_it(editor_app):
    """Pages are read, not kept: a record written between two reads is on the second page, and
    the total counts it."""
    from tests.web.test_trust import INDICATOR

    client, keys = editor_app.test_client(), editor_app.keys
    before = orjson_loads(reads_of(editor_app).answer(environ("/api/v1/indicators?limit=200")).body)
    assert client.post("/api/v1/indicators", json=INDICATOR, headers=keys.editor).status_code == 201
    after = orjson_loads(reads_of(editor_app).answer(environ("/api/v1/indicators?limit=200")).body)
    assert after["meta"]["total"] == before["meta"]["total"] + 1
    assert INDICATOR["id"] in [item["id"] for item in after["data"]]


def test_a_database_error_leaves_the_read_to_the_view(app, monkeypatch):
    """The view knows how to explain a database it cannot reach (503 problem)."""
    reads = reads_of(app)

    def refuse(*args: Any) -> Any:
        raise reads.engine.dialect.loaded_dbapi.OperationalError("connection refused")

    monkeypatch.setattr(reads, "_transaction", refuse)
    assert reads.answer(environ("/api/v1/indicators?limit=2")) is None
