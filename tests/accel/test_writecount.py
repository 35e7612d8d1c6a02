"""On SQLite the response cache learns that nothing was written from counters in shared memory
(api/accel/writecount.py), not from a query per request: a write through any process on the machine
is still seen by the next read, a writer that dies right after its commit hides nothing, and a
write that bypasses the app shows within a tenth of a second. On a SQLite file of its own in
every suite (PostgreSQL has no such file: its instances ask the database)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from api import config, create_app
from api.accel import writecount
from api.storage import db
from seed.loader import load_seed
from tests.accel.test_fastpath import cache_of
from tests.conftest import SEED_DIR, Keys, migrated_app

HOTLINE = "/api/v1/hotlines/national-human-trafficking-hotline"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Flask:
    """A seeded app on a SQLite file of its own, with keys; it trusts the counters for a minute
    between database reads, so a read it skips is a read it skipped on purpose."""
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    seeded = migrated_app(url)
    with seeded.app_context():
        load_seed(db.session(), SEED_DIR)
    seeded.keys = Keys(seeded)  # type: ignore[attr-defined]
    seeded.extensions["db_engine"].dispose()
    app = create_app({**config.TestConfig(url).as_dict(), "RESPONSE_CACHE_TRUST_MS": 60_000})
    app.keys = seeded.keys  # type: ignore[attr-defined]
    yield app
    app.extensions["db_engine"].dispose()


def write_in_another_process(app: Flask, notes: str, *, die_after_commit: bool = False) -> None:
    """PATCH the national hotline's notes through the app in a new Python process; with
    ``die_after_commit`` that process is killed right after its transaction committed, before
    it could say so in the counters."""
    script = textwrap.dedent(f"""
        import os, sys
        from api import config, create_app
        from api.accel import writecount
        if {die_after_commit!r}:
            writecount.WriteCounter.end = staticmethod(lambda ticket: os._exit(0))
        app = create_app(config.TestConfig({app.config["DATABASE_URL"]!r}))
        client = app.test_client()
        etag = client.get({HOTLINE!r}).headers["ETag"]
        answer = client.patch({HOTLINE!r}, json={{"notes": {{"en": {notes!r}}}}},
                              headers={{**{app.keys.editor!r}, "If-Match": etag}})
        sys.exit(0 if answer.status_code == 200 else answer.status_code % 256 or 1)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def count_reads(app: Flask) -> list[float]:
    """The times at which the response cache of ``app`` reads the data version from the
    database, from now on."""
    version = cache_of(app).version
    reads: list[float] = []
    real_read = version._read

    def counted_read():  # type: ignore[no-untyped-def]
        reads.append(time.monotonic())
        return real_read()

    version._read = counted_read
    return reads


def notes(client) -> str:  # type: ignore[no-untyped-def]
    return client.get(HOTLINE).get_json()["data"]["notes"]  # type: ignore[no-any-return]


