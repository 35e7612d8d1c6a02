"""Running webhook delivery: ``flask --app api webhooks work``, or a thread of each server
process (``HTCONTENT_WEBHOOKS_INLINE=1``, as ``make run`` has it).

On PostgreSQL any number of processes deliver side by side (row locks share the work:
:mod:`api.storage.webhooks`). On SQLite one process at a time does: the others wait for the
lock file beside the database (if the one delivering stops, another takes over).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import sessionmaker

from api.services.delivery import LOG, Deliverer, Settings, secret_box
from api.storage import db
from api.storage import webhooks as store


def deliverer_for(app: Any, threads: int | None = None,
                  own_pool: bool = False) -> Deliverer:
    """A :class:`~api.services.delivery.Deliverer` for ``app``'s database and settings; with
    ``own_pool``, on connections of its own, one per thread (each holds one while it sends),
    so it never takes those the app's requests need."""
    settings = Settings.of(app.config)
    if threads is not None:
        settings = dataclasses.replace(settings, threads=threads)
    sessions = app.extensions["db_sessionmaker"]
    if own_pool:
        engine = db.make_engine(app.config["DATABASE_URL"], app.config["DB_CONNECT_TIMEOUT"],
                                pool_size=settings.threads + 2)
        sessions = sessionmaker(engine, expire_on_commit=False)
    return Deliverer(sessions, secret_box(app), settings)


@contextmanager
def turn(app: Any) -> Iterator[bool]:
    """Whether this process may deliver for ``app``'s database now (for as long as the context
    lasts): always on PostgreSQL; on SQLite, when no other process holds the lock."""
    engine = app.extensions["db_engine"]
    database = engine.url.database
    if engine.dialect.name == "postgresql" or not database or database == ":memory:":
        yield True
        return
    with store.local_claims(database) as mine:
        yield mine


def work(app: Any, stop: threading.Event, threads: int | None = None,
         say: Callable[[str], None] = LOG.info) -> None:
    """Deliver for ``app`` until ``stop`` is set; on SQLite, first wait (if need be) for
    the process that delivers for the same database to stop."""
    deliverer = deliverer_for(app, threads, own_pool=True)
    announced = False
    while not stop.is_set():
        with turn(app) as mine:
            if mine:
                say(f"delivering webhooks on {deliverer.settings.threads} threads")
                deliverer.run(stop)
                return
        if not announced:
            say("another process delivers webhooks for this SQLite database; waiting")
            announced = True
        stop.wait(2.0)


def start_inline(app: Any) -> threading.Thread:
    """Deliver in a background thread of this server process."""
    thread = threading.Thread(target=work, args=(app, threading.Event()), daemon=True,
                              name="webhooks")
    thread.start()
    return thread
