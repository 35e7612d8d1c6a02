"""Search on SQLite ranks from in-memory postings (or the full-text index) and an in-memory
map of documents to records: the same records, ranks and order as the SQL join, before and
after writes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from api.accel import facets, memo
from api.storage import db, publish, store
from api.storage import search as search_engine
from schemas.records import load_content
from seed.loader import load_seed
from tests.conftest import SEED_DIR, migrated_app


def _map(records: list[int], ids: list[str], types: list[str]) -> facets.SearchMap:
    return facets.SearchMap.of(np.array(records, dtype=np.int32), ids, types)


def test_a_ranking_takes_each_records_best_document_and_breaks_ties_by_id():
    """Documents 0-5 belong to records c, a, b, c, (hidden), a; 9 is past the map."""
    mapped = _map([0, 1, 2, 0, -1, 1], ["c", "a", "b"], ["hotline", "resource", "hotline"])
    documents = np.array([5, 0, 1, 2, 3, 4, 9], dtype=np.int64)
    ranks = np.array([-3.0, -1.0, -2.0, -1.0, -5.0, -9.0, -9.0])
    ranked = mapped.rank(documents, ranks, ())
    # c's best is -5.0 (document 3), a's -3.0 (document 5); b ties nothing, -1.0 last
    assert ranked[:] == [("c", -5.0), ("a", -3.0), ("b", -1.0)] and len(ranked) == 3
    assert ranked[0] == ("c", -5.0) and ranked[-1] == ("b", -1.0) and list(ranked)[1:2] == [
        ("a", -3.0)]
    tied = mapped.rank(np.array([0, 1, 2]), np.array([-2.0, -2.0, -2.0]), ())
    assert [record_id for record_id, _ in tied[:]] == ["a", "b", "c"]  # equal ranks: by id
    assert mapped.rank(documents, ranks, ("hotline",))[:] == [("c", -5.0), ("b", -1.0)]
    assert mapped.rank(documents, ranks, ("vocabulary",))[:] == []  # a type with no records
    empty = mapped.rank(np.array([], dtype=np.int64), np.array([]), ())
    assert len(empty) == 0 and empty[0:10] == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from([-3.0, -2.5, -1.0, -0.25])),
                max_size=120),
       st.integers(0, 50), st.integers(1, 30))
def test_a_page_of_a_ranking_is_the_page_of_the_whole_sort(pairs, offset, limit):
    """A ranking sorts only as far as a page asks; any page (and the length) is what sorting
    every match gives: each record's best document, then by id; three documents a record."""
    ids = [f"r{number:02d}" for number in range(14)]
    mapped = _map([number // 3 for number in range(42)], ids, ["hotline"] * 14)
    documents = np.array([document for document, _ in pairs], dtype=np.int64)
    ranks = np.array([rank for _, rank in pairs])
    best: dict[str, float] = {}
    for document, rank in pairs:
        record_id = ids[document // 3] if document < 42 else None
        if record_id is not None:
            best[record_id] = min(rank, best.get(record_id, rank))
    everything = sorted(best.items(), key=lambda pair: (pair[1], pair[0]))
    ranked = mapped.rank(documents, ranks, ())
    assert len(ranked) == len(everything)
    assert ranked[offset:offset + limit] == everything[offset:offset + limit]
    assert ranked[:] == everything
    if everything:
        assert ranked[-1] == everything[-1] and ranked[0] == everything[0]


def test_search_answers_follow_writes_and_match_sql(tmp_path, monkeypatch):
    """The in-memory ranking is the SQL ranking (records, ranks, order), before and after a
    write that changes every score of a word (its IDF and the average length); and the API
    answers pages of it. On a SQLite file of its own in every suite: the map and FTS5 are
    SQLite's (PostgreSQL ranks with ts_rank in SQL)."""
    app = migrated_app(f"sqlite:///{tmp_path / 'search.sqlite'}")
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    client = app.test_client()

    asked_fts5: list[str] = []
    fts5_hits = search_engine.fts5_hits
    monkeypatch.setattr(search_engine, "fts5_hits", lambda connection, expression: (
        asked_fts5.append(expression), fts5_hits(connection, expression))[1])

    def ranked(q: str) -> list[tuple[str, float]]:
        # builds this version's document map and postings
        assert client.get(f"/api/v1/search?q={q}").status_code == 200
        assert facets.wait_idle()
        asked_fts5.clear()
        with app.app_context():
            session = db.session()
            mine = search_engine._ranking(session, q, None, store.Viewer())
            assert isinstance(mine, facets.Ranking)  # the map ranked it, not SQL
            assert mine[:] == search_engine._sql_ranking(session, q, None, store.Viewer())
        return mine[:]

    before = ranked("visa")
    assert before and ranked("visa help") and not asked_fts5  # the postings in memory ranked
    # A word FTS5 splits ("visa_help" is the phrase "visa help") is FTS5's to rank.
    ranked("visa_help")
    assert asked_fts5
    with app.app_context():
        publish.save(db.session(), "hotline", load_content("hotline", {
            "id": "visa-line", "verified_on": "2026-11-28",
            "sources": [{"url": "https://example.org/p", "title": "P"}],
            "name": {"en": "Visa visa line"}, "organization": {"en": "Visa org"},
            "purpose": "report_tip",
            "channels": [{"kind": "voice", "value": "+15555550101", "display": "555-0101"}],
        }), actor="t", action="t")
        db.session().commit()
    after = ranked("visa")
    assert after[0][0] == "visa-line" and len(after) == len(before) + 1 and not asked_fts5
    assert after[1:] != before  # every other match was scored again
    fresh = memo.VersionMemo()  # pages from the map's ranking, not one SQL kept earlier
    monkeypatch.setattr(memo, "MEMO", fresh)
    for offset in (0, 2):
        answer = client.get(f"/api/v1/search?q=visa&limit=2&cursor=o.{offset}").get_json()
        assert [(hit["id"], hit["score"]) for hit in answer["data"]] == [
            (record_id, round(-rank, 6)) for record_id, rank in after[offset:offset + 2]]
        assert answer["meta"]["total"] == len(after)
    assert any(isinstance(value, facets.Ranking) for value in fresh._values.values())
    app.extensions["db_engine"].dispose()
