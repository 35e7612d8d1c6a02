"""The response cache behind the edge (api/accel/response_cache.py): a repeated anonymous GET is
answered from memory, and is indistinguishable from the full path's answer; a write anywhere
(this app, another instance on the same database) is seen at once; keys, limits, size checks,
logs and metrics still apply."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import config, create_app
from api.accel import facets, response_cache
from api.accel.response_cache import ResponseCache
from api.storage import db
from seed.loader import load_seed
from tests.conftest import (
    SEED_DIR,
    Keys,
    is_postgres,
    migrated_app,
    second_person,
    serving,
)

#: Headers that differ per request by design.
PER_REQUEST = {"X-Request-ID", "X-RateLimit-Remaining", "RateLimit-Remaining",
               "X-RateLimit-Reset", "RateLimit-Reset", "Date"}
URLS = [
    "/api/v1/indicators?limit=50",
    "/api/v1/indicators?limit=2&category=behavioral",
    "/api/v1/hotlines/national-human-trafficking-hotline",
    "/api/v1/hotlines/national-human-trafficking-hotline?lang=es",
    "/api/v1/hotlines?format=csv",
    "/api/v1/search?q=labor",
    "/api/v1/vocabularies",
    "/api/v1/changes?limit=5",
    "/api/v1/export?lang=*",
    "/api/v1",
]


def cache_of(app: Flask) -> ResponseCache:
    cache = app.extensions.get("response_cache")
    assert isinstance(cache, ResponseCache), "the response cache is not in front of the app"
    return cache


def stable(headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {name: value for name, value in headers.items() if name not in PER_REQUEST}


@pytest.mark.parametrize("url", URLS)
def test_a_cached_answer_is_the_full_answer(app, url):
    cache_of(app).clear()
    client = app.test_client()
    first = client.get(url, headers={"Accept-Language": "es"})
    assert first.status_code == 200
    assert len(cache_of(app)._entries) == 1, "a public 200 should be kept"
    again = client.get(url, headers={"Accept-Language": "es"})
    assert again.status_code == 200
    assert again.data == first.data
    assert stable(again.headers) == stable(first.headers)
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    head = client.head(url, headers={"Accept-Language": "es"})
    assert head.data == b"" and stable(head.headers) == stable(first.headers)
    # A 304 from the cache carries what the full path's 304 carries.
    conditional = {"Accept-Language": "es", "If-None-Match": first.headers["ETag"]}
    cached_304 = client.get(url, headers=conditional)
    cache_of(app).clear()
    full_304 = client.get(url, headers=conditional)
    assert cached_304.status_code == full_304.status_code == 304
    assert cached_304.data == b""
    assert stable(cached_304.headers) == stable(full_304.headers)
    # A 304 has no body: it carries the cache validators and limits, not the body's headers.
    assert "Content-Security-Policy" in first.headers
    assert "Content-Security-Policy" not in cached_304.headers
    assert cached_304.headers["ETag"] == first.headers["ETag"]
    assert cached_304.headers["Access-Control-Allow-Origin"] == "*"


def test_a_conditional_poll_is_answered_from_memory_after_a_write_elsewhere(editor_app):
    """CAD screens poll one record with If-None-Match. A write to another record drops every
    kept answer but leaves this record's ETag current, and a restarted worker has nothing
    kept: the full path's answer is kept, so from the second poll on the 304 comes from memory
    (headers as the full path's)."""

    client, keys = editor_app.test_client(), editor_app.keys
    url = "/api/v1/hotlines/national-human-trafficking-hotline"
    first = client.get(url)
    conditional = {"If-None-Match": first.headers["ETag"]}
    other = "/api/v1/hotlines/hsi-tip-line"
    patched = client.patch(other, json={"notes": {"en": "Changed.", "es": "Cambiado."}},
                           headers={**keys.editor,
                                    "If-Match": client.get(other).headers["ETag"]})
    assert patched.status_code == 200

    def hits() -> float:
        return response_cache.CACHE.labels("hit")._value.get()  # type: ignore[no-any-return]

    for _ in range(2):  # after a write elsewhere, then in a worker that kept nothing
        before = hits()
        full = client.get(url, headers=conditional)  # the full path: its answer is kept
        assert full.status_code == 304 and hits() == before
        again = client.get(url, headers={**conditional, "X-Request-ID": "poll-2"})
        assert again.status_code == 304 and again.data == b"" and hits() == before + 1
        assert stable(again.headers) == stable(full.headers)
        assert again.headers["X-Request-ID"] == "poll-2"
        weak = client.get(url, headers={"If-None-Match": "W/" + first.headers["ETag"]})
        assert weak.status_code == 304 and hits() == before + 2
        head = client.head(url, headers={"If-None-Match": "*"})
        assert head.status_code == 304 and hits() == before + 3
        assert int(head.headers["X-RateLimit-Remaining"]) == int(
            again.headers["X-RateLimit-Remaining"]) - 2  # each answer counted once
        cache_of(editor_app).clear()
    # The full path answered the poll with the whole record (the edge made it a 304): what
    # is kept answers a poll with another ETag, a HEAD and a GET for the body alike.
    assert client.get(url, headers=conditional).status_code == 304
    before = hits()
    other_etag = client.get(url, headers={"If-None-Match": '"r0-00000000000000000000000000000000"'})
    assert other_etag.status_code == 200 and other_etag.data == first.data
    assert client.head(url).status_code == 200
    assert client.get(url).data == first.data and hits() == before + 3


def test_languages_and_hosts_are_kept_apart(app):
    client = app.test_client()
    url = "/api/v1/hotlines/national-human-trafficking-hotline"
    english = client.get(url, headers={"Accept-Language": "en"}).get_json()["data"]
    spanish = client.get(url, headers={"Accept-Language": "es"}).get_json()["data"]
    assert english["lang"] == "en" and spanish["lang"] == "es"
    assert client.get(url, headers={"Accept-Language": "es"}).get_json()["data"] == spanish
    elsewhere = client.get(url, base_url="https://mirror.example.org").get_json()["data"]
    assert elsewhere["links"]["self"].startswith("https://mirror.example.org/") \
        if "links" in elsewhere else True
    listed = client.get("/api/v1/indicators?limit=1", base_url="https://mirror.example.org")
    assert listed.get_json()["links"]["self"].startswith("https://mirror.example.org/")


def test_a_write_is_seen_by_the_next_anonymous_read(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    url = "/api/v1/hotlines/national-human-trafficking-hotline"
    before = client.get(url)
    assert client.get(url).data == before.data  # now cached
    patched = client.patch(url, json={"notes": {"en": "Changed.", "es": "Cambiado."}},
                           headers={**keys.editor, "If-Match": before.headers["ETag"]})
    assert patched.status_code == 200
    after = client.get(url)
    assert after.get_json()["data"]["notes"] == "Changed."
    assert after.headers["ETag"] != before.headers["ETag"]
    # The old ETag is no longer current: a full answer, not a 304.
    assert client.get(url, headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
    retired = second_person(client, client.delete(
        url, headers={**keys.editor, "If-Match": after.headers["ETag"]}), keys)
    assert retired.status_code in (200, 204)
    gone = client.get(url)
    assert gone.status_code == 410 and gone.mimetype == "application/problem+json"


def test_a_write_through_another_instance_is_seen_at_once(editor_app):
    """Two apps on one database are two instances: each has its own cache."""
    url = "/api/v1/indicators?limit=100"
    reader = create_app(config.TestConfig(editor_app.config["DATABASE_URL"])).test_client()
    writer, keys = editor_app.test_client(), editor_app.keys
    total = reader.get(url).get_json()["meta"]["total"]
    reader.get(url)
    indicator = reader.get(url).get_json()["data"][0]["id"]
    one = writer.get(f"/api/v1/indicators/{indicator}", headers=keys.editor)
    retired = writer.delete(f"/api/v1/indicators/{indicator}",
                            headers={**keys.editor, "If-Match": one.headers["ETag"]})
    assert retired.status_code in (200, 204)
    after = reader.get(url).get_json()
    assert after["meta"]["total"] == total - 1
    assert indicator not in {item["id"] for item in after["data"]}


def test_keys_are_never_answered_from_the_cache(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    url = "/api/v1/hotlines?limit=100"
    anonymous = client.get(url)
    client.get(url)
    restricted = client.get(url, headers=keys.reader)
    assert restricted.headers["Cache-Control"] == "private, no-store"
    assert restricted.get_json()["meta"]["total"] == anonymous.get_json()["meta"]["total"] + 1
    bad = client.get(url, headers={"Authorization": "Bearer htc_000000000000_" + "x" * 43})
    assert bad.status_code == 401
    assert client.get(url, headers={"X-API-Key": "nonsense"}).status_code == 401
    assert client.get(url).data == anonymous.data


def test_cached_answers_count_against_the_rate_limit(seeded_url):
    app = create_app({**config.TestConfig(seeded_url).as_dict(), "RATE_LIMIT_ANON": "3/minute"})
    client = app.test_client()
    url = "/api/v1/vocabularies"
    remaining = [client.get(url).headers["RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = client.get(url)
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    # Another client has its own allowance.
    other = client.get(url, environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200 and other.headers["RateLimit-Remaining"] == "2"


def test_oversized_requests_are_refused_even_when_cached(app):
    client = app.test_client()
    url = "/api/v1/vocabularies"
    client.get(url)
    refused = client.get(url, headers={"X-Padding": "x" * 9000})
    assert refused.status_code == 431 and refused.mimetype == "application/problem+json"


def test_a_response_cache_of_zero_turns_it_off(seeded_url):
    app = create_app({**config.TestConfig(seeded_url).as_dict(), "RESPONSE_CACHE_MB": 0})
    assert "response_cache" not in app.extensions
    assert app.test_client().get("/api/v1/vocabularies").status_code == 200


def test_cached_answers_are_logged_and_counted(seeded_url, tmp_path):
    log = tmp_path / "gunicorn.log"
    import requests

    with serving(seeded_url, log, HTCONTENT_WORKERS="1") as base:
        url = f"{base}/api/v1/indicators?limit=3"
        first = requests.get(url, timeout=5)
        cached = requests.get(url, headers={"X-Request-ID": "cached-one"}, timeout=5)
        assert cached.content == first.content and cached.headers["X-Request-ID"] == "cached-one"
        metrics = requests.get(f"{base}/metrics", timeout=5).text
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line.get("request_id") == "cached-one")
    assert entry["status"] == 200 and entry["route"] == "/api/v1/indicators"
    assert entry["cache"] == "hit" and entry["client"] == "127.0.0.1"
    assert 'htcontent_response_cache_total{outcome="hit"}' in metrics
    hits = [line for line in metrics.splitlines()
            if line.startswith('htcontent_http_requests_total{method="GET",'
                               'route="/api/v1/indicators",status="200"}')]
    assert hits and float(hits[0].split()[-1]) >= 2


def test_answers_larger_than_an_entry_may_be_are_passed_through(seeded_url):
    app = create_app({**config.TestConfig(seeded_url).as_dict(), "RESPONSE_CACHE_ENTRY_KB": 1})
    client = app.test_client()
    exported = client.get("/api/v1/export?lang=*")
    assert exported.status_code == 200 and len(exported.get_json()["data"]) > 50
    assert client.get("/api/v1/export?lang=*").data == exported.data
    assert len(cache_of(app)._entries) == 0
    client.get("/api/v1/hotlines/emergency-911")
    assert len(cache_of(app)._entries) == 1


def test_totals_and_rankings_follow_every_write(editor_app):
    """List totals and search rankings are computed once per data version: a write changes
    them at once, for every kind of viewer."""
    client, keys = editor_app.test_client(), editor_app.keys
    lists = "/api/v1/hotlines?limit=1&purpose=victim_help"

    def totals(headers=None):  # type: ignore[no-untyped-def]
        listed = client.get(lists, headers=headers or {}).get_json()["meta"]["total"]
        found = client.get("/api/v1/search?q=hotline&limit=1",
                           headers=headers or {}).get_json()["meta"]["total"]
        return listed, found

    anonymous, restricted = totals(), totals(keys.reader)
    assert totals() == anonymous and totals(keys.reader) == restricted  # memo hits
    assert restricted[1] >= anonymous[1]
    page = client.get("/api/v1/search?q=hotline&limit=100").get_json()["data"]
    target = next(hit for hit in page if hit["type"] == "hotline")
    url = f"/api/v1/hotlines/{target['id']}"
    current = client.get(url, headers=keys.editor)
    etag, helps = current.headers["ETag"], current.get_json()["data"]["purpose"] == "victim_help"
    retired = client.delete(url, headers={**keys.editor, "If-Match": etag})
    assert second_person(client, retired, keys).status_code in (200, 204)
    after = totals()
    assert after == (anonymous[0] - helps, anonymous[1] - 1)
    ids = {hit["id"] for hit in
           client.get("/api/v1/search?q=hotline&limit=100").get_json()["data"]}
    assert target["id"] not in ids
    assert totals(keys.reader)[1] == restricted[1] - 1


def test_a_trust_window_trades_freshness_across_processes_for_no_query(editor_app):
    """With HTCONTENT_RESPONSE_CACHE_TRUST_MS, cached answers skip the version check: writes
    through the same process still show at once, other instances' within the window on
    PostgreSQL. (On SQLite every process on the machine counts its writes in shared memory:
    they show at once; see tests/accel/test_writecount.py.)"""
    url = "/api/v1/hotlines/national-human-trafficking-hotline"
    settings = {**config.TestConfig(editor_app.config["DATABASE_URL"]).as_dict(),
                "RESPONSE_CACHE_TRUST_MS": 60_000}
    trusting = create_app(settings)
    client, keys = trusting.test_client(), editor_app.keys
    before = client.get(url)
    cache_of(trusting).version.close()  # a cached answer now cannot reach the database ...
    cache_of(trusting).version._read = lambda: pytest.fail("asked the database")
    assert client.get(url).data == before.data  # ... and needs not
    del cache_of(trusting).version._read
    other = editor_app.test_client()  # another process
    changed = other.patch(url, json={"notes": {"en": "Elsewhere.", "es": "En otra parte."}},
                          headers={**keys.editor, "If-Match": before.headers["ETag"]})
    assert changed.status_code == 200
    if is_postgres():
        assert client.get(url).data == before.data  # within the window: not yet seen
    else:
        assert client.get(url).get_json()["data"]["notes"] == "Elsewhere."
    mine = client.patch(url, json={"notes": {"en": "Here.", "es": "Aquí."}},
                        headers={**keys.editor, "If-Match": changed.headers["ETag"]})
    assert mine.status_code == 200
    assert client.get(url).get_json()["data"]["notes"] == "Here."  # own write: at once


def test_every_configured_limit_applies_to_cached_answers(seeded_url):
    app = create_app({**config.TestConfig(seeded_url).as_dict(),
                      "RATE_LIMIT_ANON": "100/second;3/minute"})
    client = app.test_client()
    statuses = [client.get("/api/v1/vocabularies").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_oversized_content_headers_and_long_key_headers(app):
    client = app.test_client()
    url = "/api/v1/vocabularies"
    client.get(url)
    assert client.get(url, headers={"Content-Type": "x" * 9000}).status_code == 431
    cache_of(app).clear()
    long_accept = client.get(url, headers={"Accept": "application/json," + "x" * 500})
    assert long_accept.status_code == 200
    assert len(cache_of(app)._entries) == 0  # never part of a key: memory stays bounded


def _open_connections(url: str) -> int:
    """Connections this process holds to the database at ``url``, as the database or the OS
    sees them."""
    if is_postgres():
        name = make_url(url).database
        admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
        try:
            with admin.connect() as connection:
                return connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :name"
                    " AND pid <> pg_backend_pid()"), {"name": name}).scalar_one()
        finally:
            admin.dispose()
    path = os.path.realpath(make_url(url).database)
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}") == path
        except OSError:  # closed meanwhile
            pass
    return found


def test_a_thread_per_request_server_does_not_pile_up_connections(seeded_url):
    """`flask run` and similar servers start a thread per request: the version check must not
    keep a connection per thread (PostgreSQL would run out of them)."""
    app = create_app(config.TestConfig(seeded_url))
    url = "/api/v1/vocabularies"
    statuses: list[int] = []

    def one_request() -> None:
        statuses.append(app.test_client().get(url).status_code)

    one_request()
    before = _open_connections(seeded_url)
    for _ in range(30):
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()
    assert statuses == [200] * 31
    assert cache_of(app).version.open_connections() <= 2
    assert _open_connections(seeded_url) - before <= 2
    app.extensions["db_engine"].dispose()  # closes the version connections too
    assert cache_of(app).version.open_connections() == 0


def test_a_rebuilt_database_is_never_taken_for_the_old_one(databases):
    """Rebuilding the database (downgrade to base, upgrade, seed) starts the write counter
    again; a running instance must not take the new database's data for the old one's even
    when the counters meet."""
    url = databases.new()
    running = migrated_app(url)
    with running.app_context():
        load_seed(db.session(), SEED_DIR)
    client = running.test_client()
    hotline = "/api/v1/hotlines/national-human-trafficking-hotline"
    listing = "/api/v1/hotlines?limit=1"
    before, total = client.get(hotline), client.get(listing).get_json()["meta"]["total"]
    assert before.status_code == 200 and client.get(hotline).data == before.data  # cached

    def counter() -> int:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                return connection.execute(text("SELECT counter FROM write_lock")).scalar_one()
        finally:
            engine.dispose()

    old = counter()
    db.downgrade(url, "base")
    other = migrated_app(url)  # another instance rebuilds it
    with other.app_context():
        load_seed(db.session(), SEED_DIR)
    keys = Keys(other)
    writer = other.test_client()
    retired = second_person(writer, writer.delete(
        hotline, headers={**keys.editor, "If-Match": before.headers["ETag"]}), keys)
    assert retired.status_code in (200, 204)
    engine = other.extensions["db_engine"]
    with engine.begin() as connection:  # the counters meet
        connection.execute(text("UPDATE write_lock SET counter = :old"), {"old": old})
    assert counter() == old
    assert client.get(hotline).status_code == 410
    assert client.get(listing).get_json()["meta"]["total"] == total - 1
    engine.dispose()
    running.extensions["db_engine"].dispose()


def test_an_answer_is_never_older_than_its_etag_even_within_a_trust_window(editor_app):
    """A request the cache does not answer is built from data at least as new as the change
    sequence its ETag names, whatever version the cache last trusted: otherwise an old list
    would travel under the new ETag, and clients revalidating it would keep it (304)."""
    trusting = create_app({**config.TestConfig(editor_app.config["DATABASE_URL"]).as_dict(),
                           "RESPONSE_CACHE_TRUST_MS": 60_000})
    client, other, keys = trusting.test_client(), editor_app.test_client(), editor_app.keys
    listing = "/api/v1/indicators?category=behavioral&limit={}"
    moved = "isolated-from-family"
    assert moved in [r["id"] for r in client.get(listing.format(200)).get_json()["data"]]
    assert facets.wait_idle()
    client.get(listing.format(199))  # from the filter index of this version
    record = f"/api/v1/indicators/{moved}"
    changed = other.patch(record, json={"category": "financial"},
                          headers={**keys.editor, "If-Match": other.get(record).headers["ETag"]})
    assert changed.status_code == 200  # through another instance
    theirs, mine = other.get(listing.format(150)), client.get(listing.format(150))
    assert mine.headers["ETag"] == theirs.headers["ETag"]
    assert mine.get_json()["data"] == theirs.get_json()["data"]
    assert moved not in [r["id"] for r in mine.get_json()["data"]]
    assert mine.get_json()["meta"]["total"] == theirs.get_json()["meta"]["total"]
    trusting.extensions["db_engine"].dispose()


def test_a_restored_backup_is_never_taken_for_what_the_cache_saw(editor_app, tmp_path):
    """Restoring a backup brings the write counter back; the next writes must still make new
    versions (each write sets a new random epoch), or a running instance would serve what it
    cached before the restore."""
    if is_postgres():
        pytest.skip("restores the SQLite file with SQLite's backup API")
    path = make_url(editor_app.config["DATABASE_URL"]).database
    running = create_app(config.TestConfig(editor_app.config["DATABASE_URL"]))
    client, other, keys = running.test_client(), editor_app.test_client(), editor_app.keys
    hotline = "/api/v1/hotlines/national-human-trafficking-hotline"

    def note(text: str) -> None:
        etag = other.get(hotline, headers=keys.editor).headers["ETag"]
        assert other.patch(hotline, json={"notes": {"en": text}},
                           headers={**keys.editor, "If-Match": etag}).status_code == 200

    backup = sqlite3.connect(tmp_path / "backup.sqlite")
    with sqlite3.connect(path) as live:
        live.backup(backup)
    note("Written before the restore.")
    assert client.get(hotline).get_json()["data"]["notes"] == "Written before the restore."
    assert listed_notes(client) == "Written before the restore."
    with sqlite3.connect(path) as live:
        backup.backup(live)  # the restore
    backup.close()
    note("Written after the restore.")  # the counter is where it was before the restore
    assert client.get(hotline).get_json()["data"]["notes"] == "Written after the restore."
    # Same record, same revision, same second as before the restore: a list item kept by
    # api.services.items must not be taken for it (its key has the content hash).
    assert listed_notes(client) == "Written after the restore."
    running.extensions["db_engine"].dispose()


def listed_notes(client) -> str:  # type: ignore[no-untyped-def]
    """The national hotline's notes as the hotline list shows them."""
    listed = client.get("/api/v1/hotlines?limit=100").get_json()["data"]
    return next(item["notes"] for item in listed
                if item["id"] == "national-human-trafficking-hotline")


@pytest.mark.parametrize("params", ["", "lang=es", "lang=*", "fields=statement,category",
                                    "lang=es&fields=statement", "category=financial"])
def test_list_items_are_the_records_as_read_one_by_one(app, params):
    """A list renders its items from api.services.items (kept by id, revision, content hash, system
    fields, language and fields): every item is what the record's own URL answers, the first
    time and when it comes from memory."""
    client = app.test_client()
    for _ in range(2):
        listed = client.get(f"/api/v1/indicators?limit=50&{params}")
        assert listed.status_code == 200
        items = listed.get_json()["data"]
        assert items, params
        for item in items:
            single = params.replace("category=financial", "")
            one = client.get(f"/api/v1/indicators/{item['id']}?{single}")
            assert one.status_code == 200
            assert one.get_json()["data"] == item, (params, item["id"])


def test_filter_indexes_are_built_one_at_a_time_outside_the_request_pool(editor_app,
                                                                          monkeypatch):
    """After each write every record type's filter index is rebuilt; the builds (0.5 s each
    at 100,000 records) must neither pile up nor take the connections requests need."""
    engine = editor_app.extensions["db_engine"]
    running, peak, binds = [0], [0], []
    real = facets.build

    def slow_build(session, record_type, visible):  # type: ignore[no-untyped-def]
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        binds.append(session.get_bind())
        time.sleep(0.1)
        try:
            return real(session, record_type, visible)
        finally:
            running[0] -= 1

    monkeypatch.setattr(facets, "build", slow_build)
    client, keys = editor_app.test_client(), editor_app.keys
    hotline = "/api/v1/hotlines/national-human-trafficking-hotline"
    lists = ["/api/v1/resources?kind=brochure,course", "/api/v1/indicators?category=behavioral",
             "/api/v1/relief-options?requested_by=victim", "/api/v1/hotlines?purpose=emergency"]
    statuses = []
    for number in range(3):
        etag = client.get(hotline, headers=keys.editor).headers["ETag"]
        statuses.append(client.patch(hotline, json={"notes": {"en": f"Note {number}."}},
                                     headers={**keys.editor, "If-Match": etag}).status_code)
        for url in lists:
            statuses += [client.get(url).status_code,
                         client.get(url, headers=keys.reader).status_code]
    assert set(statuses) == {200}
    assert facets.wait_idle(30)
    assert binds and peak[0] == 1
    assert all(bind is not engine for bind in binds)  # a connection of the builder's own
