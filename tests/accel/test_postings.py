"""Search ranks from in-memory postings: the documents and bm25 doubles FTS5 itself gives, for
any text and any query, in any chunking of the build; and FTS5 answers what they cannot."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from api.accel import postings

#: Words that stem alike, carry diacritics, mix case and script, or are digits.
WORDS = ["help", "helping", "helped", "víctima", "victima", "VICTIM", "niño", "nino", "trabajo",
         "labor", "labour", "forced", "t", "a", "visa", "1", "2026", "straße", "ὀδυσσεύς", "naïve",
         "passport", "pasaporte", "money", "dinero"]
TOKENIZER = "porter unicode61 remove_diacritics 2"


def _table(documents: list[tuple[str, str]], deleted: list[int], weights: tuple[float, ...]):
    """A Session on an in-memory SQLite holding an FTS5 table of ``documents`` (label, body)
    with those at ``deleted`` positions deleted again, and FTS5's own (rowid, bm25) query."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    session = Session(engine)
    connection = session.connection().connection.driver_connection
    connection.execute(f"CREATE VIRTUAL TABLE docs USING fts5(label, body, tokenize='{TOKENIZER}')")
    connection.executemany("INSERT INTO docs(rowid, label, body) VALUES (?, ?, ?)",
                           [(n * 3 + 1, label, body) for n, (label, body) in enumerate(documents)])
    connection.executemany("DELETE FROM docs WHERE rowid = ?", [(n * 3 + 1,) for n in deleted])
    connection.commit()
    weights_sql = ", ".join(str(weight) for weight in weights)

    def fts5(words: list[str] | list[list[str]]) -> list[tuple[int, float]]:
        """Words (all of them), or groups of words (a word of every group: how a Spanish
        search asks for a word or its stem)."""
        if words and isinstance(words[0], list):
            expression = " AND ".join("(" + " OR ".join(f'"{word}"' for word in group) + ")"
                                      for group in words)
        else:
            expression = " ".join(f'"{word}"' for word in words)
        return connection.execute(f"SELECT rowid, bm25(docs, {weights_sql}) FROM docs"
                                  " WHERE docs MATCH ?", (expression,)).fetchall()

    return session, fts5


_text = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(st.tuples(_text, _text), min_size=1, max_size=30),
       deleted=st.lists(st.integers(0, 29), max_size=5),
       queries=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), min_size=1,
                        max_size=6),
       chunk=st.sampled_from([1, 7, 1_000_000]),
       weights=st.sampled_from([(10.0, 1.0), (1.0, 1.0), (3.0, 7.0)]))
def test_postings_give_the_documents_and_the_bm25_doubles_fts5_gives(
        documents, deleted, queries, chunk, weights):
    session, fts5 = _table(documents, [n for n in deleted if n < len(documents)], weights)
    with session, pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings, "CHUNK", chunk)  # read in chunks of this many instances
        held = postings.build(session, "docs", weights)
        assert held.usable
        for words in queries:
            found = held.hits(words)
            assert found is not None  # every word here is one token
            rowids, ranks = found
            # bit for bit: equal doubles, not close ones
            assert list(zip(rowids.tolist(), ranks.tolist(), strict=True)) == fts5(words)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(st.tuples(_text, _text), min_size=1, max_size=30),
       queries=st.lists(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
                                 min_size=1, max_size=3), min_size=1, max_size=6),
       weights=st.sampled_from([(10.0, 1.0), (1.0, 1.0)]),
       sort_unions=st.sampled_from([0, 10 ** 9]))
def test_a_word_or_another_ranks_as_fts5_ranks_it(documents, queries, weights, sort_unions):
    """("víctimas" OR "victim") AND ("trabajo"): a Spanish search with its stems, its unions
    made by sorting (few documents) or with a mask (many)."""
    session, fts5 = _table(documents, [], weights)
    with session, pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings, "SORT_UNIONS", sort_unions)
        held = postings.build(session, "docs", weights)
        for groups in queries:
            found = held.hits_any(groups)
            assert found is not None
            rowids, ranks = found
            assert list(zip(rowids.tolist(), ranks.tolist(), strict=True)) == fts5(groups)


def test_an_empty_table_matches_nothing():
    """A table never written to (a new database) has an empty averages record."""
    session, fts5 = _table([], [], (10.0, 1.0))
    with session:
        held = postings.build(session, "docs", (10.0, 1.0))
        rowids, ranks = held.hits(["help"])
        assert held.usable and len(rowids) == 0 and len(ranks) == 0 and fts5(["help"]) == []


def test_words_fts5_splits_or_drops_are_left_to_fts5():
    session, fts5 = _table([("foo bar", "x_y z"), ("foo", "bar")], [], (10.0, 1.0))
    with session:
        held = postings.build(session, "docs", (10.0, 1.0))
        assert held.hits(["foo_bar"]) is None and held.hits(["x", "_"]) is None
        assert held.token("Helping") == "help" and held.token("Víctima") == "victima"
        rowids, ranks = held.hits(["foo", "nowhere"])
        assert len(rowids) == 0 and len(ranks) == 0  # a word no document has: no match
        assert held.hits([]) is None


def test_an_index_over_the_memory_bound_or_with_fractional_weights_is_not_held(monkeypatch):
    session, _ = _table([("help", "help visa")] * 5, [], (10.0, 1.0))
    with session:
        assert postings.build(session, "docs", (10.0, 1.0)).usable
        assert not postings.build(session, "docs", (10.5, 1.0)).usable
        monkeypatch.setattr(postings, "MAX_BYTES", 64)
        held = postings.build(session, "docs", (10.0, 1.0))
        assert not held.usable and held.hits(["help"]) is None
