"""Storage: every published version kept, a strictly increasing change sequence, migrations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select

from api.accel import facets, postings
from api.storage import db, publish, store
from api.storage import search as search_engine
from api.storage.models import Change, RecordVersion
from api.web.auth import Viewer
from schemas.records import SCHEMAS, load_content

HOTLINE = {
    "id": "test-line",
    "verified_on": "2026-11-28",
    "sources": [{"url": "https://example.org/a", "title": "A"}],
    "name": {"en": "Test line"},
    "organization": {"en": "Test org", "es": "Organización de prueba"},
    "purpose": "report_tip",
    "channels": [{"kind": "voice", "value": "+15555550100", "display": "555-0100"}],
}


def test_each_publish_keeps_the_old_version_and_appends_a_change(fresh_app):
    renamed = {**HOTLINE, "name": {"en": "Renamed line", "es": "Línea renombrada"}}
    with fresh_app.app_context():
        session = db.session()
        seen = []
        for body in (HOTLINE, renamed, renamed):
            result = publish.save(session, "hotline", load_content("hotline", body),
                                actor="t", action="t")
            seen.append((result.record.version, result.changed))
        session.commit()
        assert seen == [(1, True), (2, True), (2, False)]
        versions = session.scalars(select(RecordVersion).order_by(RecordVersion.version)).all()
        assert [v.content["name"]["en"] for v in versions] == ["Test line", "Renamed line"]
        seqs = session.scalars(select(Change.seq).order_by(Change.seq)).all()
        assert len(seqs) == 2 and seqs[0] < seqs[1]
    client = fresh_app.test_client()
    body = client.get("/api/v1/hotlines/test-line?lang=es").get_json()["data"]
    assert body["name"] == "Línea renombrada" and body["version"] == 2


def test_per_field_fallback_to_english(fresh_app):
    with fresh_app.app_context():
        publish.save(db.session(), "hotline", load_content("hotline", HOTLINE), actor="t",
                     action="t")
        db.session().commit()
    body = fresh_app.test_client().get("/api/v1/hotlines/test-line?lang=es").get_json()["data"]
    assert body["lang"] == "es"
    assert body["name"] == "Test line"  # no Spanish: English
    assert body["organization"] == "Organización de prueba"


def test_migrations_create_and_remove_everything(databases):
    url = databases.new()
    db.upgrade(url)
    engine = db.make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {"records", "record_versions", "changes", "record_terms", "search_docs"} <= tables
    engine.dispose()
    db.downgrade(url, "base")
    engine = db.make_engine(url)
    assert not {"records", "changes"} & set(inspect(engine).get_table_names())
    engine.dispose()
    db.upgrade(url)


def test_create_app_takes_a_config_mapping(seeded_url):
    from api import create_app

    app = create_app({"DATABASE_URL": seeded_url, "CACHE_MAX_AGE": 7})
    response = app.test_client().get("/api/v1/hotlines")
    assert response.headers["Cache-Control"] == "public, max-age=7"


def test_a_record_without_the_language_asked_for_says_it_is_english(fresh_app):
    english_only = {**HOTLINE, "organization": {"en": "Test org"}}
    with fresh_app.app_context():
        publish.save(db.session(), "hotline", load_content("hotline", english_only),
                   actor="t", action="t")
        db.session().commit()
    response = fresh_app.test_client().get("/api/v1/hotlines/test-line?lang=es")
    assert response.get_json()["data"]["lang"] == "en"
    assert response.headers["Content-Language"] == "en"


@st.composite
def _search(draw):  # type: ignore[no-untyped-def]
    words = draw(st.lists(st.sampled_from(SEARCH_WORDS), min_size=1, max_size=3))
    types = draw(st.lists(st.sampled_from(sorted(SCHEMAS)), max_size=2, unique=True))
    restricted = draw(st.booleans())
    return " ".join(words), types, restricted


SEARCH_WORDS = ["hotline", "labor", "trabajo", "visa", "passport", "pasaporte", "minor",
                "victim", "víctima", "training", "card", "report", "help", "ayuda", "dinero",
                "money", "no-such-word", "police", "T", "continued presence"]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_search())
def test_search_ranking_from_the_document_map_is_the_sql_ranking(app, case):
    """On SQLite a ranking reads the full-text index alone and maps documents to records in
    memory: it must be exactly what the SQL join ranks (records, ranks, order, visibility)."""
    if app.extensions["db_engine"].dialect.name != "sqlite":
        pytest.skip("the document map is SQLite's")
    q, types, restricted = case
    viewer = (Viewer(visibilities=("public", "law_enforcement"), keyed=True)
              if restricted else store.Viewer())
    with app.app_context():
        session = db.session()
        mapped = facets.build_search_map(session, store.visible(viewer))
        connection = session.connection().connection.driver_connection
        expression = search_engine._match_expression(search_engine._terms(q))
        hits = search_engine.fts5_hits(connection, expression)
        # the postings in memory find the same documents with the same bm25 doubles
        from_memory = postings.build(session, "search_fts", search_engine.BM25_WEIGHTS).hits(
            search_engine._terms(q))
        assert from_memory is not None
        assert np.array_equal(from_memory[0], hits[0]) and np.array_equal(from_memory[1], hits[1])
        ranked = mapped.rank(*hits, tuple(types))
        expected = search_engine._sql_ranking(session, q, types, viewer)
        assert len(ranked) == len(expected) and ranked[:] == expected
        assert ranked[1:4] == expected[1:4]  # a page is the same slice