def test_cached_answers_ask_nothing_yet_see_every_write_of_another_process(sqlite_app):
    reads = count_reads(sqlite_app)
    client = sqlite_app.test_client()
    first = client.get(HOTLINE)
    assert client.get(HOTLINE).data == first.data
    asked = len(reads)
    for _ in range(20):
        assert client.get(HOTLINE).data == first.data
    assert len(reads) == asked  # no write anywhere: no query
    write_in_another_process(sqlite_app, "Written by another process.")
    assert notes(client) == "Written by another process."  # at once, trust window or not
    assert client.get(HOTLINE, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    write_in_another_process(sqlite_app, "And again.")
    assert notes(client) == "And again."


def test_a_writer_killed_after_its_commit_hides_nothing(sqlite_app):
    client = sqlite_app.test_client()
    before = notes(client)
    assert notes(client) == before  # kept
    write_in_another_process(sqlite_app, "Committed, then the writer died.",
                             die_after_commit=True)
    started, finished = writecount.for_url(sqlite_app.config["DATABASE_URL"]).read()
    assert started == finished + 1  # its transaction is still counted as running
    for _ in range(3):
        assert notes(client) == "Committed, then the writer died."
    write_in_another_process(sqlite_app, "The next writer ends its own.")
    started, finished = writecount.for_url(sqlite_app.config["DATABASE_URL"]).read()
    assert started == finished
    assert notes(client) == "The next writer ends its own."


@pytest.mark.parametrize("read_before_its_end", [True, False])
def test_what_is_read_while_a_write_is_under_way_is_not_trusted(sqlite_app,
                                                                read_before_its_end):
    """A reader that asks the database while a write transaction is between its start and its
    commit gets the old version: it must ask again after the commit, not keep it (whether or
    not something reads between the commit and the writer's end)."""
    client = sqlite_app.test_client()
    path = make_url(sqlite_app.config["DATABASE_URL"]).database
    counter = writecount.for_url(sqlite_app.config["DATABASE_URL"])
    before = notes(client)
    with sqlite3.connect(path, isolation_level=None) as writer:
        writer.execute("BEGIN IMMEDIATE")  # a writer holding the write lock ...
        writer.execute("UPDATE write_lock SET counter = counter + 1, epoch = 'mid-write'")
        ticket = counter.begin()  # ... has counted itself, as api.storage.publish.lock_writes does
        assert notes(client) == before and notes(client) == before  # not committed yet
        writer.execute("UPDATE records SET status = 'draft' WHERE id = ?",
                       ("national-human-trafficking-hotline",))
        writer.execute("COMMIT")
        if read_before_its_end:
            assert client.get(HOTLINE).status_code == 404
        counter.end(ticket)
    assert client.get(HOTLINE).status_code == 404


def test_a_refused_write_leaves_the_cache_trusting(sqlite_app):
    """A write that rolls back (here a 412: the ETag is not current) ends its count too."""
    client, reads = sqlite_app.test_client(), count_reads(sqlite_app)
    before = client.get(HOTLINE)
    refused = client.patch(HOTLINE, json={"notes": {"en": "Lost update."}},
                           headers={**sqlite_app.keys.editor, "If-Match": '"stale"'})
    assert refused.status_code == 412
    started, finished = writecount.for_url(sqlite_app.config["DATABASE_URL"]).read()
    assert started == finished
    client.get(HOTLINE)
    asked = len(reads)
    for _ in range(10):
        assert client.get(HOTLINE).data == before.data
    assert len(reads) == asked


def test_counters_left_unequal_are_settled(sqlite_app, monkeypatch):
    """A writer killed after it counted itself, before it could end, no longer makes every
    read ask the database once a reader could take the write lock; and two writers ending in
    the wrong order leave the counters equal."""
    monkeypatch.setattr(writecount, "SETTLE_AFTER", 0.2)
    counter = writecount.for_url(sqlite_app.config["DATABASE_URL"])
    first, second = counter.begin(), counter.begin()
    counter.end(second)
    counter.end(first)
    assert counter.read()[0] == counter.read()[1]
    counter.begin()  # and never ended: its writer was killed
    client, reads = sqlite_app.test_client(), count_reads(sqlite_app)
    client.get(HOTLINE)
    deadline = time.monotonic() + 5
    while counter.read()[0] != counter.read()[1] and time.monotonic() < deadline:
        client.get(HOTLINE)
        time.sleep(0.05)
    assert counter.read()[0] == counter.read()[1]
    client.get(HOTLINE)
    asked = len(reads)
    for _ in range(10):
        client.get(HOTLINE)
    assert len(reads) == asked
    write_in_another_process(sqlite_app, "After the settling.")
    assert notes(client) == "After the settling."


def test_a_deleted_counters_file_is_made_again_and_shared(sqlite_app):
    counter = writecount.for_url(sqlite_app.config["DATABASE_URL"])
    cache_of(sqlite_app).version.verify_seconds = 0.1  # not the fixture's minute
    client = sqlite_app.test_client()
    assert notes(client) == notes(client)
    os.unlink(counter.path)  # a restore script's `rm app.sqlite-*`
    write_in_another_process(sqlite_app, "Counted in a new file.")
    time.sleep(0.15)
    assert notes(client) == "Counted in a new file."
    assert os.path.exists(counter.path)
    cache_of(sqlite_app).version.verify_seconds = 60
    write_in_another_process(sqlite_app, "Seen at once again.")
    assert notes(client) == "Seen at once again."


def test_a_write_around_the_app_shows_within_a_tenth_of_a_second(tmp_path):
    """A restored backup or an edit with the sqlite3 shell does not count itself."""
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    app = migrated_app(url)
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    client = app.test_client()
    total = client.get("/api/v1/hotlines").get_json()["meta"]["total"]
    assert client.get("/api/v1/hotlines").get_json()["meta"]["total"] == total  # kept
    with sqlite3.connect(make_url(url).database) as shell:
        shell.execute("UPDATE records SET status = 'draft' WHERE id = ?",
                      ("national-human-trafficking-hotline",))
        shell.execute("UPDATE write_lock SET counter = counter + 1, epoch = 'by-hand'")
    time.sleep(writecount.VERIFY_SECONDS * 1.5)
    assert client.get("/api/v1/hotlines").get_json()["meta"]["total"] == total - 1
    app.extensions["db_engine"].dispose()


def test_the_counters_live_next_to_the_database_and_only_there(tmp_path):
    path = tmp_path / "data" / "app.sqlite"
    app = migrated_app(f"sqlite:///{path}")
    counter = writecount.for_url(f"sqlite:///{path}")
    assert counter is not None and Path(counter.path) == Path(f"{path.resolve()}-writes")
    with app.app_context():
        started = counter.read()[0]
        load_seed(db.session(), SEED_DIR)
    assert counter.read()[0] > started and counter.read()[0] == counter.read()[1]
    private = tmp_path / "private.sqlite"
    sqlite3.connect(private).close()
    private.chmod(0o600)  # as SQLite does for -wal and -shm: the database file's permissions
    assert Path(writecount.for_url(f"sqlite:///{private}").path).stat().st_mode & 0o777 == 0o600
    assert writecount.for_url("sqlite://") is None
    assert writecount.for_url("sqlite:///:memory:") is None
    assert writecount.for_url("postgresql://postgres@127.0.0.1/test") is None
    app.extensions["db_engine"].dispose()


def test_an_instance_started_before_its_database_directory_exists_counts_its_writes(tmp_path):
    """`make run` on a new checkout: the app starts before anything made ``instance/``."""
    url = f"sqlite:///{tmp_path / 'new' / 'instance' / 'app.sqlite'}"
    first = create_app(config.TestConfig(url))  # the directory does not exist yet
    db.upgrade(url)
    with first.app_context():
        load_seed(db.session(), SEED_DIR)
    keys = Keys(first)
    second = create_app({**config.TestConfig(url).as_dict(), "RESPONSE_CACHE_TRUST_MS": 60_000})
    reader, writer = second.test_client(), first.test_client()
    before = reader.get(HOTLINE)
    reads = count_reads(second)
    assert reader.get(HOTLINE).data == before.data and reads == []  # kept, trusted
    changed = writer.patch(HOTLINE, json={"notes": {"en": "Counted."}},
                           headers={**keys.editor, "If-Match": before.headers["ETag"]})
    assert changed.status_code == 200
    assert notes(reader) == "Counted."
    for app in (first, second):
        app.extensions["db_engine"].dispose()


def test_a_counters_file_that_cannot_be_made_again_changes_no_answer(sqlite_app, tmp_path):
    """Its directory gone read-only after a restore script deleted the file: reads and writes
    still answer, from the database."""
    counter = writecount.for_url(sqlite_app.config["DATABASE_URL"])
    client = sqlite_app.test_client()
    before = client.get(HOTLINE)
    os.unlink(counter.path)
    original = counter._open
    counter._open = lambda: (_ for _ in ()).throw(PermissionError("read-only"))
    try:
        cache_of(sqlite_app).version.verify_seconds = 0  # ask the database: map again first
        assert client.get(HOTLINE).data == before.data
        changed = client.patch(HOTLINE, json={"notes": {"en": "Still written."}},
                               headers={**sqlite_app.keys.editor,
                                        "If-Match": before.headers["ETag"]})
        assert changed.status_code == 200
        assert notes(client) == "Still written."
    finally:
        counter._open = original
