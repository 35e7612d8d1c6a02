"""Search on SQLite ranks from the full-text index and an in-memory map of documents to
records: the same records, ranks and order as the SQL join, before and after writes."""

from __future__ import annotations

import pytest

from api import db, facets, store
from schemas.records import load_content


def test_search_answers_follow_writes_and_match_sql(seeded_fresh_app):
    """The in-memory ranking is the SQL ranking (records, ranks, order), before and after a
    write that changes every score of a word (its IDF and the average length); and the API
    answers pages of it."""
    app = seeded_fresh_app
    if app.extensions["db_engine"].dialect.name != "sqlite":
        pytest.skip("FTS5 is SQLite's; PostgreSQL ranks with ts_rank in SQL")
    client = app.test_client()

    def ranked(q: str) -> list[tuple[str, float]]:
        client.get(f"/api/v1/search?q={q}")  # builds this version's document map
        assert facets.INDEXES.wait_idle()
        with app.app_context():
            session = db.session()
            mine = store._ranking(session, q, None, store.Viewer())
            assert isinstance(mine, facets.Ranking)  # the map ranked it, not SQL
            assert mine[:] == store._sql_ranking(session, q, None, store.Viewer())
        return mine[:]

    before = ranked("visa")
    assert before and ranked("visa help") is not None
    with app.app_context():
        store.save(db.session(), "hotline", load_content("hotline", {
            "id": "visa-line", "verified_on": "2026-11-28",
            "sources": [{"url": "https://example.org/p", "title": "P"}],
            "name": {"en": "Visa visa line"}, "organization": {"en": "Visa org"},
            "purpose": "report_tip",
            "channels": [{"kind": "voice", "value": "+15555550101", "display": "555-0101"}],
        }), actor="t", action="t")
        db.session().commit()
    after = ranked("visa")
    assert after[0][0] == "visa-line" and len(after) == len(before) + 1
    assert after[1:] != before  # every other match was scored again
    for offset in (0, 2):
        answer = client.get(f"/api/v1/search?q=visa&limit=2&cursor=o.{offset}").get_json()
        assert [(hit["id"], hit["score"]) for hit in answer["data"]] == [
            (record_id, round(-rank, 6)) for record_id, rank in after[offset:offset + 2]]
        assert answer["meta"]["total"] == len(after)
