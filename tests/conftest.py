"""Fixtures: real databases (SQLite by default; PostgreSQL when DATABASE_URL points at a server),
the seeded app, an empty migrated app, and the app served by gunicorn on a loopback port.

With ``DATABASE_URL=postgresql://...`` every database a test uses is created fresh on that server
and dropped afterwards; the database named in the URL is only used to create them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import create_app
from api.config import TestConfig
from api.storage import db
from seed.loader import load_seed

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "seed"
SERVER_URL = os.environ.get("DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def is_postgres() -> bool:
    return SERVER_URL.startswith("postgresql")


class Databases:
    """Creates fresh, empty databases for tests and removes them at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.created: list[str] = []
        self.admin = None
        if is_postgres():
            url = make_url(SERVER_URL).set(drivername="postgresql+psycopg")
            self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
            self.server = url

    def new(self) -> str:
        name = f"htc_test_{uuid.uuid4().hex[:12]}"
        if self.admin is None:
            return f"sqlite:///{self.directory / (name + '.sqlite')}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("db"))
    yield found
    found.drop_all()


def migrated_app(url: str) -> Flask:
    db.upgrade(url)
    return create_app(TestConfig(url))


@pytest.fixture(scope="session")
def seeded_url(databases: Databases) -> str:
    url = databases.new()
    app = migrated_app(url)
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    db_engine = app.extensions["db_engine"]
    db_engine.dispose()
    return url


@pytest.fixture(scope="session")
def app(seeded_url: str) -> Flask:
    """The seeded app, shared by tests that only read."""
    return create_app(TestConfig(seeded_url))


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def fresh_app(databases: Databases) -> Iterator[Flask]:
    """An app on a new, migrated, empty database of its own."""
    app = migrated_app(databases.new())
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def seeded_fresh_app(fresh_app: Flask) -> Flask:
    """An app on a database of its own, seeded: for tests that change content."""
    with fresh_app.app_context():
        load_seed(db.session(), SEED_DIR)
    return fresh_app


class Keys:
    """API keys made in an app's database: ``keys.editor`` etc. are header dicts."""

    def __init__(self, app: Flask) -> None:
        from api.web.auth import create_key

        with app.app_context():
            def make(name: str, *scopes: str) -> dict[str, str]:
                key = create_key(db.session(), name, list(scopes)).key
                return {"Authorization": f"Bearer {key}"}

            self.editor = make("editor", "write")
            self.reader = make("agency-reader", "read:restricted")
            self.admin = make("auditor", "admin")
            self.chief = make("chief-editor", "write", "read:restricted", "admin")
            self.plain = make("plain")
            self.approver = make("second-person", "approve", "read:restricted")
            self.partner = make("partner-site", "webhooks")
            self.agency = make("agency-cad", "webhooks", "read:restricted")


def second_person(client: Any, answer: Any, keys: Keys) -> Any:
    """``answer`` to a write; when it became a proposal (202: the two-person rule, see
    tests/web/test_proposals.py), the answer of ``keys.approver`` approving it, so that tests
    about what a write does see it published."""
    if answer.status_code != 202:
        return answer
    number = answer.get_json()["data"]["id"]
    approved = client.post(f"/api/v1/proposals/{number}/approve", headers=keys.approver)
    assert approved.status_code == 200, approved.get_json()
    return approved


@pytest.fixture
def editor_app(seeded_fresh_app: Flask) -> Flask:
    """A seeded app of its own with keys in ``editor_app.keys``."""
    seeded_fresh_app.keys = Keys(seeded_fresh_app)  # type: ignore[attr-defined]
    return seeded_fresh_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(database_url: str, log: Path, **env_overrides: str) -> Iterator[str]:
    """The app on ``database_url`` served by gunicorn (as `make run` serves it) on loopback."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HTCONTENT_BIND": f"127.0.0.1:{port}",
           "HTCONTENT_ACCESS_LOG": str(log), "HTCONTENT_RATE_LIMIT_ANON": "100000/minute",
           "HTCONTENT_RATE_LIMIT_KEY": "100000/minute",
           "HTCONTENT_SECRET_KEY": "test-only-secrets-key", **env_overrides}
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    log_file = open(log, "ab")  # noqa: SIM115 - open for the server's whole life
    process = subprocess.Popen([gunicorn, "-c", str(ROOT / "gunicorn.conf.py")], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # still starting (or busy)
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        stop(process)
        log_file.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server the way its supervisor would: SIGTERM, then SIGKILL after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def live_url(seeded_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shared seeded app, served by gunicorn on a loopback port."""
    with serving(seeded_url, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as base:
        yield base
