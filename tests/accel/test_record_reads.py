"""Single-record reads answered from stored renditions (api/accel/record_reads.py) are the
Flask view's answers, byte for byte and header for header, and everything else is left to it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from api.accel.record_reads import RecordReads
from tests.accel.test_fastpath import cache_of

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
    "/api/v1/indicators",
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
    assert client.delete(retired, headers={**keys.editor, "If-Match": etag}).status_code == 204
    assert reads_of(editor_app).answer(environ(retired)) is None
    assert client.get(retired).status_code == 410
