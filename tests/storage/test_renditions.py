"""Render once: a published version's renditions are written with it, reads send them, stale
ones are rendered on read and refreshed by `flask renditions`, and the migration renders the
versions that exist."""

from __future__ import annotations

import orjson
from sqlalchemy import delete, func, select, update

from api.storage import db, renditions
from api.storage.models import RecordTerm, RecordVersion, Rendition
from api.storage.renditions import RENDER_FORMAT
from tests.conftest import second_person
from tests.web.test_writes import NEW_HOTLINE


def _stored(app, record_id, version, lang):
    with app.app_context():
        return db.session().scalar(select(Rendition.body).where(
            Rendition.record_id == record_id, Rendition.version == version,
            Rendition.lang == lang))


def test_a_write_renders_its_version_and_reads_send_those_bytes(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    created = client.post("/api/v1/hotlines", json=NEW_HOTLINE, headers=keys.editor)
    assert created.status_code == 201
    for lang in ("en", "es", "*"):
        stored = _stored(editor_app, "county-crisis-line", 1, lang)
        served = client.get(f"/api/v1/hotlines/county-crisis-line?lang={lang}")
        assert orjson.loads(served.data)["data"] == orjson.loads(stored)
    listed = client.get("/api/v1/hotlines?lang=es&purpose=victim_help&limit=200").get_json()
    mine = [r for r in listed["data"] if r["id"] == "county-crisis-line"]
    assert mine == [orjson.loads(_stored(editor_app, "county-crisis-line", 1, "es"))]
    only = client.get("/api/v1/hotlines/county-crisis-line?fields=name").get_json()["data"]
    assert only == {"id": "county-crisis-line", "type": "hotline", "version": 1,
                    "name": "County crisis line"}


def test_a_stale_rendition_is_not_sent_and_is_refreshed(editor_app):
    client = editor_app.test_client()
    before = client.get("/api/v1/hotlines/eeoc?lang=es").get_json()
    with editor_app.app_context():
        session = db.session()
        session.execute(update(Rendition).where(Rendition.record_id == "eeoc")
                        .values(format="older-code", body='{"stale": true}'))
        session.commit()
    cache = editor_app.extensions.get("response_cache")  # none with the accelerator off
    if cache is not None:
        cache.clear()
    assert client.get("/api/v1/hotlines/eeoc?lang=es").get_json() == before
    feed = client.get("/api/v1/changes?types=hotline&limit=200").get_json()["data"]
    assert all("stale" not in (entry["record"] or {}) for entry in feed)
    result = editor_app.test_cli_runner().invoke(args=["renditions"])
    assert result.exit_code == 0 and "renditions: 1 version(s) rendered again" in result.output
    stored = _stored(editor_app, "eeoc", before["data"]["version"], "es")
    assert orjson.loads(stored) == before["data"]


def test_a_draft_is_shown_from_its_content_not_the_published_rendition(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    etag = client.get("/api/v1/hotlines/eeoc", headers=keys.editor).headers["ETag"]
    changed = second_person(client, client.patch(
        "/api/v1/hotlines/eeoc", json={"status": "draft", "name": {"en": "EEOC draft"}},
        headers={**keys.editor, "If-Match": etag}), keys)  # back to draft: approved
    assert changed.status_code == 200
    draft = client.get("/api/v1/hotlines/eeoc", headers=keys.editor).get_json()["data"]
    assert draft["name"] == "EEOC draft" and draft["status"] == "draft"
    assert client.get("/api/v1/hotlines/eeoc").status_code == 404


def test_the_migration_files_and_renders_the_records_that_exist(seeded_fresh_app):
    url = str(seeded_fresh_app.extensions["db_engine"].url.render_as_string(
        hide_password=False))
    with seeded_fresh_app.app_context():
        versions = db.session().scalar(select(func.count()).select_from(RecordVersion))
    seeded_fresh_app.extensions["db_engine"].dispose()
    db.downgrade(url, "0004")  # as a database of the release before: no renditions...
    with seeded_fresh_app.app_context():
        session = db.session()
        session.execute(delete(RecordTerm).where(RecordTerm.name == "verification_status"))
        session.commit()  # ...and no verification terms
    seeded_fresh_app.extensions["db_engine"].dispose()
    db.upgrade(url)
    with seeded_fresh_app.app_context():
        session = db.session()
        count = session.scalar(select(func.count()).select_from(Rendition)
                               .where(Rendition.format == RENDER_FORMAT))
        assert count == versions * len(renditions.LANGS)
    client = seeded_fresh_app.test_client()
    unverified = client.get("/api/v1/hotlines?verification_status=unverified").get_json()
    assert [r["id"] for r in unverified["data"]] == ["ice-victim-assistance-program"]
