"""The SDK is tested against the real API, seeded, served by gunicorn on a loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (  # noqa: F401 - fixtures shared with the API's tests
    Databases,
    Keys,
    databases,
    migrated_app,
    serving,
)


@contextlib.contextmanager
def seeded_api(databases: Databases,  # noqa: F811 - the fixture imported above
               log: Path, **env: str) -> Iterator[dict]:
    """A seeded API on a database of its own, served by gunicorn (``env``: its settings):
    its URL, database and keys."""
    from api.storage import db
    from seed.loader import load_seed
    from tests.conftest import SEED_DIR

    url = databases.new()
    app = migrated_app(url)
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    keys = Keys(app)
    app.extensions["db_engine"].dispose()
    with serving(url, log, **env) as base:
        yield {"url": base, "database_url": url, "keys": keys,
               "editor_key": keys.chief["Authorization"].removeprefix("Bearer ")}


@pytest.fixture(scope="module")
def api(databases: Databases,  # noqa: F811 - the fixture imported above
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A seeded API of this module's own: its URL and keys."""
    with seeded_api(databases, tmp_path_factory.mktemp("sdk") / "gunicorn.log") as found:
        yield found
